import type { eraftpb, raft_serverpb } from '@tikv-ts/proto';
import { TikvError } from '@tikv-ts/util';

/**
 * One Raft log entry: `eraftpb.Entry` of `@tikv-ts/proto`. Engines return objects they may share
 * with their caches: callers must not mutate an entry (or its byte arrays) they passed to
 * {@link RaftLogBatch.append} or got back from a read.
 */
export type RaftEntry = eraftpb.Entry;

/** `eraftpb.HardState`: the Raft state that must be durable before messages are sent. */
export type RaftHardState = eraftpb.HardState;

/**
 * Per-region Raft state: `raft_serverpb.RaftLocalState`, the hard state and the index of the last
 * entry in the region's log as raftstore persisted it.
 */
export type RaftLocalState = raft_serverpb.RaftLocalState;

/**
 * A set of changes to many regions' logs and states, applied by {@link RaftEngine.write}
 * atomically (all of it is visible after a crash or none of it) and in the order the calls were
 * made. Created by {@link RaftEngine.logBatch}; a batch belongs to the engine that made it.
 * Not safe to change while a write of it is in progress.
 */
export interface RaftLogBatch {
  /**
   * Appends entries to a region's log. `entries` must have consecutive increasing indexes.
   * Existing entries at or after the first new index are replaced (a conflicting tail is cut).
   * When the first new index is below the region's first index, or past its last index + 1,
   * the region's whole log is replaced by `entries` (this is how a snapshot's log restarts).
   * The engine takes ownership of the entry objects; do not mutate them afterwards.
   * @throws RangeError when the indexes are not consecutive
   */
  append(regionId: bigint, entries: readonly RaftEntry[]): void;
  /** Removes the region's entries with index >= `fromIndex` (cuts the log after `fromIndex - 1`). */
  cutLogs(regionId: bigint, fromIndex: bigint): void;
  /**
   * Removes the region's entries with index < `index` (log compaction / gc). Compacting past the
   * last index removes every entry; later reads below `index` report {@link EntryCompactedError}.
   */
  compactTo(regionId: bigint, index: bigint): void;
  /** Stores the region's Raft state, replacing the previous one. */
  putRaftState(regionId: bigint, state: RaftLocalState): void;
  /** Removes the region's Raft state. */
  removeRaftState(regionId: bigint): void;
  /** True when no change was added since creation or the last {@link clear}. */
  isEmpty(): boolean;
  /** Approximate encoded size in bytes of the changes added so far. */
  persistSizeBytes(): number;
  /** Drops every change so that the batch can be reused. */
  clear(): void;
}

/** Options of {@link RaftEngine.write}. */
export interface RaftWriteOptions {
  /**
   * When true the returned promise resolves only after the batch (and every batch written before
   * it) is durable (fdatasync). Engines may carry many concurrent synced batches on one fsync.
   */
  sync?: boolean;
}

/** The range and limit of {@link RaftEngine.fetchEntriesTo}. */
export interface FetchEntriesRange {
  /** First index to return (inclusive). */
  low: bigint;
  /** End of the range (exclusive). */
  high: bigint;
  /**
   * Stop before the entry that would make the total encoded size exceed this many bytes; at least
   * one entry is always returned when the range is not empty. No limit when absent.
   */
  maxSizeBytes?: number;
}

/**
 * Storage for Raft logs and Raft states of many regions (TiKV's engine_traits RaftEngine),
 * separate from the key-value engine. Reads see every write whose promise has resolved, whether
 * or not it was synced. Every method rejects with {@link RaftEngineClosedError} after
 * {@link close}.
 */
export interface RaftEngine {
  /** A new empty batch for {@link write}. */
  logBatch(): RaftLogBatch;
  /**
   * Applies a batch atomically. Batches are applied in the order `write` was called. The batch is
   * not changed; clear it before reusing it.
   * @returns the number of bytes written to storage for this batch
   * @throws RaftEngineClosedError when the engine is (or gets) closed before the batch is written
   */
  write(batch: RaftLogBatch, options?: RaftWriteOptions): Promise<number>;
  /**
   * Entries of `[range.low, range.high)` in index order, limited by `range.maxSizeBytes`.
   * @throws EntryCompactedError when `low` is below the region's first index (or below the
   *   index it was compacted to)
   * @throws EntryUnavailableError when `high` is past the region's last index + 1
   * @throws RaftEngineCorruptionError when stored bytes fail their checksum or cannot be decoded
   */
  fetchEntriesTo(regionId: bigint, range: FetchEntriesRange): Promise<RaftEntry[]>;
  /** The entry at `index`, or undefined when the region's log does not hold it. */
  getEntry(regionId: bigint, index: bigint): Promise<RaftEntry | undefined>;
  /** Index of the region's first entry, or undefined when its log is empty. */
  firstIndex(regionId: bigint): Promise<bigint | undefined>;
  /** Index of the region's last entry, or undefined when its log is empty. */
  lastIndex(regionId: bigint): Promise<bigint | undefined>;
  /** The region's Raft state, or undefined when none is stored. */
  getRaftState(regionId: bigint): Promise<RaftLocalState | undefined>;
  /** Shorthand for a batch holding one {@link RaftLogBatch.compactTo}, written without sync. */
  compactTo(regionId: bigint, index: bigint): Promise<void>;
  /** Makes every write made so far durable. */
  sync(): Promise<void>;
  /**
   * Frees storage that no region needs any more (TiKV's `purge_expired_files`). Safe to call at
   * any time; data stays the same.
   * @returns ids of regions whose old entries hold storage back (raftstore may compact their logs
   *   so that a later purge frees it), ascending; engines without such a notion return `[]`
   */
  purgeExpiredFiles(): Promise<bigint[]>;
  /** Approximate bytes of storage in use (files on disk, or memory for in-memory engines). */
  approximateSizeBytes(): Promise<number>;
  /** Ids of the regions holding entries or a Raft state, ascending. */
  regionIds(): Promise<bigint[]>;
  /**
   * Waits for writes in progress, then releases every resource. Idempotent. Later calls on the
   * engine reject with {@link RaftEngineClosedError}.
   */
  close(): Promise<void>;
}

/** The engine was closed (or stopped after a fatal I/O error, given as `cause`). */
export class RaftEngineClosedError extends TikvError {
  readonly code = 'KV:RaftEngine:Closed';
  constructor(message = 'Raft engine is closed', options?: ErrorOptions) {
    super(message, options);
  }
}

/** The requested entries were removed by log compaction (`raft::Error::Store(Compacted)`). */
export class EntryCompactedError extends TikvError {
  readonly code = 'KV:RaftEngine:EntryCompacted';
  constructor(
    readonly regionId: bigint,
    readonly index: bigint,
    readonly firstIndex: bigint,
  ) {
    super(`Entry ${index} of region ${regionId} is compacted; the log starts at ${firstIndex}`);
  }
}

/** The requested entries are past the end of the log (`raft::Error::Store(Unavailable)`). */
export class EntryUnavailableError extends TikvError {
  readonly code = 'KV:RaftEngine:EntryUnavailable';
  constructor(
    readonly regionId: bigint,
    readonly index: bigint,
    readonly lastIndex: bigint | undefined,
  ) {
    super(
      `Entry ${index} of region ${regionId} is unavailable; ` +
        (lastIndex === undefined ? 'the log is empty' : `the log ends at ${lastIndex}`),
    );
  }
}

/** Stored data failed a checksum or could not be decoded. `path` names the file when known. */
export class RaftEngineCorruptionError extends TikvError {
  readonly code = 'KV:RaftEngine:Corruption';
  constructor(
    message: string,
    readonly path?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
