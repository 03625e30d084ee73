// Storage facade: transaction scheduler, latches, Percolator commands, MVCC, raw KV, GC.
export type {
  Engine,
  EngineContext,
  EngineSnapshot,
  EngineWriteOptions,
  Modify,
  PutModify,
  DeleteModify,
  DeleteRangeModify,
} from './engine';
export { modifiesSize } from './engine';
export { LocalEngine, type LocalEngineOptions } from './local-engine';
export {
  Storage,
  type StorageOptions,
  type TxnContext,
  type KvPairResult,
  type PrewriteParams,
  type PrewriteResult,
  type CheckTxnStatusParams,
  type CheckTxnStatusResult,
  type PessimisticLockParams,
  type PessimisticLockResult,
  type TxnInfo,
} from './storage';
export {
  KeyIsLockedError,
  WriteConflictError,
  AlreadyExistError,
  DeadlockError,
  CommitTsExpiredError,
  TxnNotFoundError,
  TxnLockNotFoundError,
  PessimisticLockNotFoundError,
  PessimisticLockRolledBackError,
  CommitTsTooLargeError,
  PrimaryMismatchError,
  AssertionFailedError,
  InvalidTxnTsoError,
  LockTypeNotMatchError,
  DefaultNotFoundError,
  SchedTooBusyError,
  InvalidRequestError,
  LockWaitTimeoutError,
  extractKeyError,
} from './errors';
export { CommittedError } from './txn/actions';
export {
  Lock,
  Write,
  BadFormatError,
  SHORT_VALUE_MAX_LEN,
  TS_MAX,
  isShortValue,
  mutationFromProto,
  lockTypeToOp,
  type LockType,
  type LockFields,
  type WriteType,
  type WriteFields,
  type Mutation,
} from './txn-types';
export { MvccReader, type TxnCommitRecord } from './mvcc/reader';
export { pointGet, scanKeys, checkLockConflict, checksLocks, type ReadOptions, type ScanOptions, type ScanEntry } from './mvcc/point-getter';
export { Latches, LatchLock, keyHash } from './txn/latches';
export { Scheduler, type SchedulerOptions, type SchedCommand, type ProcessResult, type CommandPriority } from './txn/scheduler';
export { LockManager, type LockManagerOptions, type WaitOutcome } from './lock-manager/lock-manager';
export { DeadlockDetector, type WaitForEntry } from './lock-manager/deadlock-detector';
// Raw KV (owned by the raw-KV work).
export * from './raw';
