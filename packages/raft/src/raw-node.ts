import { eraftpb } from '@tikv-ts/proto';
import type { Config } from './config';
import { validateConfig } from './config';
import { StepLocalMessageError, StepPeerNotFoundError } from './errors';
import type { SoftState } from './raft';
import { Raft, StateRole } from './raft';
import type { ReadState } from './read-only';
import type { Status } from './status';
import { getStatus } from './status';
import type { Storage } from './storage';
import type { ConfState, Entry, HardState, Message, Snapshot } from './util';
import { hardStateEquals, isEmptyHardState, isLocalMessage, isResponseMessage, newEntry, newMessage, snapshotIndexTerm } from './util';

const MT = eraftpb.MessageType;

/** Outcome of sending a snapshot, reported by the application. */
export enum SnapshotStatus {
  Finish = 0,
  Failure = 1,
}

/**
 * Everything the application must do after a batch of ticks and steps, in this order:
 * 1. send `messages` (may go out right away, in parallel with persistence: the leader's appends);
 * 2. persist `snapshot`, `entries` and `hardState` to storage (fsync when `mustSync`);
 * 3. send `persistedMessages` (only after step 2: votes and acknowledgements promise durability);
 * 4. apply `committedEntries` (and conf changes through `applyConfChange`), serve `readStates`;
 * 5. call `advance` (or `advanceAppend` + `advanceApply`, or `advanceAppendAsync` + `onPersistReady`).
 *
 * Arrays are owned by the caller after `ready()`; the entries themselves must not be mutated.
 */
export interface Ready {
  /** Sequence number, for `onPersistReady` with asynchronous persistence. */
  readonly number: number;
  /** Set when leader or role changed since the last Ready. */
  readonly softState: SoftState | undefined;
  /** Set when term, vote or commit changed; must be persisted. */
  readonly hardState: HardState | undefined;
  /** Answers to read-index requests made on this node. */
  readonly readStates: ReadState[];
  /** New log entries to persist (they may overwrite a suffix of the stored log). */
  readonly entries: Entry[];
  /** A snapshot from the leader to install and persist before the entries. */
  readonly snapshot: Snapshot | undefined;
  /** Committed entries to apply, in order (all persisted locally). */
  readonly committedEntries: Entry[];
  /** Messages that may be sent before persistence. */
  readonly messages: Message[];
  /** Messages to send only after this Ready's state is persisted. */
  readonly persistedMessages: Message[];
  /** Whether the write must be synced (entries, snapshot, term or vote changed). */
  readonly mustSync: boolean;
}

/** What remains after persisting a Ready: more committed entries and messages (see {@link RawNode.advanceAppend}). */
export interface LightReady {
  /** The new commit index, when it moved. */
  readonly commitIndex: bigint | undefined;
  readonly committedEntries: Entry[];
  readonly messages: Message[];
}

interface ReadyRecord {
  number: number;
  lastEntry: { index: bigint; term: bigint } | undefined;
  snapshotIndex: bigint | undefined;
}

/**
 * The application-facing driver of a {@link Raft} (raft-rs `RawNode`): thread-unsafe,
 * synchronous, no timers. See the package README for the driving loop.
 */
export class RawNode {
  /** The state machine (exposed for tests and advanced callers; prefer the methods here). */
  readonly raft: Raft;
  #prevSs: SoftState;
  #prevHs: HardState;
  #maxNumber = 0;
  #records: ReadyRecord[] = [];

  /**
   * Creates a node over `storage` (which may hold a previous run's state).
   * @throws ConfigInvalidError when the config is invalid
   */
  constructor(config: Config, storage: Storage) {
    const resolved = validateConfig(config);
    this.raft = new Raft(resolved, storage);
    this.#prevSs = this.raft.softState();
    this.#prevHs = this.raft.hardState();
    if (resolved.appliedIndex > this.raft.raftLog.applying) this.raft.raftLog.applying = resolved.appliedIndex;
  }

  /** Advances logical time by one tick (heartbeats, election timeouts). */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (as if the election timeout elapsed). */
  campaign(): void {
    this.raft.step(newMessage(MT.MsgHup, 0n, this.raft.id));
  }

  /**
   * Proposes `data` to be appended to the log (forwarded to the leader when this is a follower).
   * @throws ProposalDroppedError when there is no leader, a transfer is in progress, or this node was removed
   */
  propose(context: Uint8Array, data: Uint8Array): void {
    const m = newMessage(MT.MsgPropose, 0n, this.raft.id);
    m.entries = [newEntry({ data, context })];
    this.raft.step(m);
  }

