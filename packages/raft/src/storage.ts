import { CompactedError, SnapshotOutOfDateError, SnapshotTemporarilyUnavailableError, UnavailableError } from './errors';
import type { ConfState, Entry, HardState, Snapshot } from './util';
import { limitSize, newConfState, newEntry, newHardState, newSnapshot, NO_LIMIT, snapshotIndexTerm } from './util';

/** What Raft reads from storage when it starts: the durable hard state and membership. */
export interface RaftState {
  hardState: HardState;
  confState: ConfState;
}

/**
 * The durable log Raft reads from (etcd `Storage`, raft-rs `Storage`). The application writes
 * to it (entries, hard state, snapshots) while handling a Ready; Raft only reads. Reads are
 * synchronous. Index arguments are log indexes (u64 as bigint).
 */
export interface Storage {
  /** The hard state and conf state Raft starts from. */
  initialState(): RaftState;
  /**
   * Entries in [low, high), at most `maxSizeBytes` in total but always at least one.
   * @throws CompactedError when `low` is at or below the compacted prefix
   * @throws UnavailableError when `high` is beyond lastIndex + 1
   */
  entries(low: bigint, high: bigint, maxSizeBytes?: number): Entry[];
  /**
   * Term of entry `index`, for any index in [firstIndex - 1, lastIndex].
   * @throws CompactedError below firstIndex - 1; UnavailableError beyond lastIndex
   */
  term(index: bigint): bigint;
  /** Index of the first entry available through `entries` (older ones are in the snapshot). */
  firstIndex(): bigint;
  /** Index of the last entry (the snapshot index when the log is empty). */
  lastIndex(): bigint;
  /**
   * The most recent snapshot, to send to follower `to`. A snapshot older than `requestIndex`
   * must not be returned.
   * @throws SnapshotTemporarilyUnavailableError when it is not ready yet; Raft retries later
   */
  snapshot(requestIndex: bigint, to: bigint): Snapshot;
}

/**
 * An in-memory {@link Storage} (etcd MemoryStorage). Holds the hard state, the latest
 * snapshot and the entries after it. The application calls `append`, `setHardState`,
 * `applySnapshot` while persisting a Ready, and `createSnapshot` / `compact` when it
 * compacts its log. Not thread-safe, not durable by itself: in tests it plays the role of
 * the disk, so a "crash" keeps it and loses everything else.
 */
export class MemStorage implements Storage {
  #hardState: HardState = newHardState();
  #snapshot: Snapshot = newSnapshot(0n, 0n, newConfState());
  /** ents[0] is a dummy standing for the compacted prefix: its index and term are those of the last compacted entry. */
  #ents: Entry[] = [newEntry()];

  /** A storage whose snapshot (at index 0, term 0) holds `confState`: how a group is bootstrapped. */
  static withConfState(confState: ConfState): MemStorage {
    const s = new MemStorage();
    s.#snapshot = newSnapshot(0n, 0n, confState);
    return s;
  }

