import { TikvError } from '@tikv-ts/util';

/** The storage no longer holds the requested index: it was compacted into a snapshot. */
export class CompactedError extends TikvError {
  readonly code = 'KV:Raft:Compacted';
  constructor(readonly index: bigint) {
    super(`Raft log index ${index} is compacted`);
  }
}

/** The requested index is beyond the last index the storage holds. */
export class UnavailableError extends TikvError {
  readonly code = 'KV:Raft:Unavailable';
  constructor(readonly index: bigint) {
    super(`Raft log index ${index} is unavailable`);
  }
}

/** A snapshot older than the storage's current one was offered for application. */
export class SnapshotOutOfDateError extends TikvError {
  readonly code = 'KV:Raft:SnapshotOutOfDate';
  constructor(readonly index: bigint, readonly currentIndex: bigint) {
    super(`Snapshot at index ${index} is older than the current snapshot at ${currentIndex}`);
  }
}

/** The storage cannot produce a snapshot right now (it is being generated); Raft retries later. */
export class SnapshotTemporarilyUnavailableError extends TikvError {
  readonly code = 'KV:Raft:SnapshotTemporarilyUnavailable';
  constructor() {
    super('Snapshot is temporarily unavailable');
  }
}

/** A proposal (entry, conf change, transfer, read index) was dropped: no leader, or a transfer is in progress, or the node was removed. */
export class ProposalDroppedError extends TikvError {
  readonly code = 'KV:Raft:ProposalDropped';
  constructor(reason: string) {
    super(`Raft proposal dropped: ${reason}`);
  }
}

/** A snapshot request was dropped (no leader, or one is already pending). */
export class RequestSnapshotDroppedError extends TikvError {
  readonly code = 'KV:Raft:RequestSnapshotDropped';
  constructor(reason: string) {
    super(`Raft snapshot request dropped: ${reason}`);
  }
}

/** `RawNode.step` was given a local message type (Hup, Beat, …) that only Raft itself may create. */
export class StepLocalMessageError extends TikvError {
  readonly code = 'KV:Raft:StepLocalMsg';
  constructor(msgType: number) {
    super(`Raft cannot step a local message of type ${msgType}`);
  }
}

/** `RawNode.step` was given a response from a peer that is not in the configuration. */
export class StepPeerNotFoundError extends TikvError {
  readonly code = 'KV:Raft:StepPeerNotFound';
  constructor(readonly from: bigint) {
    super(`Raft got a response from unknown peer ${from}`);
  }
}

/** The Raft configuration is invalid. */
export class ConfigInvalidError extends TikvError {
  readonly code = 'KV:Raft:ConfigInvalid';
}

/** A configuration change cannot be applied to the current configuration. */
export class ConfChangeError extends TikvError {
  readonly code = 'KV:Raft:ConfChangeError';
}