  /**
   * Proposes a membership change: a v1 `ConfChange` (one node) or a `ConfChangeV2` (any
   * number of changes; joint consensus with Auto/Implicit/Explicit leave; an empty V2
   * leaves an explicit joint config).
   * @throws ProposalDroppedError as for {@link propose}
   */
  proposeConfChange(context: Uint8Array, cc: eraftpb.ConfChange | eraftpb.ConfChangeV2): void {
    const e =
      'changes' in cc
        ? newEntry({ entryType: eraftpb.EntryType.EntryConfChangeV2, data: eraftpb.ConfChangeV2.encode(cc).finish(), context })
        : newEntry({ entryType: eraftpb.EntryType.EntryConfChange, data: eraftpb.ConfChange.encode(cc).finish(), context });
    const m = newMessage(MT.MsgPropose, 0n, this.raft.id);
    m.entries = [e];
    this.raft.step(m);
  }

  /**
   * Applies a committed conf change (call it when the entry is applied) and returns the new
   * membership, which the application should record with its state.
   * @throws ConfChangeError when the change is invalid for the current configuration
   */
  applyConfChange(cc: eraftpb.ConfChange | eraftpb.ConfChangeV2): ConfState {
    const v2: eraftpb.ConfChangeV2 =
      'changes' in cc
        ? cc
        : { transition: eraftpb.ConfChangeTransition.Auto, changes: [{ changeType: cc.changeType, nodeId: cc.nodeId }], context: cc.context };
    return this.raft.applyConfChange(v2);
  }

  /**
   * Steps a message received from a peer.
   * @throws StepLocalMessageError for local message types; StepPeerNotFoundError for a response from an unknown peer
   */
  step(m: Message): void {
    if (isLocalMessage(m.msgType)) throw new StepLocalMessageError(m.msgType);
    if (this.raft.prs.progress.has(m.from) || !isResponseMessage(m.msgType)) {
      this.raft.step(m);
      return;
    }
    throw new StepPeerNotFoundError(m.from);
  }

  /**
   * Requests a read index: the answer arrives as a ReadState with the same `context` (which
   * must be unique per request) once it is safe to read at that index.
   * @throws ProposalDroppedError when there is no leader
   */
  readIndex(context: Uint8Array): void {
    const m = newMessage(MT.MsgReadIndex, 0n, this.raft.id);
    m.entries = [newEntry({ data: context })];
    this.raft.step(m);
  }

  /** Asks the leader to hand leadership to `transferee`. */
  transferLeader(transferee: bigint): void {
    const m = newMessage(MT.MsgTransferLeader, 0n, transferee);
    this.raft.step(m);
  }

  /** Reports that the last message to `id` could not be delivered. */
  reportUnreachable(id: bigint): void {
    this.raft.step(newMessage(MT.MsgUnreachable, 0n, id));
  }

  /** Reports whether the snapshot sent to `id` was applied (Finish) or failed. */
  reportSnapshot(id: bigint, status: SnapshotStatus): void {
    const m = newMessage(MT.MsgSnapStatus, 0n, id);
    m.reject = status === SnapshotStatus.Failure;
    this.raft.step(m);
  }

  /**
   * Asks the leader for a snapshot (e.g. the local state machine is broken).
   * @throws RequestSnapshotDroppedError when there is no leader or a request is pending
   */
  requestSnapshot(): void {
    this.raft.requestSnapshot();
  }

