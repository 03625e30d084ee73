import { eraftpb } from '@tikv-ts/proto';
import { invariant } from '@tikv-ts/util';
import { CompactedError, UnavailableError } from './errors';
import { Unstable } from './log-unstable';
import type { Storage } from './storage';
import type { Entry, Snapshot } from './util';
import { entrySizeBytes, limitSize, maxBigint, minBigint, NO_LIMIT, snapshotIndexTerm } from './util';

/**
 * Raft's view of the log: the durable part in {@link Storage} followed by the {@link Unstable}
 * tail, with the commit, persisted and applied indexes.
 *
 * Invariants: applied <= committed; committed entries are never truncated; persisted is the
 * last index known to be in storage.
 */
export class RaftLog {
  readonly storage: Storage;
  readonly unstable: Unstable;
  /** Highest index known to be committed by a quorum. */
  committed: bigint;
  /** Highest index the application has applied. */
  applied: bigint;
  /** Highest index handed out for application (in a Ready, or a snapshot), >= applied. */
  applying: bigint;
  /** Highest index known to be durable in storage (entries above it are not applied). */
  persisted: bigint;
  /** Size limit of the committed entries handed out in one Ready. */
  readonly maxNextEntsSize: number;
  /** Indexes of the conf change entries in the log after the snapshot, ascending. */
  #confIndexes: bigint[] = [];

