import { compareBytes } from '@tikv-ts/codec';

/** A lock as the lock table needs to see it: at least its start ts and min commit ts. */
export interface MemoryLock {
  /** Start ts of the transaction holding the lock. */
  readonly ts: bigint;
  /** The lock's min commit ts (0 when none). */
  readonly minCommitTs: bigint;
}

interface Entry<L extends MemoryLock> {
  readonly key: Uint8Array;
  lock: L | undefined;
  refs: number;
}

function mapKey(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/**
 * A handle on one key of the lock table (TiKV `KeyHandleGuard`). While at least one guard of a key
 * is held, the key's entry stays in the table and the lock stored through {@link setLock} is
 * visible to readers. Release it with {@link release} once the lock is in the engine (or was
 * abandoned): the entry disappears with the last guard. Releasing twice is a no-op.
 */
export class KeyHandleGuard<L extends MemoryLock> {
  readonly #table: LockTable<L>;
  readonly #entry: Entry<L>;
  #released = false;

  /** @internal */
  constructor(table: LockTable<L>, entry: Entry<L>) {
    this.#table = table;
    this.#entry = entry;
  }

  /** The encoded key this guard holds. Must not be mutated. */
  get key(): Uint8Array {
    return this.#entry.key;
  }

  /** The lock currently stored for the key, if any. */
  getLock(): L | undefined {
    return this.#entry.lock;
  }

  /** Stores (or with `undefined` clears) the in-memory lock of the key. */
  setLock(lock: L | undefined): void {
    if (this.#released) throw new Error('Invariant violated: key handle guard used after release');
    this.#entry.lock = lock;
  }

  /** Drops this guard; the entry leaves the table when its last guard is released. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#table.unref(this.#entry);
  }
}

/**
 * The in-memory lock table (TiKV `concurrency_manager::LockTable`): locks of async-commit and 1PC
 * prewrites that readers must see before they reach the engine. Keys are encoded keys (without
 * timestamp). Synchronous: JavaScript runs one task at a time, so no mutex is needed.
 */
export class LockTable<L extends MemoryLock> {
  readonly #entries = new Map<string, Entry<L>>();

  /** A guard on `key`, creating the entry if needed. */
  lockKey(key: Uint8Array): KeyHandleGuard<L> {
    const k = mapKey(key);
    let e = this.#entries.get(k);
    if (e === undefined) {
      e = { key: key.slice(), lock: undefined, refs: 0 };
      this.#entries.set(k, e);
    }
    e.refs++;
    return new KeyHandleGuard(this, e);
  }

  /** @internal */
  unref(entry: Entry<L>): void {
    entry.refs--;
    if (entry.refs === 0) this.#entries.delete(mapKey(entry.key));
  }

  /** The lock stored for `key`, if any. */
  get(key: Uint8Array): L | undefined {
    return this.#entries.get(mapKey(key))?.lock;
  }

  /**
   * Every stored lock with a key in `[start, end)` (an absent or empty bound is unbounded), in
   * key order.
   */
  range(start: Uint8Array | undefined, end: Uint8Array | undefined): { key: Uint8Array; lock: L }[] {
    const out: { key: Uint8Array; lock: L }[] = [];
    for (const e of this.#entries.values()) {
      if (e.lock === undefined) continue;
      if (start !== undefined && start.length > 0 && compareBytes(e.key, start) < 0) continue;
      if (end !== undefined && end.length > 0 && compareBytes(e.key, end) >= 0) continue;
      out.push({ key: e.key, lock: e.lock });
    }
    out.sort((a, b) => compareBytes(a.key, b.key));
    return out;
  }

  /** Number of keys in the table (with or without a stored lock). */
  get size(): number {
    return this.#entries.size;
  }

  /** Smallest start ts among stored locks, or undefined when none. */
  minLockTs(): bigint | undefined {
    let min: bigint | undefined;
    for (const e of this.#entries.values()) {
      if (e.lock !== undefined && (min === undefined || e.lock.ts < min)) min = e.lock.ts;
    }
    return min;
  }
}

/**
 * TiKV's `ConcurrencyManager`: the largest timestamp any reader has used on this node (`max_ts`)
 * and the in-memory lock table. Async commit and 1PC compute `min_commit_ts` from `max_ts + 1`
 * while their keys are guarded in the table, so a reader that bumped `max_ts` before the guard
 * either sees the memory lock or is covered by the commit ts chosen after it.
 */
export class ConcurrencyManager<L extends MemoryLock = MemoryLock> {
  #maxTs: bigint;
  readonly #table = new LockTable<L>();

  /** @param latestTs - initial max ts (TiKV initializes it from PD's TSO) */
  constructor(latestTs = 0n) {
    this.#maxTs = latestTs;
  }

  /** The current max ts. */
  maxTs(): bigint {
    return this.#maxTs;
  }

  /** Raises max ts to `ts` if it is larger (a u64 MAX ts, used for "latest" reads, is ignored). */
  updateMaxTs(ts: bigint): void {
    if (ts !== 0xffff_ffff_ffff_ffffn && ts > this.#maxTs) this.#maxTs = ts;
  }

  /** Guards on `keys`, in the given order (sort them first; duplicates get one guard each). */
  lockKeys(keys: readonly Uint8Array[]): KeyHandleGuard<L>[] {
    return keys.map((k) => this.#table.lockKey(k));
  }

  /** A guard on one key. */
  lockKey(key: Uint8Array): KeyHandleGuard<L> {
    return this.#table.lockKey(key);
  }

  /**
   * Calls `check` with the in-memory lock of `key`, if there is one. `check` throws to report a
   * conflict (e.g. `KeyIsLockedError`).
   */
  readKeyCheck(key: Uint8Array, check: (lock: L, key: Uint8Array) => void): void {
    const lock = this.#table.get(key);
    if (lock !== undefined) check(lock, key);
  }

  /** Calls `check` for every in-memory lock with a key in `[start, end)` (empty/absent: unbounded). */
  readRangeCheck(
    start: Uint8Array | undefined,
    end: Uint8Array | undefined,
    check: (lock: L, key: Uint8Array) => void,
  ): void {
    for (const { key, lock } of this.#table.range(start, end)) check(lock, key);
  }

  /** Smallest start ts of the in-memory locks (resolved ts uses it), or undefined. */
  globalMinLockTs(): bigint | undefined {
    return this.#table.minLockTs();
  }

  /** The lock table itself (for tests and diagnostics). */
  get lockTable(): LockTable<L> {
    return this.#table;
  }
}
