// Storage engine interfaces: KvEngine, Snapshot, WriteBatch, EngineIterator, column family names, RaftEngine.
export { CF_DEFAULT, CF_LOCK, CF_WRITE, CF_RAFT, ALL_CFS, DATA_CFS, isCfName, checkCfName } from './cf';
export type { CfName } from './cf';
export { EngineClosedError, EngineIoError, EngineCorruptionError } from './errors';
export type {
  KvEntry,
  WriteOptions,
  IterOptions,
  ScanOptions,
  RangeStats,
  Peekable,
  Iterable,
  EngineIterator,
  SyncMutable,
  WriteBatch,
  Snapshot,
  KvEngine,
} from './kv-engine';
// RaftEngine (owned by the raft-log-engine work): its types and error classes.
export * from './raft-engine';
