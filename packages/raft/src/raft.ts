import { eraftpb } from '@tikv-ts/proto';
import { invariant } from '@tikv-ts/util';
import type { ResolvedConfig } from './config';
import { Changer } from './confchange/changer';
import type { ChangeResult } from './confchange/changer';
import { restoreConfState } from './confchange/restore';
import { CompactedError, ProposalDroppedError, RequestSnapshotDroppedError, SnapshotTemporarilyUnavailableError } from './errors';
import { VoteResult } from './quorum/majority';
import { RaftLog } from './raft-log';
import type { ReadState } from './read-only';
import { ReadOnly, ReadOnlyOption } from './read-only';
import type { Storage } from './storage';
import { ProgressState } from './tracker/progress';
import type { Progress } from './tracker/progress';
import { ProgressTracker } from './tracker/progress-tracker';
import type { ConfState, Entry, HardState, Message, Snapshot } from './util';
import { EMPTY_BYTES, isEmptyHardState, newEntry, newHardState, newMessage, snapshotIndexTerm, voteResponseType } from './util';

const MT = eraftpb.MessageType;

/** The role of a node. */
export enum StateRole {
  Follower = 0,
  Candidate = 1,
  Leader = 2,
  PreCandidate = 3,
}

/** Volatile state worth reporting: who leads and our role. */
export interface SoftState {
  leaderId: bigint;
  raftState: StateRole;
}

/** Context bytes marking a vote request caused by a leader transfer (it bypasses the lease). */
export const CAMPAIGN_TRANSFER: Uint8Array = new TextEncoder().encode('CampaignTransfer');

/** Kinds of campaigns. */
export enum CampaignType {
  PreElection = 0,
  Election = 1,
  Transfer = 2,
}

function isCampaignTransfer(ctx: Uint8Array): boolean {
  if (ctx.length !== CAMPAIGN_TRANSFER.length) return false;
  for (let i = 0; i < ctx.length; i++) if (ctx[i] !== CAMPAIGN_TRANSFER[i]) return false;
  return true;
}

/** Whether an entry carries a conf change. */
export function isConfChangeEntry(e: Entry): boolean {
  return e.entryType === eraftpb.EntryType.EntryConfChange || e.entryType === eraftpb.EntryType.EntryConfChangeV2;
}

/** Converts a v1 ConfChange to the v2 form. */
export function confChangeToV2(cc: eraftpb.ConfChange): eraftpb.ConfChangeV2 {
  return {
    transition: eraftpb.ConfChangeTransition.Auto,
    changes: [{ changeType: cc.changeType, nodeId: cc.nodeId }],
    context: cc.context,
  };
}

/** Decodes the conf change carried by an entry, in v2 form. */
export function decodeConfChangeEntry(e: Entry): eraftpb.ConfChangeV2 {
  if (e.entryType === eraftpb.EntryType.EntryConfChange) return confChangeToV2(eraftpb.ConfChange.decode(e.data));
  if (e.entryType === eraftpb.EntryType.EntryConfChangeV2) return eraftpb.ConfChangeV2.decode(e.data);
  throw new TypeError(`Entry ${e.index} is not a conf change`);
}

/** Whether a ConfChangeV2 leaves a joint configuration (no changes, Auto transition). */
export function isLeaveJoint(cc: eraftpb.ConfChangeV2): boolean {
  return cc.changes.length === 0 && cc.transition === eraftpb.ConfChangeTransition.Auto;
}

/** Whether a ConfChangeV2 enters a joint configuration, and if so whether it leaves it automatically. */
export function enterJoint(cc: eraftpb.ConfChangeV2): { joint: boolean; autoLeave: boolean } {
  if (cc.transition !== eraftpb.ConfChangeTransition.Auto || cc.changes.length > 1) {
    const autoLeave = cc.transition === eraftpb.ConfChangeTransition.Auto || cc.transition === eraftpb.ConfChangeTransition.Implicit;
    return { joint: true, autoLeave };
  }
  return { joint: false, autoLeave: false };
}

/**
 * The Raft state machine (Ongaro & Ousterhout 2014; Ongaro's thesis), in the shape of etcd's
 * and raft-rs's `Raft`: no timers, no I/O, randomness only through `config.rng`. Driven by
 * {@link tick} and {@link step}; outgoing messages accumulate in {@link msgs}; the log and
 * state are read by {@link RawNode} to build a Ready. Most callers use RawNode instead.
 */
export class Raft {
  readonly id: bigint;
  term = 0n;
  vote = 0n;
  readStates: ReadState[] = [];
  readonly raftLog: RaftLog;
  prs: ProgressTracker;
  state = StateRole.Follower;
  isLearner = false;
  /** Messages to send (drained by RawNode). */
  msgs: Message[] = [];
  leaderId = 0n;
  /** The node a leadership transfer is going to (0 = none). */
  leadTransferee = 0n;
  /** Index of the last conf change proposed by this leader; no new one until it is applied. */
  pendingConfIndex = 0n;
  readOnly: ReadOnly;
  /** Ticks since the last election timeout reset (as follower/candidate) or check-quorum round (as leader). */
  electionElapsed = 0;
  heartbeatElapsed = 0;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  skipBcastCommit: boolean;
  readonly heartbeatTimeout: number;
  readonly electionTimeout: number;
  randomizedElectionTimeout = 0;
  readonly minElectionTimeout: number;
  readonly maxElectionTimeout: number;
  readonly maxMsgSize: number;
  priority: bigint;
  /** Snapshot index this follower asked the leader for (0 = none). */
  pendingRequestSnapshot = 0n;
  /** Read-index requests that arrived before this leader committed an entry of its term. */
  #pendingReadIndexMessages: Message[] = [];
  readonly #config: ResolvedConfig;

