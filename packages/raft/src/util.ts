import { eraftpb } from '@tikv-ts/proto';

/** Alias of the generated eraftpb types Raft speaks. */
export type Message = eraftpb.Message;
/** A log entry. */
export type Entry = eraftpb.Entry;
/** Term, vote and commit: what must be durable before messages are sent. */
export type HardState = eraftpb.HardState;
/** Membership. */
export type ConfState = eraftpb.ConfState;
/** A state machine image with its metadata. */
export type Snapshot = eraftpb.Snapshot;
/** The bytes type of eraftpb fields. */
export type Bytes = eraftpb.Entry['data'];

/** Shared empty byte array (never mutated). */
export const EMPTY_BYTES: Bytes = new Uint8Array(0) as Bytes;
/** Node id 0 means "none". */
export const INVALID_ID = 0n;
/** Index 0 means "none". */
export const INVALID_INDEX = 0n;
/** Passed as a size limit, means "no limit". */
export const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/** A message with every field at its default, except the type and the endpoints. */
export function newMessage(msgType: eraftpb.MessageType, to: bigint, from: bigint = INVALID_ID): Message {
  return {
    msgType,
    to,
    from,
    term: 0n,
    logTerm: 0n,
    index: 0n,
    entries: [],
    commit: 0n,
    snapshot: undefined,
    reject: false,
    rejectHint: 0n,
    context: EMPTY_BYTES,
    requestSnapshot: 0n,
    deprecatedPriority: 0n,
    priority: 0n,
  };
}

/** A normal entry with the given fields (term and index default to 0, filled in by Raft on append). */
export function newEntry(
  fields: { entryType?: eraftpb.EntryType; term?: bigint; index?: bigint; data?: Uint8Array; context?: Uint8Array } = {},
): Entry {
  return {
    entryType: fields.entryType ?? eraftpb.EntryType.EntryNormal,
    term: fields.term ?? 0n,
    index: fields.index ?? 0n,
    data: (fields.data ?? EMPTY_BYTES) as Bytes,
    syncLog: false,
    context: (fields.context ?? EMPTY_BYTES) as Bytes,
  };
}

/** An empty hard state. */
export function newHardState(term = 0n, vote = 0n, commit = 0n): HardState {
  return { term, vote, commit };
}

/** An empty conf state, or one with the given voters and learners. */
export function newConfState(voters: bigint[] = [], learners: bigint[] = []): ConfState {
  return { voters, learners, votersOutgoing: [], learnersNext: [], autoLeave: false };
}

/** A snapshot with the given metadata and payload. */
export function newSnapshot(index: bigint, term: bigint, confState: ConfState, data: Uint8Array = EMPTY_BYTES): Snapshot {
  return { data: data as Bytes, metadata: { index, term, confState } };
}

/** Index and term of a snapshot (0, 0 when it has no metadata). */
export function snapshotIndexTerm(s: Snapshot | undefined): { index: bigint; term: bigint } {
  return { index: s?.metadata?.index ?? 0n, term: s?.metadata?.term ?? 0n };
}

/** Whether a hard state is all zero. */
export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0n && hs.vote === 0n && hs.commit === 0n;
}

/** Whether two hard states are equal. */
export function hardStateEquals(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/**
 * The size of an entry in bytes for the flow-control limits (`maxSizePerMsg`,
 * `maxCommittedSizePerReady`): payload plus context plus a fixed 16 bytes standing in for
 * the encoded header fields. An estimate, cheap to compute, never smaller than the payload.
 */
export function entrySizeBytes(e: Entry): number {
  return e.data.length + e.context.length + 16;
}

/**
 * Returns the longest prefix of `entries` whose total size stays within `maxSizeBytes`, but
 * always at least one entry. The input is not modified; the prefix is the same array when
 * nothing is cut.
 */
export function limitSize(entries: Entry[], maxSizeBytes: number): Entry[] {
  if (entries.length <= 1 || maxSizeBytes >= NO_LIMIT) return entries;
  let size = 0;
  let n = 0;
  for (const e of entries) {
    size += entrySizeBytes(e);
    if (n > 0 && size > maxSizeBytes) break;
    n++;
  }
  return n === entries.length ? entries : entries.slice(0, n);
}

/** Whether a message type is one Raft creates for itself (never received from the network). */
export function isLocalMessage(t: eraftpb.MessageType): boolean {
  return (
    t === eraftpb.MessageType.MsgHup ||
    t === eraftpb.MessageType.MsgBeat ||
    t === eraftpb.MessageType.MsgUnreachable ||
    t === eraftpb.MessageType.MsgSnapStatus ||
    t === eraftpb.MessageType.MsgCheckQuorum
  );
}

/** Whether a message type is a response to a request of a peer. */
export function isResponseMessage(t: eraftpb.MessageType): boolean {
  return (
    t === eraftpb.MessageType.MsgAppendResponse ||
    t === eraftpb.MessageType.MsgRequestVoteResponse ||
    t === eraftpb.MessageType.MsgHeartbeatResponse ||
    t === eraftpb.MessageType.MsgUnreachable ||
    t === eraftpb.MessageType.MsgRequestPreVoteResponse
  );
}

/** The response type of a (pre-)vote request type. */
export function voteResponseType(t: eraftpb.MessageType): eraftpb.MessageType {
  switch (t) {
    case eraftpb.MessageType.MsgRequestVote:
      return eraftpb.MessageType.MsgRequestVoteResponse;
    case eraftpb.MessageType.MsgRequestPreVote:
      return eraftpb.MessageType.MsgRequestPreVoteResponse;
    case eraftpb.MessageType.MsgHup:
    case eraftpb.MessageType.MsgBeat:
    case eraftpb.MessageType.MsgPropose:
    case eraftpb.MessageType.MsgAppend:
    case eraftpb.MessageType.MsgAppendResponse:
    case eraftpb.MessageType.MsgRequestVoteResponse:
    case eraftpb.MessageType.MsgSnapshot:
    case eraftpb.MessageType.MsgHeartbeat:
    case eraftpb.MessageType.MsgHeartbeatResponse:
    case eraftpb.MessageType.MsgUnreachable:
    case eraftpb.MessageType.MsgSnapStatus:
    case eraftpb.MessageType.MsgCheckQuorum:
    case eraftpb.MessageType.MsgTransferLeader:
    case eraftpb.MessageType.MsgTimeoutNow:
    case eraftpb.MessageType.MsgReadIndex:
    case eraftpb.MessageType.MsgReadIndexResp:
    case eraftpb.MessageType.MsgRequestPreVoteResponse:
    default:
      throw new TypeError(`Not a vote message type: ${t}`);
  }
}

/** Compares bigints for sorting in ascending order. */
export function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Smaller of two bigints. */
export function minBigint(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

/** Larger of two bigints. */
export function maxBigint(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/** A string key for a byte array (one char per byte), used to index read-index contexts. */
export function bytesKey(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return s;
}
