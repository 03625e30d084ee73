import { maxBigint, minBigint } from '../util';
import { Inflights } from './inflights';

/** How the leader replicates to one follower (raft-rs/etcd progress states). */
export enum ProgressState {
  /** One append per heartbeat interval until the follower's match is found. */
  Probe = 0,
  /** Optimistic pipelining of appends within the inflight window. */
  Replicate = 1,
  /** A snapshot is in flight; appends wait until it is reported. */
  Snapshot = 2,
}

/** The leader's view of one follower's log (Raft §5.3, nextIndex/matchIndex). */
export class Progress {
  /** Highest index known to be replicated (and persisted) on the follower. */
  matched = 0n;
  /** Next index to send. */
  nextIdx: bigint;
  state = ProgressState.Probe;
  /** In Snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0n;
  /** A follower asked for a snapshot covering at least this index (0 = none). */
  pendingRequestSnapshot = 0n;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** In Probe state: an append was sent and we wait for its answer or a heartbeat response. */
  probeSent = false;
  /** Commit index last sent to the follower. */
  committedIndex = 0n;
  readonly ins: Inflights;

  constructor(nextIdx: bigint, maxInflight: number) {
    this.nextIdx = nextIdx;
    this.ins = new Inflights(maxInflight);
  }

  #resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0n;
    this.state = state;
    this.ins.reset();
  }

  /** Resets to Probe with `nextIdx` for a new term (keeps the inflight capacity). */
  reset(nextIdx: bigint): void {
    this.matched = 0n;
    this.nextIdx = nextIdx;
    this.state = ProgressState.Probe;
    this.probeSent = false;
    this.pendingSnapshot = 0n;
    this.pendingRequestSnapshot = 0n;
    this.recentActive = false;
    this.ins.reset();
  }

  /** Enters Probe; after a snapshot, probing starts past the snapshot. */
  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      const ps = this.pendingSnapshot;
      this.#resetState(ProgressState.Probe);
      this.nextIdx = maxBigint(this.matched + 1n, ps + 1n);
    } else {
      this.#resetState(ProgressState.Probe);
      this.nextIdx = this.matched + 1n;
    }
  }

  /** Enters Replicate (pipelining from matched + 1). */
  becomeReplicate(): void {
    this.#resetState(ProgressState.Replicate);
    this.nextIdx = this.matched + 1n;
  }

  /** Enters Snapshot for a snapshot at `snapshotIdx`. */
  becomeSnapshot(snapshotIdx: bigint): void {
    this.#resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIdx;
    this.pendingRequestSnapshot = 0n;
  }

  /** A follower acknowledged `n`; returns false when the acknowledgement is stale. */
  maybeUpdate(n: bigint): boolean {
    const updated = this.matched < n;
    if (updated) {
      this.matched = n;
      this.probeSent = false;
    }
    this.nextIdx = maxBigint(this.nextIdx, n + 1n);
    return updated;
  }

  /** After sending entries up to `n` in Replicate state. */
  optimisticUpdate(n: bigint): void {
    this.nextIdx = n + 1n;
  }

  /** Records the commit index sent to the follower. */
  updateCommitted(c: bigint): void {
    if (c > this.committedIndex) this.committedIndex = c;
  }

  /**
   * Handles a rejected append for index `rejected` with the follower's hint `matchHint`
   * (or a snapshot request). Returns false when the rejection is stale.
   */
  maybeDecrTo(rejected: bigint, matchHint: bigint, requestSnapshot: bigint): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.matched && requestSnapshot === 0n) return false;
      if (requestSnapshot === 0n) this.nextIdx = this.matched + 1n;
      else this.pendingRequestSnapshot = requestSnapshot;
      return true;
    }
    if ((this.nextIdx === 0n || this.nextIdx - 1n !== rejected) && requestSnapshot === 0n) return false;
    if (requestSnapshot === 0n) {
      this.nextIdx = maxBigint(minBigint(rejected, matchHint + 1n), this.matched + 1n);
      if (this.nextIdx < 1n) this.nextIdx = 1n;
    } else if (this.pendingRequestSnapshot === 0n) {
      this.pendingRequestSnapshot = requestSnapshot;
    }
    this.probeSent = false;
    return true;
  }

  /** Whether the leader must not send appends now. */
  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.ins.full();
      case ProgressState.Snapshot:
        return true;
      default: {
        const never: never = this.state;
        throw new Error(`Unknown progress state ${String(never)}`);
      }
    }
  }

  /** Resumes sending in Probe state. */
  resume(): void {
    this.probeSent = false;
  }

  /** A shallow description for status and tests. */
  toJSON(): Record<string, unknown> {
    return {
      matched: this.matched,
      nextIdx: this.nextIdx,
      state: ProgressState[this.state],
      pendingSnapshot: this.pendingSnapshot,
      recentActive: this.recentActive,
      inflight: this.ins.count,
    };
  }
}