  constructor(config: ResolvedConfig, storage: Storage) {
    this.#config = config;
    this.id = config.id;
    this.raftLog = new RaftLog(storage, config.maxCommittedSizePerReady);
    this.prs = new ProgressTracker(config.maxInflightMsgs);
    this.readOnly = new ReadOnly(config.readOnlyOption);
    this.checkQuorum = config.checkQuorum;
    this.preVote = config.preVote;
    this.skipBcastCommit = config.skipBcastCommit;
    this.heartbeatTimeout = config.heartbeatTick;
    this.electionTimeout = config.electionTick;
    this.minElectionTimeout = config.minElectionTick;
    this.maxElectionTimeout = config.maxElectionTick;
    this.maxMsgSize = config.maxSizePerMsg;
    this.priority = config.priority;

    const rs = storage.initialState();
    const restored = restoreConfState(new ProgressTracker(config.maxInflightMsgs), this.raftLog.lastIndex(), rs.confState);
    this.#applyChangeResult(restored);
    if (!isEmptyHardState(rs.hardState)) this.loadState(rs.hardState);
    if (config.appliedIndex > 0n) {
      // Only committed entries are ever applied: an applied index above the durable commit
      // index (the commit of the hard state is written lazily) is itself a commit proof.
      if (config.appliedIndex > this.raftLog.committed) this.raftLog.commitTo(config.appliedIndex);
      this.commitApply(config.appliedIndex);
    }
    this.becomeFollower(this.term, 0n);
  }

  /** The soft state (leader and role). */
  softState(): SoftState {
    return { leaderId: this.leaderId, raftState: this.state };
  }

  /** The hard state (term, vote, commit). */
  hardState(): HardState {
    return newHardState(this.term, this.vote, this.raftLog.committed);
  }

  /** Restores term, vote and commit from storage. */
  loadState(hs: HardState): void {
    invariant(hs.commit <= this.raftLog.lastIndex(), () => `hard state commit ${hs.commit} is beyond the last index ${this.raftLog.lastIndex()}`);
    // The commit index of the hard state is written lazily: a snapshot (or compaction) at a
    // higher index already proves that index committed.
    if (hs.commit > this.raftLog.committed) this.raftLog.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  // ---- sending ----

  #send(m: Message): void {
    m.from = this.id;
    if (m.msgType === MT.MsgRequestVote || m.msgType === MT.MsgRequestPreVote || m.msgType === MT.MsgRequestVoteResponse || m.msgType === MT.MsgRequestPreVoteResponse) {
      invariant(m.term !== 0n, () => `term must be set for message type ${m.msgType}`);
    } else {
      invariant(m.term === 0n, () => `term must not be set for message type ${m.msgType}`);
      // Proposals and read requests forwarded to the leader carry no term: they are local.
      if (m.msgType !== MT.MsgPropose && m.msgType !== MT.MsgReadIndex) m.term = this.term;
    }
    this.msgs.push(m);
  }

  /** Sends an append (or a snapshot) to `to` if its progress allows. */
  sendAppend(to: bigint): void {
    this.maybeSendAppend(to, true);
  }

  /**
   * Sends entries from the peer's next index (or a snapshot when they are compacted). With
   * `sendIfEmpty` false, nothing is sent when there are no entries. Returns whether a
   * message was sent.
   */
  maybeSendAppend(to: bigint, sendIfEmpty: boolean): boolean {
    const pr = this.prs.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const m = newMessage(MT.MsgAppend, to);
    // A follower asked for a snapshot: send one when available, else keep replicating (the
    // follower keeps acknowledging entries, so the commit index never waits for the snapshot).
    if (pr.pendingRequestSnapshot !== 0n && this.#prepareSendSnapshot(m, pr, to)) {
      // snapshot prepared
    } else {
      const prevIndex = pr.nextIdx - 1n;
      const prevTerm = this.raftLog.tryTerm(prevIndex);
      let ents: Entry[] | undefined;
      try {
        ents = this.raftLog.entries(pr.nextIdx, this.maxMsgSize);
      } catch (e: unknown) {
        if (!(e instanceof CompactedError)) throw e;
      }
      if (ents !== undefined && ents.length === 0 && !sendIfEmpty) return false;
      if (prevTerm === undefined || ents === undefined) {
        if (!this.#prepareSendSnapshot(m, pr, to)) return false;
      } else {
        m.index = prevIndex;
        m.logTerm = prevTerm;
        m.entries = ents;
        m.commit = this.raftLog.committed;
        const last = ents[ents.length - 1];
        if (last !== undefined) {
          switch (pr.state) {
            case ProgressState.Replicate:
              pr.optimisticUpdate(last.index);
              pr.ins.add(last.index);
              break;
            case ProgressState.Probe:
              pr.probeSent = true;
              break;
            case ProgressState.Snapshot:
            default:
              throw new Error(`Invariant violated: sending append to ${to} in state ${ProgressState[pr.state]}`);
          }
        }
        pr.updateCommitted(this.raftLog.committed);
      }
    }
    this.#send(m);
    return true;
  }

  #prepareSendSnapshot(m: Message, pr: Progress, to: bigint): boolean {
    if (!pr.recentActive) return false;
    let snap: Snapshot;
    try {
      snap = this.raftLog.snapshot(pr.pendingRequestSnapshot, to);
    } catch (e: unknown) {
      if (e instanceof SnapshotTemporarilyUnavailableError) return false;
      throw e;
    }
    const { index } = snapshotIndexTerm(snap);
    invariant(index !== 0n, 'need a non-empty snapshot');
    m.msgType = MT.MsgSnapshot;
    m.snapshot = snap;
    pr.becomeSnapshot(index);
    return true;
  }