  constructor(storage: Storage, maxNextEntsSize: number = NO_LIMIT) {
    this.storage = storage;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1n);
    this.committed = first - 1n;
    this.applied = first - 1n;
    this.applying = first - 1n;
    this.persisted = last;
    this.maxNextEntsSize = maxNextEntsSize;
    if (last >= first) this.#noteConfChanges(storage.entries(first, last + 1n));
    this.#commitImplied();
  }

  #noteConfChanges(ents: Entry[]): void {
    for (const e of ents) {
      if (e.entryType === eraftpb.EntryType.EntryConfChange || e.entryType === eraftpb.EntryType.EntryConfChangeV2) this.#confIndexes.push(e.index);
    }
  }

  /**
   * A leader appends a conf change only after applying every earlier one in its log, so
   * whenever our log holds a conf change, every earlier conf change in it is committed (log
   * matching makes our prefix the leader's). Knowing this keeps a node from campaigning with
   * a configuration more than one change old (the "append" invariant of apply-time
   * configuration changes, etcd#7625): it must apply those changes first.
   */
  #commitImplied(): void {
    const n = this.#confIndexes.length;
    if (n < 2) return;
    const implied = this.#confIndexes[n - 2] as bigint;
    if (implied > this.committed) this.committed = implied;
  }

  /** First index available in the log (entries before are in a snapshot). */
  firstIndex(): bigint {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  /** Last index in the log. */
  lastIndex(): bigint {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Term of the last entry. */
  lastTerm(): bigint {
    const t = this.tryTerm(this.lastIndex());
    invariant(t !== undefined, 'term of the last index must be known');
    return t;
  }

  /**
   * Term of entry `i`; 0 when `i` is outside [firstIndex - 1, lastIndex]; undefined when
   * storage no longer has it (compacted meanwhile).
   */
  tryTerm(i: bigint): bigint | undefined {
    const dummy = this.firstIndex() - 1n;
    if (i < dummy || i > this.lastIndex()) return 0n;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    try {
      return this.storage.term(i);
    } catch (e: unknown) {
      if (e instanceof CompactedError || e instanceof UnavailableError) return undefined;
      throw e;
    }
  }

  /** Term of entry `i`, 0 when unknown. */
  term(i: bigint): bigint {
    return this.tryTerm(i) ?? 0n;
  }

  /** Whether entry `i` has term `t`. */
  matchTerm(i: bigint, t: bigint): boolean {
    const lt = this.tryTerm(i);
    return lt !== undefined && lt === t;
  }

  /**
   * Raft §5.4.1: a candidate's log (last entry `lastIndex`, `term`) is at least as up to date
   * as ours.
   */
  isUpToDate(lastIndex: bigint, term: bigint): boolean {
    const lt = this.lastTerm();
    return term > lt || (term === lt && lastIndex >= this.lastIndex());
  }

  /**
   * Handles a MsgAppend: if entry `index` has term `logTerm`, appends `ents` (truncating
   * conflicts), advances the commit index to min(`committed`, last new index) and returns
   * the last new index; undefined when the log does not match.
   */
  maybeAppend(index: bigint, logTerm: bigint, committed: bigint, ents: Entry[]): bigint | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + BigInt(ents.length);
    const ci = this.findConflict(ents);
    if (ci !== 0n) {
      invariant(ci > this.committed, () => `entry ${ci} conflicts with committed entry (committed ${this.committed})`);
      const start = Number(ci - (index + 1n));
      this.append(ents.slice(start));
    }
    this.commitTo(minBigint(committed, lastNew));
    return lastNew;
  }

  /** Appends entries after truncating the log at their first index; returns the new last index. */
  append(ents: Entry[]): bigint {
    const first = ents[0];
    if (first === undefined) return this.lastIndex();
    const after = first.index - 1n;
    invariant(after >= this.committed, () => `appending after ${after} would truncate committed ${this.committed}`);
    if (after < this.persisted) this.persisted = after;
    this.unstable.truncateAndAppend(ents);
    while (this.#confIndexes.length > 0 && (this.#confIndexes[this.#confIndexes.length - 1] as bigint) > after) this.#confIndexes.pop();
    this.#noteConfChanges(ents);
    this.#commitImplied();
    return this.lastIndex();
  }

  /** Index of the first entry of `ents` whose term differs from ours, or 0 when none does. */
  findConflict(ents: Entry[]): bigint {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0n;
  }

  /**
   * The largest index <= `index` whose term is <= `term`, with that term: where the leader
   * should probe next after a rejection (the fast log backtracking hint, etcd §"reject hint").
   */
  findConflictByTerm(index: bigint, term: bigint): { index: bigint; term: bigint } {
    let i = index;
    if (i > this.lastIndex()) return { index: i, term: 0n };
    for (;;) {
      const t = this.tryTerm(i);
      if (t === undefined) return { index: i, term: 0n };
      if (t <= term || i === 0n) return { index: i, term: t };
      i--;
    }
  }

  /** Advances the commit index (never backwards). */
  commitTo(toCommit: bigint): void {
    if (this.committed < toCommit) {
      invariant(this.lastIndex() >= toCommit, () => `commit ${toCommit} is out of range [last ${this.lastIndex()}]`);
      this.committed = toCommit;
    }
  }

  /** Commits `maxIndex` if it is in term `term` (Raft §5.4.2: only current-term entries commit by counting). */
  maybeCommit(maxIndex: bigint, term: bigint): boolean {
    if (maxIndex > this.committed && this.term(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  /** The application applied up to `i`. */
  appliedTo(i: bigint): void {
    if (i === 0n) return;
    invariant(this.committed >= i && i >= this.applied, () => `applied ${i} is out of range [prev ${this.applied}, committed ${this.committed}]`);
    this.applied = i;
    if (this.applying < i) this.applying = i;
  }

  /** Entries up to (i, t) were written to storage. Returns whether `persisted` advanced. */
  stableEntries(i: bigint, t: bigint): boolean {
    this.unstable.stableTo(i, t);
    return this.maybePersist(i, t);
  }

  /** Marks `index` persisted if it left the unstable part with term `term`. */
  maybePersist(index: bigint, term: bigint): boolean {
    const firstUpdateIndex = this.unstable.snapshot !== undefined ? snapshotIndexTerm(this.unstable.snapshot).index : this.unstable.offset;
    if (index > this.persisted && index < firstUpdateIndex) {
      let st: bigint | undefined;
      try {
        st = this.storage.term(index);
      } catch (e: unknown) {
        if (!(e instanceof CompactedError || e instanceof UnavailableError)) throw e;
      }
      if (st === term) {
        this.persisted = index;
        return true;
      }
    }
    return false;
  }

  /** The snapshot at `index` was written to storage. */
  stableSnap(index: bigint): void {
    this.unstable.stableSnapTo(index);
    if (index > this.persisted) this.persisted = index;
  }

  /** Whether committed, persisted entries after `since` are waiting to be applied. */
  hasNextEntriesSince(since: bigint): boolean {
    const lo = maxBigint(since + 1n, this.firstIndex());
    const hi = minBigint(this.committed, this.persisted) + 1n;
    return hi > lo;
  }

  /** Committed and persisted entries after `since`, limited by `maxNextEntsSize`. */
  nextEntriesSince(since: bigint): Entry[] {
    const lo = maxBigint(since + 1n, this.firstIndex());
    const hi = minBigint(this.committed, this.persisted) + 1n;
    if (hi <= lo) return [];
    return this.slice(lo, hi, this.maxNextEntsSize);
  }

  /** The pending unstable snapshot or the storage's snapshot (for sending to `to`). */
  snapshot(requestIndex: bigint, to: bigint): Snapshot {
    if (this.unstable.snapshot !== undefined) return this.unstable.snapshot;
    return this.storage.snapshot(requestIndex, to);
  }

  /**
   * Entries from `i` to the end, at most `maxSize` bytes (at least one).
   * @throws CompactedError when `i` is compacted
   */
  entries(i: bigint, maxSize: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1n, maxSize);
  }

  /** Every entry from the first index (for tests). */
  allEntries(): Entry[] {
    return this.entries(this.firstIndex(), NO_LIMIT);
  }

  /**
   * Entries in [lo, hi) from storage then unstable, at most `maxSize` bytes (at least one).
   * @throws CompactedError when `lo` is compacted
   */
  slice(lo: bigint, hi: bigint, maxSize: number = NO_LIMIT): Entry[] {
    const first = this.firstIndex();
    if (lo < first) throw new CompactedError(lo);
    const last = this.lastIndex();
    invariant(lo <= hi && hi <= last + 1n, () => `slice [${lo}, ${hi}) out of bound [${first}, ${last}]`);
    if (lo === hi) return [];
    let ents: Entry[] = [];
    const uo = this.unstable.offset;
    if (lo < uo) {
      const stored = this.storage.entries(lo, minBigint(hi, uo), maxSize);
      // Storage cut short by the size limit: return what we have.
      if (BigInt(stored.length) < minBigint(hi, uo) - lo) return stored;
      ents = stored;
    }
    if (hi > uo) {
      const un = this.unstable.slice(maxBigint(lo, uo), hi);
      ents = ents.length > 0 ? ents.concat(un) : un;
    }
    return limitSize(ents, maxSize);
  }

  /** Replaces the log by a snapshot (the follower will persist it). */
  restore(s: Snapshot): void {
    const { index } = snapshotIndexTerm(s);
    invariant(index >= this.committed, () => `snapshot ${index} is older than committed ${this.committed}`);
    if (this.persisted > index) this.persisted = index;
    this.committed = index;
    this.unstable.restore(s);
    this.#confIndexes = [];
  }

  /** Sum of the entry sizes, for uncommitted-size accounting. */
  static sizeOf(ents: Entry[]): number {
    let n = 0;
    for (const e of ents) n += entrySizeBytes(e);
    return n;
  }
}
