// max_ts and the in-memory lock table used by async commit and 1PC.
export { ConcurrencyManager, LockTable, KeyHandleGuard, type MemoryLock } from './concurrency-manager';
