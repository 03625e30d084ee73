import type { CfName } from './cf';

// Capability interfaces of a key-value engine, named as TiKV's engine_traits crate names them
// (Peekable, Iterable, SyncMutable, WriteBatch, Snapshot, KvEngine, EngineIterator). Every engine
// (engine-rocks, engine-memory) has exactly these semantics; the conformance suite in
// `@tikv-ts/engine-traits/testing` checks them.
//
// Common rules for every method below:
// - Keys and values are byte arrays (`Uint8Array`, a Node `Buffer` is one). Keys are ordered
//   bytewise (unsigned lexicographic, a proper prefix first): RocksDB's default comparator and the
//   order of `compareBytes` in `@tikv-ts/codec`. The empty key and the empty value are legal.
// - Ownership: arrays passed to a write (`put`, `delete`, `deleteRange`, or added to a
//   `WriteBatch`) must not be mutated until that write's promise settles; after that the engine
//   holds its own copy. Arrays an engine returns may be read but must not be mutated (engines may
//   share them with their own storage).
// - Ranges are half open: `[start, end)`; a range whose end is not above its start is empty.
// - Anything done on a closed engine (or on a snapshot or iterator of one) rejects or throws
//   `EngineClosedError`; storage failures are `EngineIoError`. A column family name that is not a
//   `CfName` is a programmer error (TypeError).
// - Concurrency: one Node.js thread; calls may overlap freely (several writes, reads and
//   iterators in flight). Writes are applied in the order their `write` calls were made.

/** A key and its value, as returned by scans and chunked iteration. */
export interface KvEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** Options of a write (a `WriteBatch.write` or a `SyncMutable` call). */
export interface WriteOptions {
  /**
   * When true, the write is durable (fsync'd: it survives a machine crash, not only a process
   * crash) before the returned promise resolves. When false (the default) it survives a process
   * crash (SIGKILL) but may be lost on power failure. Either way it is atomic.
   */
  readonly sync?: boolean;
}

/** Options of an iterator. */
export interface IterOptions {
  /** Inclusive lower bound: the iterator never yields a key below it. Absent: no bound. */
  readonly lowerBound?: Uint8Array;
  /** Exclusive upper bound: the iterator never yields a key at or above it. Absent: no bound. */
  readonly upperBound?: Uint8Array;
  /** Whether blocks read by the iterator should populate the block cache (default true). */
  readonly fillCache?: boolean;
}

/** Options of {@link Iterable.scan}. */
export interface ScanOptions extends IterOptions {
  /** Yield keys in descending order, from just below `upperBound`. Default false. */
  readonly reverse?: boolean;
  /** At most this many entries (a non-negative integer). Default: no limit. */
  readonly limit?: number;
}

/** Approximate size of a key range, for split decisions. */
export interface RangeStats {
  /** Approximate bytes of keys and values in the range (0 when the range is empty). */
  readonly sizeBytes: number;
  /** Approximate number of keys in the range. */
  readonly keys: number;
}

/** Point reads. */
export interface Peekable {
  /**
   * The value of `key` in `cf`, or `undefined` if the key does not exist.
   * Reads the latest committed state (an engine), or the snapshot's point in time (a snapshot).
   */
  get(cf: CfName, key: Uint8Array): Promise<Uint8Array | undefined>;
  /**
   * The values of many keys of one column family, read at one point in time, in the order of
   * `keys` (`undefined` for a missing key). Faster than many `get` calls.
   */
  multiGet(cf: CfName, keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]>;
}

/** Ordered reads. */
export interface Iterable {
  /**
   * A new iterator over `cf`, positioned nowhere (`valid()` is false) until a seek. An iterator
   * made from an engine reads the state at the moment `iterator` is called (it pins an implicit
   * snapshot), one made from a snapshot reads the snapshot's state. Close it with `close()`
   * when done: an open iterator holds resources (and, for an engine, old versions of data).
   */
  iterator(cf: CfName, options?: IterOptions): EngineIterator;
  /**
   * Every entry of `cf` within the bounds, in ascending key order (descending when `reverse`),
   * at most `limit` of them. Reads one point in time. Equivalent to an iterator with the same
   * bounds walked to the end, but faster.
   */
  scan(cf: CfName, options?: ScanOptions): Promise<KvEntry[]>;
}

/**
 * A cursor over one column family within optional bounds, in both directions (RocksDB's
 * iterator semantics). Positioning calls are asynchronous (they may read storage) and resolve to
 * `valid()`; `key()`/`value()` are synchronous reads of the current entry. Only one positioning
 * call may be in flight at a time (a second one throws). After `close()` every call throws
 * `EngineClosedError`; closing twice is a no-op.
 */