  /** Whether {@link ready} would return anything. */
  hasReady(): boolean {
    const r = this.raft;
    const ss = r.softState();
    if (ss.leaderId !== this.#prevSs.leaderId || ss.raftState !== this.#prevSs.raftState) return true;
    const hs = r.hardState();
    if (!isEmptyHardState(hs) && !hardStateEquals(hs, this.#prevHs)) return true;
    if (r.raftLog.unstable.nextSnapshot() !== undefined) return true;
    if (r.msgs.length > 0) return true;
    if (r.raftLog.unstable.hasNextEntries()) return true;
    if (r.readStates.length > 0) return true;
    return r.raftLog.hasNextEntriesSince(this.raft.raftLog.applying);
  }

  /** Collects everything to persist, send and apply (see {@link Ready}). Call only when {@link hasReady}. */
  ready(): Ready {
    const r = this.raft;
    const number = ++this.#maxNumber;
    const record: ReadyRecord = { number, lastEntry: undefined, snapshotIndex: undefined };
    let mustSync = false;

    let softState: SoftState | undefined;
    const ss = r.softState();
    if (ss.leaderId !== this.#prevSs.leaderId || ss.raftState !== this.#prevSs.raftState) {
      softState = ss;
      this.#prevSs = ss;
    }
    let hardState: HardState | undefined;
    const hs = r.hardState();
    if (!isEmptyHardState(hs) && !hardStateEquals(hs, this.#prevHs)) {
      if (hs.term !== this.#prevHs.term || hs.vote !== this.#prevHs.vote) mustSync = true;
      hardState = hs;
      this.#prevHs = hs;
    }
    const readStates = r.readStates;
    r.readStates = [];

    const snapshot = r.raftLog.unstable.nextSnapshot();
    if (snapshot !== undefined) {
      const { index } = snapshotIndexTerm(snapshot);
      if (this.raft.raftLog.applying < index) this.raft.raftLog.applying = index;
      record.snapshotIndex = index;
      mustSync = true;
    }
    const entries = r.raftLog.unstable.nextEntries();
    const last = entries[entries.length - 1];
    if (last !== undefined) {
      record.lastEntry = { index: last.index, term: last.term };
      mustSync = true;
    }
    r.raftLog.unstable.acceptInProgress();

    let messages: Message[] = [];
    let persistedMessages: Message[] = [];
    // The leader's messages do not depend on its own persistence (its acknowledgement is
    // counted only after it persists); everyone else's do (votes, append responses).
    if (r.state === StateRole.Leader) messages = r.msgs;
    else persistedMessages = r.msgs;
    r.msgs = [];

    const committedEntries = this.#takeCommittedEntries();
    this.#records.push(record);
    return { number, softState, hardState, readStates, entries, snapshot, committedEntries, messages, persistedMessages, mustSync };
  }

  #takeCommittedEntries(): Entry[] {
    const ents = this.raft.raftLog.nextEntriesSince(this.raft.raftLog.applying);
    const last = ents[ents.length - 1];
    if (last !== undefined) this.raft.raftLog.applying = last.index;
    return ents;
  }

  /**
   * The Ready was persisted and its messages sent, and its committed entries applied:
   * equivalent to `advanceAppend(rd)` then `advanceApplyTo(<last committed index of rd>)`.
   * The returned LightReady may hold further committed entries and messages; after
   * handling them call {@link advanceApply}.
   */
  advance(rd: Ready): LightReady {
    const applied = this.raft.raftLog.applying;
    const light = this.advanceAppend(rd);
    this.advanceApplyTo(applied);
    return light;
  }

  /**
   * Ready `rd` was persisted (synchronously). Returns what became available because of it
   * (on a leader: a new commit index, entries to apply, appends announcing the commit).
   */
  advanceAppend(rd: Ready): LightReady {
    this.onPersistReady(rd.number);
    const r = this.raft;
    let commitIndex: bigint | undefined;
    const hs = r.hardState();
    if (hs.commit !== this.#prevHs.commit) {
      commitIndex = hs.commit;
      this.#prevHs = { ...this.#prevHs, commit: hs.commit };
    }
    const committedEntries = this.#takeCommittedEntries();
    let messages: Message[] = [];
    if (r.state === StateRole.Leader) {
      messages = r.msgs;
      r.msgs = [];
    }
    return { commitIndex, committedEntries, messages };
  }

  /**
   * Ready `rd` will be persisted asynchronously: call {@link onPersistReady} with its number
   * when done (and send its persistedMessages then). Further Readies may be taken meanwhile.
   */
  advanceAppendAsync(_rd: Ready): void {
    // Nothing to do now: the ready's entries are marked in progress and will not be handed out again.
  }

  /** Every Ready up to `number` is persisted. */
  onPersistReady(number: number): void {
    let index = 0n;
    let term = 0n;
    let snapIndex = 0n;
    while (this.#records.length > 0 && (this.#records[0] as ReadyRecord).number <= number) {
      const rec = this.#records.shift() as ReadyRecord;
      if (rec.snapshotIndex !== undefined) {
        snapIndex = rec.snapshotIndex;
        index = 0n;
        term = 0n;
      }
      if (rec.lastEntry !== undefined) {
        index = rec.lastEntry.index;
        term = rec.lastEntry.term;
      }
    }
    if (snapIndex !== 0n) this.raft.onPersistSnap(snapIndex);
    if (index !== 0n) this.raft.onPersistEntries(index, term);
  }

  /** Every committed entry handed out so far was applied. */
  advanceApply(): void {
    this.advanceApplyTo(this.raft.raftLog.applying);
  }

  /** Entries up to `applied` were applied. */
  advanceApplyTo(applied: bigint): void {
    if (applied > this.raft.raftLog.applied) this.raft.commitApply(applied);
  }

  /** The node's status. */
  status(): Status {
    return getStatus(this.raft);
  }

  /** Skips broadcasting commit-only appends (followers learn the commit index later). */
  setSkipBcastCommit(skip: boolean): void {
    this.raft.skipBcastCommit = skip;
  }

  /** Sets the election priority. */
  setPriority(priority: bigint): void {
    this.raft.priority = priority;
  }
}