  #sendHeartbeat(to: bigint, ctx: Uint8Array | undefined): void {
    const pr = this.prs.progress.get(to);
    if (pr === undefined) return;
    const m = newMessage(MT.MsgHeartbeat, to);
    // A follower may not have all committed entries: never tell it to commit beyond its match.
    m.commit = pr.matched < this.raftLog.committed ? pr.matched : this.raftLog.committed;
    if (ctx !== undefined) m.context = ctx as typeof m.context;
    this.#send(m);
  }

  /** Sends appends to every peer. */
  bcastAppend(): void {
    this.prs.visit((id) => {
      if (id !== this.id) this.sendAppend(id);
    });
  }

  /** Sends heartbeats to every peer (with the newest pending read context). */
  bcastHeartbeat(): void {
    this.#bcastHeartbeatWithCtx(this.readOnly.lastPendingRequestCtx());
  }

  #bcastHeartbeatWithCtx(ctx: Uint8Array | undefined): void {
    this.prs.visit((id) => {
      if (id !== this.id) this.#sendHeartbeat(id, ctx);
    });
  }

  #shouldBcastCommit(): boolean {
    return !this.skipBcastCommit || this.pendingRequestSnapshot !== 0n;
  }

  // ---- commit and apply ----

  /** Advances the commit index to what a quorum has matched; returns whether it moved. */
  maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.prs.committed(), this.term);
  }

  /**
   * The application applied up to `applied`. A leader in an auto-leave joint config proposes
   * the leave once the entering entry is applied.
   */
  commitApply(applied: bigint): void {
    const oldApplied = this.raftLog.applied;
    this.raftLog.appliedTo(applied);
    if (this.prs.conf.autoLeave && applied >= this.pendingConfIndex && oldApplied <= this.pendingConfIndex && this.state === StateRole.Leader) {
      const e = newEntry({ entryType: eraftpb.EntryType.EntryConfChangeV2 });
      // An empty ConfChangeV2 encodes to zero bytes: it leaves the joint config.
      invariant(this.#appendEntries([e]), 'appending the leave-joint entry must succeed');
      this.pendingConfIndex = this.raftLog.lastIndex();
      this.bcastAppend();
    }
  }

  /** Entries (index, term) are durable in storage; a leader counts its own acknowledgement. */
  onPersistEntries(index: bigint, term: bigint): void {
    const updated = this.raftLog.stableEntries(index, term);
    if (updated && this.state === StateRole.Leader) {
      const pr = this.prs.progress.get(this.id);
      if (pr !== undefined && pr.maybeUpdate(index) && this.maybeCommit()) {
        this.#releasePendingReadIndexMessages();
        if (this.#shouldBcastCommit()) this.bcastAppend();
      }
    }
  }

  /** The snapshot at `index` is durable in storage. */
  onPersistSnap(index: bigint): void {
    this.raftLog.stableSnap(index);
  }

  // ---- state transitions ----

  #reset(term: bigint): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = 0n;
    }
    this.leaderId = 0n;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.prs.resetVotes();
    const last = this.raftLog.lastIndex();
    this.prs.visit((id, pr) => {
      pr.reset(last + 1n);
      if (id === this.id) pr.matched = this.raftLog.persisted;
    });
    this.pendingConfIndex = 0n;
    this.readOnly = new ReadOnly(this.readOnly.option);
    this.#pendingReadIndexMessages = [];
  }

  /** Draws a new randomized election timeout in [minElectionTimeout, maxElectionTimeout). */
  resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.#config.rng.nextRange(this.minElectionTimeout, this.maxElectionTimeout - 1);
  }

  /** Becomes a follower of `leaderId` (0 = unknown) in `term`. */
  becomeFollower(term: bigint, leaderId: bigint): void {
    this.#reset(term);
    this.leaderId = leaderId;
    this.state = StateRole.Follower;
  }

  /** Becomes a candidate: next term, voting for itself. */
  becomeCandidate(): void {
    invariant(this.state !== StateRole.Leader, 'invalid transition [leader -> candidate]');
    this.#reset(this.term + 1n);
    this.vote = this.id;
    this.state = StateRole.Candidate;
  }

  /** Becomes a pre-candidate: same term and vote, collecting pre-votes. */
  becomePreCandidate(): void {
    invariant(this.state !== StateRole.Leader, 'invalid transition [leader -> pre-candidate]');
    this.state = StateRole.PreCandidate;
    this.prs.resetVotes();
    this.leaderId = 0n;
  }

  /** Becomes the leader and appends the empty entry of its term (Raft §8). */
  becomeLeader(): void {
    invariant(this.state !== StateRole.Follower, 'invalid transition [follower -> leader]');
    this.#reset(this.term);
    this.leaderId = this.id;
    this.state = StateRole.Leader;
    const self = this.prs.progress.get(this.id);
    if (self !== undefined) {
      self.becomeReplicate();
      self.recentActive = true;
    }
    // Any conf change in the uncommitted tail may still be pending: be conservative.
    this.pendingConfIndex = this.raftLog.lastIndex();
    invariant(this.#appendEntries([newEntry()]), 'appending the empty entry must succeed');
  }

  #appendEntries(es: Entry[]): boolean {
    const li = this.raftLog.lastIndex();
    for (let i = 0; i < es.length; i++) {
      const e = es[i] as Entry;
      e.term = this.term;
      e.index = li + 1n + BigInt(i);
    }
    // The leader's own match advances only once the entries are persisted (onPersistEntries).
    this.raftLog.append(es);
    return true;
  }

  /** Whether this node can become leader: a voter with no pending snapshot to persist. */
  promotable(): boolean {
    return this.prs.isVoter(this.id) && this.raftLog.unstable.snapshot === undefined;
  }

  #pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  /** Advances logical time by one tick. */
  tick(): void {
    if (this.state === StateRole.Leader) this.#tickHeartbeat();
    else this.#tickElection();
  }

  #tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.#pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step(newMessage(MT.MsgHup, 0n, this.id));
    }
  }

  #tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(newMessage(MT.MsgCheckQuorum, 0n, this.id));
      if (this.state === StateRole.Leader && this.leadTransferee !== 0n) this.abortLeaderTransfer();
    }
    if (this.state !== StateRole.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(newMessage(MT.MsgBeat, 0n, this.id));
    }
  }

  #hasUnappliedConfChanges(): boolean {
    const lo = this.raftLog.applied + 1n;
    const hi = this.raftLog.committed + 1n;
    if (hi <= lo) return false;
    let ents: Entry[];
    try {
      ents = this.raftLog.slice(lo < this.raftLog.firstIndex() ? this.raftLog.firstIndex() : lo, hi);
    } catch (e: unknown) {
      if (e instanceof CompactedError) return false;
      throw e;
    }
    return ents.some(isConfChangeEntry);
  }

  #hup(transfer: boolean): void {
    if (this.state === StateRole.Leader) return;
    if (!this.promotable()) return;
    // A conf change that is committed but not applied may change whether we are a voter.
    if (this.#hasUnappliedConfChanges()) return;
    if (transfer) this.campaign(CampaignType.Transfer);
    else if (this.preVote) this.campaign(CampaignType.PreElection);
    else this.campaign(CampaignType.Election);
  }

  /** Starts a (pre-)election, voting for itself first. */
  campaign(t: CampaignType): void {
    let voteMsg: eraftpb.MessageType;
    let term: bigint;
    if (t === CampaignType.PreElection) {
      this.becomePreCandidate();
      voteMsg = MT.MsgRequestPreVote;
      // Pre-votes ask for the next term without incrementing ours.
      term = this.term + 1n;
    } else {
      this.becomeCandidate();
      voteMsg = MT.MsgRequestVote;
      term = this.term;
    }
    const { result } = this.poll(this.id, voteResponseType(voteMsg), true);
    if (result === VoteResult.Won) {
      // A single-voter group wins at once.
      if (t === CampaignType.PreElection) this.campaign(CampaignType.Election);
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.raftLog.lastIndex();
    const lastTerm = this.raftLog.lastTerm();
    for (const id of [...this.prs.conf.voters.ids()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (id === this.id) continue;
      const m = newMessage(voteMsg, id);
      m.term = term;
      m.index = lastIndex;
      m.logTerm = lastTerm;
      m.priority = this.priority;
      if (t === CampaignType.Transfer) m.context = CAMPAIGN_TRANSFER as typeof m.context;
      this.#send(m);
    }
  }

  /** Records a vote and returns the tally. */
  poll(id: bigint, _t: eraftpb.MessageType, granted: boolean): { granted: number; rejected: number; result: VoteResult } {
    this.prs.recordVote(id, granted);
    return this.prs.tallyVotes();
  }

  // ---- step ----

  /**
   * Processes one message (from the network, or a local one such as MsgHup/MsgPropose).
   * @throws ProposalDroppedError when a proposal cannot be accepted
   */
  step(m: Message): void {
    if (m.term === 0n) {
      // local message
    } else if (m.term > this.term) {
      if (m.msgType === MT.MsgRequestVote || m.msgType === MT.MsgRequestPreVote) {
        const force = isCampaignTransfer(m.context);
        const inLease = this.checkQuorum && this.leaderId !== 0n && this.electionElapsed < this.electionTimeout;
        // Check-quorum lease (thesis §4.2.3): while we heard from a leader recently, ignore
        // disruptive candidates, unless the leader itself asked for the transfer.
        if (!force && inLease) return;
      }
      if (m.msgType === MT.MsgRequestPreVote) {
        // Never change our term in response to a pre-vote.
      } else if (m.msgType === MT.MsgRequestPreVoteResponse && !m.reject) {
        // The term in a granted pre-vote response is the future term: we move there when we
        // win the pre-vote and campaign for real.
      } else if (m.msgType === MT.MsgAppend || m.msgType === MT.MsgHeartbeat || m.msgType === MT.MsgSnapshot) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, 0n);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.msgType === MT.MsgHeartbeat || m.msgType === MT.MsgAppend)) {
        // A stale leader (e.g. after a partition healed) would otherwise never learn the
        // new term, since with check-quorum/pre-vote our higher term does not reach it
        // through votes. Tell it.
        this.#send(newMessage(MT.MsgAppendResponse, m.from));
      } else if (m.msgType === MT.MsgRequestPreVote) {
        const r = newMessage(MT.MsgRequestPreVoteResponse, m.from);
        r.term = this.term;
        r.reject = true;
        this.#send(r);
      }
      // Otherwise ignore the stale message.
      return;
    }

    switch (m.msgType) {
      case MT.MsgHup:
        this.#hup(false);
        return;
      case MT.MsgRequestVote:
      case MT.MsgRequestPreVote: {
        const canVote =
          this.vote === m.from ||
          (this.vote === 0n && this.leaderId === 0n) ||
          (m.msgType === MT.MsgRequestPreVote && m.term > this.term);
        const upToDate = this.raftLog.isUpToDate(m.index, m.logTerm);
        const priorityOk = m.index > this.raftLog.lastIndex() || this.priority <= m.priority;
        const r = newMessage(voteResponseType(m.msgType), m.from);
        if (canVote && upToDate && priorityOk) {
          // The response carries the requested term so that a pre-candidate counts it.
          r.term = m.term;
          this.#send(r);
          if (m.msgType === MT.MsgRequestVote) {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          r.term = this.term;
          r.reject = true;
          this.#send(r);
        }
        return;
      }
      case MT.MsgBeat:
      case MT.MsgPropose:
      case MT.MsgAppend:
      case MT.MsgAppendResponse:
      case MT.MsgRequestVoteResponse:
      case MT.MsgSnapshot:
      case MT.MsgHeartbeat:
      case MT.MsgHeartbeatResponse:
      case MT.MsgUnreachable:
      case MT.MsgSnapStatus:
      case MT.MsgCheckQuorum:
      case MT.MsgTransferLeader:
      case MT.MsgTimeoutNow:
      case MT.MsgReadIndex:
      case MT.MsgReadIndexResp:
      case MT.MsgRequestPreVoteResponse:
      default:
        break;
    }
    switch (this.state) {
      case StateRole.Leader:
        this.#stepLeader(m);
        return;
      case StateRole.Candidate:
      case StateRole.PreCandidate:
        this.#stepCandidate(m);
        return;
      case StateRole.Follower:
        this.#stepFollower(m);
        return;
      default: {
        const never: never = this.state;
        throw new Error(`Unknown state ${String(never)}`);
      }
    }
  }

  #stepLeader(m: Message): void {
    switch (m.msgType) {
      case MT.MsgBeat:
        this.bcastHeartbeat();
        return;
      case MT.MsgCheckQuorum:
        if (!this.prs.quorumRecentlyActive(this.id)) this.becomeFollower(this.term, 0n);
        this.prs.visit((id, pr) => {
          if (id !== this.id) pr.recentActive = false;
        });
        return;
      case MT.MsgPropose:
        this.#handlePropose(m);
        return;
      case MT.MsgReadIndex:
        if (this.prs.isSingleton()) {
          this.#respondToReadIndex(m, this.raftLog.committed);
          return;
        }
        // Thesis §6.4: the leader must have committed an entry of its term before its commit
        // index is known to be up to date.
        if (!this.#committedEntryInCurrentTerm()) {
          this.#pendingReadIndexMessages.push(m);
          return;
        }
        this.#sendReadIndexResponse(m);
        return;
      case MT.MsgHup:
      case MT.MsgAppend:
      case MT.MsgAppendResponse:
      case MT.MsgRequestVote:
      case MT.MsgRequestVoteResponse:
      case MT.MsgSnapshot:
      case MT.MsgHeartbeat:
      case MT.MsgHeartbeatResponse:
      case MT.MsgUnreachable:
      case MT.MsgSnapStatus:
      case MT.MsgTransferLeader:
      case MT.MsgTimeoutNow:
      case MT.MsgReadIndexResp:
      case MT.MsgRequestPreVote:
      case MT.MsgRequestPreVoteResponse:
      default:
        break;
    }

    const pr = this.prs.progress.get(m.from);
    if (pr === undefined) return;
    switch (m.msgType) {
      case MT.MsgAppendResponse:
        this.#handleAppendResponse(m, pr);
        return;
      case MT.MsgHeartbeatResponse:
        this.#handleHeartbeatResponse(m, pr);
        return;
      case MT.MsgSnapStatus:
        if (pr.state !== ProgressState.Snapshot) return;
        if (m.reject) pr.pendingSnapshot = 0n;
        pr.becomeProbe();
        // Wait for an answer (or a heartbeat response) before probing again.
        pr.probeSent = true;
        return;
      case MT.MsgUnreachable:
        // Do not pipeline to a peer we cannot reach; probe it on the next heartbeat.
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        return;
      case MT.MsgTransferLeader: {
        const transferee = m.from;
        if (this.prs.isLearner(transferee)) return;
        const last = this.leadTransferee;
        if (last !== 0n) {
          if (last === transferee) return;
          this.abortLeaderTransfer();
        }
        if (transferee === this.id) return;
        // Transfer must finish within an election timeout.
        this.electionElapsed = 0;
        this.leadTransferee = transferee;
        if (pr.matched === this.raftLog.lastIndex()) this.#sendTimeoutNow(transferee);
        else this.sendAppend(transferee);
        return;
      }
      case MT.MsgHup:
      case MT.MsgAppend:
      case MT.MsgRequestVote:
      case MT.MsgRequestVoteResponse:
      case MT.MsgSnapshot:
      case MT.MsgHeartbeat:
      case MT.MsgTimeoutNow:
      case MT.MsgReadIndexResp:
      case MT.MsgRequestPreVote:
      case MT.MsgRequestPreVoteResponse:
      default:
        return;
    }
  }

  #handlePropose(m: Message): void {
    invariant(m.entries.length > 0, 'stepped an empty proposal');
    if (!this.prs.progress.has(this.id)) throw new ProposalDroppedError(`node ${this.id} is not in the configuration`);
    if (this.leadTransferee !== 0n) throw new ProposalDroppedError(`leadership is being transferred to ${this.leadTransferee}`);
    for (let i = 0; i < m.entries.length; i++) {
      const e = m.entries[i] as Entry;
      if (!isConfChangeEntry(e)) continue;
      const cc = decodeConfChangeEntry(e);
      const alreadyPending = this.pendingConfIndex > this.raftLog.applied;
      const alreadyJoint = this.prs.conf.voters.isJoint();
      const wantsLeaveJoint = cc.changes.length === 0;
      let refused = false;
      if (alreadyPending) refused = true;
      else if (alreadyJoint && !wantsLeaveJoint) refused = true;
      else if (!alreadyJoint && wantsLeaveJoint) refused = true;
      if (refused) {
        // Keep the proposal's position but make it a no-op (etcd does the same).
        m.entries[i] = newEntry();
      } else {
        this.pendingConfIndex = this.raftLog.lastIndex() + BigInt(i) + 1n;
      }
    }
    this.#appendEntries(m.entries);
    this.bcastAppend();
  }

  #handleAppendResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    if (m.reject && m.requestSnapshot !== 0n) {
      // A snapshot request: remember it and send a snapshot if storage has one now.
      // Replication goes on meanwhile, so nothing else is sent (no ping-pong of probes).
      if (pr.pendingRequestSnapshot < m.requestSnapshot) pr.pendingRequestSnapshot = m.requestSnapshot;
      if (pr.state !== ProgressState.Snapshot) {
        const sm = newMessage(MT.MsgAppend, m.from);
        if (this.#prepareSendSnapshot(sm, pr, m.from)) this.#send(sm);
      }
      return;
    }
    if (m.reject) {
      let nextProbe = m.rejectHint;
      if (m.logTerm > 0n) {
        // Fast backtracking: skip every entry of ours whose term is above the follower's
        // term at the hint, since none of them can match.
        nextProbe = this.raftLog.findConflictByTerm(m.rejectHint, m.logTerm).index;
      }
      if (pr.maybeDecrTo(m.index, nextProbe, m.requestSnapshot)) {
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const oldPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) return;
    switch (pr.state) {
      case ProgressState.Probe:
        pr.becomeReplicate();
        break;
      case ProgressState.Snapshot:
        if (pr.matched + 1n >= this.raftLog.firstIndex()) {
          pr.becomeProbe();
          pr.becomeReplicate();
        }
        break;
      case ProgressState.Replicate:
        pr.ins.freeTo(m.index);
        break;
      default:
        break;
    }
    if (this.maybeCommit()) {
      this.#releasePendingReadIndexMessages();
      if (this.#shouldBcastCommit()) this.bcastAppend();
    } else if (oldPaused) {
      this.sendAppend(m.from);
    }
    // Keep the pipeline full.
    while (this.maybeSendAppend(m.from, false)) {
      // loop
    }
    if (m.from === this.leadTransferee && pr.matched === this.raftLog.lastIndex()) this.#sendTimeoutNow(m.from);
  }

  #handleHeartbeatResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    pr.resume();
    if (pr.state === ProgressState.Replicate && pr.ins.full()) pr.ins.freeFirstOne();
    if (pr.matched < this.raftLog.lastIndex() || pr.pendingRequestSnapshot !== 0n) this.sendAppend(m.from);
    if (this.readOnly.option !== ReadOnlyOption.Safe || m.context.length === 0) return;
    const acks = this.readOnly.recvAck(m.from, m.context);
    if (acks === undefined || !this.prs.hasQuorum(acks)) return;
    for (const rs of this.readOnly.advance(m.context)) this.#respondToReadIndex(rs.req, rs.index);
  }

  #committedEntryInCurrentTerm(): boolean {
    return this.raftLog.term(this.raftLog.committed) === this.term;
  }

  #releasePendingReadIndexMessages(): void {
    if (this.#pendingReadIndexMessages.length === 0 || !this.#committedEntryInCurrentTerm()) return;
    const msgs = this.#pendingReadIndexMessages;
    this.#pendingReadIndexMessages = [];
    for (const m of msgs) this.#sendReadIndexResponse(m);
  }

  #sendReadIndexResponse(m: Message): void {
    const ctx = m.entries[0]?.data ?? EMPTY_BYTES;
    switch (this.readOnly.option) {
      case ReadOnlyOption.Safe:
        this.readOnly.addRequest(this.raftLog.committed, m);
        // The leader acknowledges itself.
        this.readOnly.recvAck(this.id, ctx);
        this.#bcastHeartbeatWithCtx(ctx);
        return;
      case ReadOnlyOption.LeaseBased:
        this.#respondToReadIndex(m, this.raftLog.committed);
        return;
      default: {
        const never: never = this.readOnly.option;
        throw new Error(`Unknown read-only option ${String(never)}`);
      }
    }
  }

  #respondToReadIndex(req: Message, index: bigint): void {
    if (req.from === 0n || req.from === this.id) {
      this.readStates.push({ index, requestCtx: req.entries[0]?.data ?? EMPTY_BYTES });
      return;
    }
    const r = newMessage(MT.MsgReadIndexResp, req.from);
    r.index = index;
    r.entries = req.entries;
    this.#send(r);
  }

  #stepCandidate(m: Message): void {
    const myVoteResp = this.state === StateRole.PreCandidate ? MT.MsgRequestPreVoteResponse : MT.MsgRequestVoteResponse;
    switch (m.msgType) {
      case MT.MsgPropose:
        throw new ProposalDroppedError(`node ${this.id} is a candidate`);
      case MT.MsgAppend:
        this.becomeFollower(m.term, m.from);
        this.#handleAppendEntries(m);
        return;
      case MT.MsgHeartbeat:
        this.becomeFollower(m.term, m.from);
        this.#handleHeartbeat(m);
        return;
      case MT.MsgSnapshot:
        this.becomeFollower(m.term, m.from);
        this.#handleSnapshot(m);
        return;
      case MT.MsgTimeoutNow:
        return;
      case MT.MsgHup:
      case MT.MsgBeat:
      case MT.MsgAppendResponse:
      case MT.MsgRequestVote:
      case MT.MsgRequestVoteResponse:
      case MT.MsgHeartbeatResponse:
      case MT.MsgUnreachable:
      case MT.MsgSnapStatus:
      case MT.MsgCheckQuorum:
      case MT.MsgTransferLeader:
      case MT.MsgReadIndex:
      case MT.MsgReadIndexResp:
      case MT.MsgRequestPreVote:
      case MT.MsgRequestPreVoteResponse:
      default:
        break;
    }
    if (m.msgType !== myVoteResp) return;
    const { result } = this.poll(m.from, m.msgType, !m.reject);
    if (result === VoteResult.Won) {
      if (this.state === StateRole.PreCandidate) {
        this.campaign(CampaignType.Election);
      } else {
        this.becomeLeader();
        this.bcastAppend();
      }
    } else if (result === VoteResult.Lost) {
      // A rejection may carry a higher term only through the term check above; here we
      // simply go back to following (pre-candidates keep their term).
      this.becomeFollower(this.term, 0n);
    }
  }

  #stepFollower(m: Message): void {
    switch (m.msgType) {
      case MT.MsgPropose:
        if (this.leaderId === 0n) throw new ProposalDroppedError(`node ${this.id} has no leader`);
        m.to = this.leaderId;
        this.#send(m);
        return;
      case MT.MsgAppend:
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.#handleAppendEntries(m);
        return;
      case MT.MsgHeartbeat:
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.#handleHeartbeat(m);
        return;
      case MT.MsgSnapshot:
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.#handleSnapshot(m);
        return;
      case MT.MsgTransferLeader:
        if (this.leaderId === 0n) throw new ProposalDroppedError(`node ${this.id} has no leader to transfer from`);
        m.to = this.leaderId;
        this.#send(m);
        return;
      case MT.MsgTimeoutNow:
        // The leader asked us to take over: campaign at once, skipping pre-vote.
        if (this.promotable()) this.#hup(true);
        return;
      case MT.MsgReadIndex:
        if (this.leaderId === 0n) throw new ProposalDroppedError(`node ${this.id} has no leader for a read index`);
        // Forward only our own requests: re-forwarding another node's request would make the
        // answer come back to us instead of the requester (it retries after a timeout).
        if (m.from !== this.id && m.from !== 0n) return;
        m.to = this.leaderId;
        this.#send(m);
        return;
      case MT.MsgReadIndexResp: {
        const e = m.entries[0];
        if (m.entries.length !== 1 || e === undefined) return;
        this.readStates.push({ index: m.index, requestCtx: e.data });
        return;
      }
      case MT.MsgHup:
      case MT.MsgBeat:
      case MT.MsgAppendResponse:
      case MT.MsgRequestVote:
      case MT.MsgRequestVoteResponse:
      case MT.MsgHeartbeatResponse:
      case MT.MsgUnreachable:
      case MT.MsgSnapStatus:
      case MT.MsgCheckQuorum:
      case MT.MsgRequestPreVote:
      case MT.MsgRequestPreVoteResponse:
      default:
        return;
    }
  }

  #handleAppendEntries(m: Message): void {
    // Repeat a pending snapshot request, but keep replicating meanwhile: a group whose
    // followers all wait for snapshots must still be able to commit.
    if (this.pendingRequestSnapshot !== 0n) this.#sendRequestSnapshot();
    const r = newMessage(MT.MsgAppendResponse, m.from);
    if (m.index < this.raftLog.committed) {
      r.index = this.raftLog.committed;
      this.#send(r);
      return;
    }
    const lastNew = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      r.index = lastNew;
      this.#send(r);
      return;
    }
    // Mismatch: hint the largest index whose term is <= the leader's term at m.index, so the
    // leader can skip whole terms (etcd's fast rejection).
    const hintIndex = m.index < this.raftLog.lastIndex() ? m.index : this.raftLog.lastIndex();
    const hint = this.raftLog.findConflictByTerm(hintIndex, m.logTerm);
    r.index = m.index;
    r.reject = true;
    r.rejectHint = hint.index;
    r.logTerm = hint.term;
    this.#send(r);
  }

  #handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit);
    if (this.pendingRequestSnapshot !== 0n) this.#sendRequestSnapshot();
    const r = newMessage(MT.MsgHeartbeatResponse, m.from);
    r.context = m.context;
    this.#send(r);
  }

  #handleSnapshot(m: Message): void {
    const snap = m.snapshot;
    if (snap === undefined) return;
    const r = newMessage(MT.MsgAppendResponse, m.from);
    if (this.restore(snap)) r.index = this.raftLog.lastIndex();
    else r.index = this.raftLog.committed;
    this.#send(r);
  }

  /**
   * Installs a snapshot from the leader: returns false when it is stale or when our log
   * already contains it (then only the commit index moves).
   */
  restore(snap: Snapshot): boolean {
    const { index, term } = snapshotIndexTerm(snap);
    if (index < this.raftLog.committed) return false;
    if (this.state !== StateRole.Follower) {
      // Defensive: only followers restore. Move to a new term so that no vote is lost.
      this.becomeFollower(this.term + 1n, 0n);
      return false;
    }
    const cs = snap.metadata?.confState;
    if (cs === undefined) return false;
    const inConf = cs.voters.includes(this.id) || cs.learners.includes(this.id) || cs.votersOutgoing.includes(this.id);
    if (!inConf) return false;
    // A requested snapshot may be at or below what was already handed out for application.
    // Below: installing it would move the state machine backwards; wait for a newer one.
    // Exactly at it: the pending entries (and their conf changes) are applied first, so the
    // membership is left as is rather than switched twice.
    if (this.pendingRequestSnapshot !== 0n && index < this.raftLog.applying) return false;
    const keepConfig = this.pendingRequestSnapshot !== 0n && index === this.raftLog.applying;
    if (this.pendingRequestSnapshot === 0n && this.raftLog.matchTerm(index, term)) {
      // Our log already has the snapshot's last entry: fast-forward the commit index.
      this.raftLog.commitTo(index);
      return false;
    }
    // A requested snapshot may be older than our log. Entries after it that we already have
    // (and may have acknowledged) must survive: log matching makes them consistent with it.
    let suffix: Entry[] = [];
    if (this.pendingRequestSnapshot !== 0n && this.raftLog.matchTerm(index, term) && this.raftLog.lastIndex() > index) {
      suffix = this.raftLog.slice(index + 1n, this.raftLog.lastIndex() + 1n);
    }
    this.raftLog.restore(snap);
    if (suffix.length > 0) this.raftLog.append(suffix);
    if (!keepConfig) {
      const tracker = new ProgressTracker(this.prs.maxInflight);
      this.#applyChangeResult(restoreConfState(tracker, this.raftLog.lastIndex(), cs));
    }
    this.pendingRequestSnapshot = 0n;
    return true;
  }

  #applyChangeResult(r: ChangeResult): ConfState {
    this.prs.conf = r.conf;
    this.prs.progress = r.progress;
    this.isLearner = this.prs.isLearner(this.id) || r.conf.learnersNext.has(this.id);
    return this.prs.confState();
  }

  /**
   * Applies a committed conf change to the tracker and returns the new membership.
   * @throws ConfChangeError when the change is invalid for the current configuration
   */
  applyConfChange(cc: eraftpb.ConfChangeV2): ConfState {
    const changer = new Changer(this.prs, this.raftLog.lastIndex());
    let r: ChangeResult;
    if (isLeaveJoint(cc)) r = changer.leaveJoint();
    else {
      const j = enterJoint(cc);
      r = j.joint ? changer.enterJoint(j.autoLeave, cc.changes) : changer.simple(cc.changes);
    }
    return this.#switchToConfig(r);
  }

  #switchToConfig(r: ChangeResult): ConfState {
    const cs = this.#applyChangeResult(r);
    const selfPr = this.prs.progress.get(this.id);
    if (this.state !== StateRole.Leader) return cs;
    if (selfPr === undefined || this.isLearner) {
      // Removed or demoted leader: step down; the remaining voters elect a new one.
      this.becomeFollower(this.term, 0n);
      return cs;
    }
    if (cs.voters.length === 0) return cs;
    // The quorum may have changed: maybe commit, and in any case probe new peers.
    if (this.maybeCommit()) {
      this.#releasePendingReadIndexMessages();
      this.bcastAppend();
    } else {
      this.prs.visit((id) => {
        if (id !== this.id) this.maybeSendAppend(id, false);
      });
    }
    if (this.leadTransferee !== 0n && !this.prs.conf.voters.contains(this.leadTransferee)) this.abortLeaderTransfer();
    return cs;
  }

  #sendTimeoutNow(to: bigint): void {
    this.#send(newMessage(MT.MsgTimeoutNow, to));
  }

  /** Stops an ongoing leadership transfer. */
  abortLeaderTransfer(): void {
    this.leadTransferee = 0n;
  }

  /**
   * A follower asks the leader for a snapshot covering at least its last index.
   * @throws RequestSnapshotDroppedError when there is no leader or a request is already pending
   */
  requestSnapshot(): void {
    if (this.state === StateRole.Leader) return;
    if (this.leaderId === 0n) throw new RequestSnapshotDroppedError(`node ${this.id} has no leader`);
    if (this.raftLog.unstable.snapshot !== undefined) throw new RequestSnapshotDroppedError('a snapshot is being installed');
    if (this.pendingRequestSnapshot !== 0n) throw new RequestSnapshotDroppedError('a snapshot request is pending');
    // Ask for a snapshot covering at least our commit index (the leader can always produce
    // one). Entries after it that match the snapshot are kept when it is installed.
    this.pendingRequestSnapshot = this.raftLog.committed;
    this.#sendRequestSnapshot();
  }

  #sendRequestSnapshot(): void {
    const m = newMessage(MT.MsgAppendResponse, this.leaderId);
    m.index = this.raftLog.committed;
    m.reject = true;
    m.rejectHint = this.raftLog.lastIndex();
    m.requestSnapshot = this.pendingRequestSnapshot;
    this.#send(m);
  }

  /** Number of pending read-index requests waiting for this leader's first commit. */
  get pendingReadIndexCount(): number {
    return this.#pendingReadIndexMessages.length;
  }
}
