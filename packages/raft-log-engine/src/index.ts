// RaftEngine: append-only, checksummed segment files for Raft entries and states.
export { RaftLogEngine, RAFT_LOG_ENGINE_DEFAULTS } from './raft-log-engine';
export type { RaftLogEngineConfig, RecoveryMode, RecoveryReport } from './raft-log-engine';
export { RaftLogEngineBatch } from './raft-log-batch';
export { crc32c } from './crc32c';
