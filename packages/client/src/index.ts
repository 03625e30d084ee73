// A TiKV client for Node.js (kvproto on the wire): raw and transactional (Percolator) APIs.
export { RawClient, defaultTransport, MAX_UPPER_BOUND, RAW_BATCH_PAIR_COUNT, RAW_BATCH_PUT_SIZE, MAX_RAW_SCAN_LIMIT, type ClientOptions, type KvPair, type ScanOptions, type RawChecksum, type CasResult } from './raw-client';
export {
  TransactionClient,
  Transaction,
  TXN_COMMIT_BATCH_SIZE,
  ASYNC_COMMIT_MAX_KEYS,
  DEFAULT_OPTIMISTIC_LOCK_TTL_MS,
  DEFAULT_PESSIMISTIC_LOCK_TTL_MS,
  type TransactionOptions,
} from './transaction';
export { Snapshot, TXN_BATCH_GET_SIZE } from './snapshot';
export { LockResolver, tsPhysicalMs, type TxnStatus } from './lock-resolver';
export { KvCluster, Backoffer, splitBatches, inRange, type Location, type KvClusterOptions, type BackoffKind, type SendResult } from './cluster';
export { GrpcTransport, DEFAULT_CHANNEL_OPTIONS, type TikvTransport, type GrpcTransportOptions, type UnaryMethod, type RequestOf, type ResponseOf } from './transport';
export {
  BatchCommandsTransport,
  TransportError,
  BATCH_COMMAND_CASES,
  DEFAULT_MAX_BATCH_SIZE,
  DEFAULT_MAX_BATCH_BYTES,
  encodeBatchCommandsRequest,
  type BatchCommandsTransportOptions,
  type BatchTransportStats,
  type BatchCase,
  type TransportErrorCode,
} from './batch-transport';
export {
  ClientError,
  WriteConflictError,
  KeyExistsError,
  DeadlockError,
  ClientTimeoutError,
  RegionUnavailableError,
  RegionError,
  KvServerError,
  TxnAbortedError,
  UndeterminedError,
  InvalidStateError,
  KeyErrorUnknown,
  keyErrorToError,
} from './errors';
