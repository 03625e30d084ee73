import type { CfName, EngineIterator, IterOptions, KvEntry, ScanOptions } from '@tikv-ts/engine-traits';

/**
 * The region context of a request, as far as an {@link Engine} needs it (a structural subset of
 * `kvrpcpb.Context`: any `kvrpcpb.Context` can be passed). `LocalEngine` ignores it; `RaftKv`
 * uses it to find the region's peer and to check the epoch, the leadership and the term.
 */
export interface EngineContext {
  readonly regionId?: bigint;
  readonly regionEpoch?: { readonly confVer: bigint; readonly version: bigint } | undefined;
  readonly peer?: { readonly id: bigint; readonly storeId: bigint } | undefined;
  readonly term?: bigint;
  /** Read from a follower (replica read) rather than from the leader. */
  readonly replicaRead?: boolean;
  /** Stale read at a ts below the region's safe ts. */
  readonly staleRead?: boolean;
}

/** Sets `key` to `value` in `cf`. */
export interface PutModify {
  readonly type: 'put';
  readonly cf: CfName;
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** Removes `key` from `cf`. */
export interface DeleteModify {
  readonly type: 'delete';
  readonly cf: CfName;
  readonly key: Uint8Array;
}

/**
 * Removes every key of `cf` in `[startKey, endKey)`. With `notifyOnly` nothing is removed by the
 * write itself: TiKV uses that form to tell observers (the keys are removed by other means).
 */
export interface DeleteRangeModify {
  readonly type: 'deleteRange';
  readonly cf: CfName;
  readonly startKey: Uint8Array;
  readonly endKey: Uint8Array;
  readonly notifyOnly?: boolean;
}

/** One mutation of an {@link Engine.write} (TiKV's `Modify`). */
export type Modify = PutModify | DeleteModify | DeleteRangeModify;

/**
 * A consistent read view of the data of one region (or of the whole store for `LocalEngine`),
 * across every column family. Keys are *origin* keys: what storage encodes (the memcomparable
 * transactional key with its timestamp, or the raw key), without TiKV's `z` data prefix, which
 * the engine adds and removes at its boundary. Semantics of `get`, `iterator` and `scan` are
 * those of `engine-traits` (`Peekable`, `Iterable`, `EngineIterator`). Release with `close()`.
 */
export interface EngineSnapshot {
  /** The value of `key` in `cf` at the snapshot, or undefined. */
  get(cf: CfName, key: Uint8Array): Promise<Uint8Array | undefined>;
  /** A new iterator over `cf` of the snapshot; bounds are origin keys. Close it when done. */
  iterator(cf: CfName, options?: IterOptions): EngineIterator;
  /** Entries of `cf` within the bounds (origin keys), ascending (descending when `reverse`). */
  scan(cf: CfName, options?: ScanOptions): Promise<KvEntry[]>;
  /** Releases the snapshot; iterators made from it keep working until closed. Idempotent. */
  close(): void;
}

/** Options of {@link Engine.write}. */
export interface EngineWriteOptions {
  /** Aborting before the write is submitted rejects with the signal's reason and writes nothing. */
  readonly signal?: AbortSignal;
}

/**
 * What storage reads and writes through (TiKV's `Engine` trait of `tikv_kv`). `LocalEngine`
 * implements it on a single `KvEngine`; `RaftKv` (raftstore) implements it by proposing to the
 * region's Raft group. Every implementation runs the conformance suite `runEngineSuite` from
 * `@tikv-ts/storage/testing`.
 *
 * Contract:
 * - `write` applies all `modifies` atomically, in order (a later put of the same key wins), and
 *   resolves once they are durable and visible to every snapshot taken afterwards.
 * - Writes resolve in the order they were made on one engine.
 * - `snapshot` sees every write that resolved before it was called.
 * - Errors: region errors (not leader, epoch not match, ...) are typed errors of the
 *   implementation; engine failures are `EngineIoError`/`EngineClosedError`.
 */
export interface Engine {
  /** A snapshot of the region of `ctx`. */
  snapshot(ctx: EngineContext): Promise<EngineSnapshot>;
  /** Applies `modifies` atomically to the region of `ctx`. An empty list resolves at once. */
  write(ctx: EngineContext, modifies: readonly Modify[], options?: EngineWriteOptions): Promise<void>;
}

/** Approximate bytes of a list of modifies (keys and values), for flow control. */
export function modifiesSize(modifies: readonly Modify[]): number {
  let n = 0;
  for (const m of modifies) {
    switch (m.type) {
      case 'put':
        n += m.key.length + m.value.length;
        break;
      case 'delete':
        n += m.key.length;
        break;
      case 'deleteRange':
        n += m.startKey.length + m.endKey.length;
        break;
      default: {
        const never: never = m;
        throw new TypeError(`Unknown modify ${JSON.stringify(never)}`);
      }
    }
  }
  return n;
}
