// The Raft consensus algorithm as a pure, deterministic state machine driven by tick/step/ready.
export type { Config, ResolvedConfig } from './config';
export { validateConfig } from './config';
export {
  CompactedError,
  ConfChangeError,
  ConfigInvalidError,
  ProposalDroppedError,
  RequestSnapshotDroppedError,
  SnapshotOutOfDateError,
  SnapshotTemporarilyUnavailableError,
  StepLocalMessageError,
  StepPeerNotFoundError,
  UnavailableError,
} from './errors';
export { Changer } from './confchange/changer';
export type { ChangeResult, ConfChangeSingle } from './confchange/changer';
export { restoreConfState } from './confchange/restore';
export { Unstable } from './log-unstable';
export { JointConfig } from './quorum/joint';
export { MajorityConfig, MAX_U64, VoteResult } from './quorum/majority';
export type { AckedIndexer } from './quorum/majority';
export {
  CAMPAIGN_TRANSFER,
  CampaignType,
  confChangeToV2,
  decodeConfChangeEntry,
  enterJoint,
  isConfChangeEntry,
  isLeaveJoint,
  Raft,
  StateRole,
} from './raft';
export type { SoftState } from './raft';
export { RaftLog } from './raft-log';
export { ReadOnly, ReadOnlyOption } from './read-only';
export type { ReadIndexStatus, ReadState } from './read-only';
export { RawNode, SnapshotStatus } from './raw-node';
export type { LightReady, Ready } from './raw-node';
export { getStatus } from './status';
export type { Status } from './status';
export { MemStorage } from './storage';
export type { RaftState, Storage } from './storage';
export { Inflights } from './tracker/inflights';
export { Progress, ProgressState } from './tracker/progress';
export { Configuration, ProgressTracker } from './tracker/progress-tracker';
export type { ProgressMap } from './tracker/progress-tracker';
export {
  EMPTY_BYTES,
  entrySizeBytes,
  INVALID_ID,
  INVALID_INDEX,
  limitSize,
  newConfState,
  newEntry,
  newHardState,
  newMessage,
  newSnapshot,
  NO_LIMIT,
} from './util';
export type { Bytes, ConfState, Entry, HardState, Message, Snapshot } from './util';