export interface EngineIterator {
  /** Positions at the first key `>= key` (and `>= lowerBound`); invalid if there is none below `upperBound`. */
  seek(key: Uint8Array): Promise<boolean>;
  /** Positions at the last key `<= key` (and `< upperBound`); invalid if there is none at or above `lowerBound`. */
  seekForPrev(key: Uint8Array): Promise<boolean>;
  /** Positions at the first key within the bounds. */
  seekToFirst(): Promise<boolean>;
  /** Positions at the last key within the bounds. */
  seekToLast(): Promise<boolean>;
  /**
   * Moves to the next key. Precondition: `valid()` (otherwise throws a plain Error: a
   * programmer error, as in RocksDB).
   */
  next(): Promise<boolean>;
  /** Moves to the previous key. Precondition: `valid()`. */
  prev(): Promise<boolean>;
  /** Whether the iterator is positioned at an entry. */
  valid(): boolean;
  /** The current key. Precondition: `valid()`. The array must not be mutated. */
  key(): Uint8Array;
  /** The current value. Precondition: `valid()`. The array must not be mutated. */
  value(): Uint8Array;
  /**
   * Chunked forward iteration: returns the current entry and the ones after it, at most `limit`
   * entries (`limit >= 1`), and leaves the iterator on the entry after the last one returned
   * (invalid at the end). Returns `[]` when not valid.
   */
  nextv(limit: number): Promise<KvEntry[]>;
  /** Chunked reverse iteration: like {@link nextv} moving with `prev`. */
  prevv(limit: number): Promise<KvEntry[]>;
  /** Releases the iterator. Idempotent. */
  close(): void;
}

/**
 * Writes without a batch (TiKV's SyncMutable: "sync" there means "not batched", not fsync).
 * Each call is one atomic write, ordered with every other write of the engine.
 */
export interface SyncMutable {
  /** Sets `key` to `value` in `cf`. */
  put(cf: CfName, key: Uint8Array, value: Uint8Array, options?: WriteOptions): Promise<void>;
  /** Removes `key` from `cf` (no-op if absent). */
  delete(cf: CfName, key: Uint8Array, options?: WriteOptions): Promise<void>;
  /** Removes every key in `[start, end)` of `cf`. */
  deleteRange(cf: CfName, start: Uint8Array, end: Uint8Array, options?: WriteOptions): Promise<void>;
}

/**
 * A set of mutations over any column families, applied atomically by `write`: after a crash or
 * to any reader, either all of them are visible or none. Mutations apply in the order they were
 * added (a later put of the same key wins; a delete range removes keys put earlier in the batch).
 * A batch belongs to the engine that made it. It may be written again after `clear()` or reused
 * as is (writing the same mutations again).
 */
export interface WriteBatch {
  /** Adds a put. The batch may keep `key` and `value` by reference until `write` settles: do not mutate them before. */
  put(cf: CfName, key: Uint8Array, value: Uint8Array): void;
  /** Adds a delete. */
  delete(cf: CfName, key: Uint8Array): void;
  /** Adds a delete of every key in `[start, end)` of `cf`, ordered with the other mutations. */
  deleteRange(cf: CfName, start: Uint8Array, end: Uint8Array): void;
  /** Number of mutations added since creation or the last `clear()`. */
  count(): number;
  /** Whether `count() === 0`. */
  isEmpty(): boolean;
  /** Bytes of keys and values added (a cheap measure for batch size limits). */
  dataSize(): number;
  /** Removes every mutation. Must not be called while a `write` of this batch is in flight. */
  clear(): void;
  /**
   * Applies the mutations atomically, after every write that started before it. An empty batch
   * is a no-op (with `sync`, it still waits until earlier writes are durable).
   *
   * @throws EngineClosedError if the engine is closed (nothing was written)
   * @throws EngineIoError if storage failed (nothing was written)
   */
  write(options?: WriteOptions): Promise<void>;
}

/**
 * A consistent read view: every read through it sees the engine as it was when the snapshot was
 * taken, across all column families, unaffected by later writes. Release it with `close()`;
 * an open snapshot keeps old versions of data alive.
 */
export interface Snapshot extends Peekable, Iterable {
  /** Releases the snapshot. Iterators made from it keep working until they are closed. Idempotent. */
  close(): void;
}

/**
 * A key-value engine with the column families of {@link ALL_CFS}. See the rules at the top of
 * this file for ordering, ownership, errors and concurrency.
 */
export interface KvEngine extends Peekable, Iterable, SyncMutable {
  /** A new empty write batch of this engine. */
  writeBatch(): WriteBatch;
  /** A snapshot of the current state (cheap: no data is copied). */
  snapshot(): Snapshot;
  /**
   * Approximate size and key count of `[start, end)` in `cf`, including recent writes not yet
   * flushed. For split decisions: may over- or under-count, never throws on an empty range.
   */
  approximateRangeStats(cf: CfName, start: Uint8Array, end: Uint8Array): Promise<RangeStats>;
  /**
   * Manual compaction of `[start, end)` of `cf` (absent bounds: the whole column family), so
   * deleted data stops taking space. Resolves when done. Reads are unaffected.
   */
  compactRange(cf: CfName, start?: Uint8Array, end?: Uint8Array): Promise<void>;
  /** Flushes in-memory writes of `cf` (all column families when absent) to storage files. */
  flush(cf?: CfName): Promise<void>;
  /** Makes every write acknowledged so far durable, as if it had been written with `sync`. */
  syncWal(): Promise<void>;
  /**
   * Closes the engine: waits for writes in flight, releases snapshots and iterators, and makes
   * every later call fail with `EngineClosedError`. Idempotent.
   */
  close(): Promise<void>;
  /** Whether `close()` has been called. */
  readonly isClosed: boolean;
}