  /** Hard state, and the conf state of the latest snapshot (the application re-applies later conf changes). */
  initialState(): RaftState {
    return { hardState: { ...this.#hardState }, confState: this.#snapshot.metadata?.confState ?? newConfState() };
  }

  /** Stores the hard state. */
  setHardState(hs: HardState): void {
    this.#hardState = { ...hs };
  }

  /** The stored hard state (a copy). */
  hardState(): HardState {
    return { ...this.#hardState };
  }

  /** Replaces the conf state recorded in the current snapshot metadata (bootstrap helper). */
  setConfState(cs: ConfState): void {
    const { index, term } = snapshotIndexTerm(this.#snapshot);
    this.#snapshot = newSnapshot(index, term, cs, this.#snapshot.data);
  }

  #offset(): bigint {
    return (this.#ents[0] as Entry).index;
  }

  firstIndex(): bigint {
    return this.#offset() + 1n;
  }

  lastIndex(): bigint {
    return this.#offset() + BigInt(this.#ents.length) - 1n;
  }

  term(index: bigint): bigint {
    const off = this.#offset();
    if (index < off) throw new CompactedError(index);
    const e = this.#ents[Number(index - off)];
    if (e === undefined) throw new UnavailableError(index);
    return e.term;
  }

  entries(low: bigint, high: bigint, maxSizeBytes: number = NO_LIMIT): Entry[] {
    const off = this.#offset();
    if (low <= off) throw new CompactedError(low);
    if (high > this.lastIndex() + 1n) throw new UnavailableError(high - 1n);
    return limitSize(this.#ents.slice(Number(low - off), Number(high - off)), maxSizeBytes);
  }

  snapshot(requestIndex: bigint, _to: bigint): Snapshot {
    if ((this.#snapshot.metadata?.index ?? 0n) < requestIndex) throw new SnapshotTemporarilyUnavailableError();
    return this.#snapshot;
  }

  /**
   * Appends entries, truncating any conflicting suffix first. Entries must be contiguous and
   * start at most one past the last index; entries at or below the compacted prefix are skipped.
   */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = (entries[entries.length - 1] as Entry).index;
    if (last < first) return;
    let ents = entries;
    if (first > (ents[0] as Entry).index) ents = ents.slice(Number(first - (ents[0] as Entry).index));
    const offset = (ents[0] as Entry).index - this.#offset();
    if (offset > BigInt(this.#ents.length)) {
      throw new RangeError(`Missing log entries: last index ${this.lastIndex()}, appending at ${(ents[0] as Entry).index}`);
    }
    // Truncate in place and push: appending at the end is the common case and must not copy the log.
    this.#ents.length = Number(offset);
    for (const e of ents) this.#ents.push(e);
  }

  /**
   * Replaces the whole state by a snapshot received from the leader (every entry is dropped).
   * @throws SnapshotOutOfDateError when the snapshot is older than the current one
   */
  applySnapshot(snapshot: Snapshot): void {
    const { index, term } = snapshotIndexTerm(snapshot);
    const cur = this.#snapshot.metadata?.index ?? 0n;
    if (index < cur) throw new SnapshotOutOfDateError(index, cur);
    this.#snapshot = snapshot;
    this.#ents = [newEntry({ index, term })];
  }

  /**
   * Records a snapshot of the application state at `index` (which must be in the log) with
   * membership `confState`, and returns it. Entries stay until {@link compact}.
   * @throws SnapshotOutOfDateError when `index` is not newer than the current snapshot
   */
  createSnapshot(index: bigint, confState: ConfState, data?: Uint8Array): Snapshot {
    const cur = this.#snapshot.metadata?.index ?? 0n;
    if (index <= cur) throw new SnapshotOutOfDateError(index, cur);
    if (index > this.lastIndex()) throw new RangeError(`Snapshot index ${index} is beyond the last index ${this.lastIndex()}`);
    this.#snapshot = newSnapshot(index, this.term(index), confState, data);
    return this.#snapshot;
  }

  /**
   * Discards the entries up to and including `compactIndex`, which must be covered by the
   * current snapshot.
   * @throws CompactedError when already compacted that far; RangeError when not covered by the snapshot
   */
  compact(compactIndex: bigint): void {
    const off = this.#offset();
    if (compactIndex <= off) throw new CompactedError(compactIndex);
    const si = this.#snapshot.metadata?.index ?? 0n;
    if (compactIndex > si) throw new RangeError(`Compact index ${compactIndex} is beyond the snapshot index ${si}`);
    const i = Number(compactIndex - off);
    const dummy = newEntry({ index: compactIndex, term: (this.#ents[i] as Entry).term });
    this.#ents = [dummy, ...this.#ents.slice(i + 1)];
  }

  /** Every stored entry after the compacted prefix (for tests and inspection; do not mutate). */
  allEntries(): readonly Entry[] {
    return this.#ents.slice(1);
  }

  /** The current snapshot (metadata index/term 0 when none was taken). */
  currentSnapshot(): Snapshot {
    return this.#snapshot;
  }
}
