import { Key, bytesEqual, keySuccessor } from '@tikv-ts/codec';
import type { CfName, EngineIterator } from '@tikv-ts/engine-traits';
import type { EngineSnapshot } from '../engine';
import { DefaultNotFoundError } from '../errors';
import { Lock, Write } from '../txn-types';

/** The outcome of looking for a transaction's commit or rollback record on a key. */
export type TxnCommitRecord =
  | { readonly kind: 'committed'; readonly commitTs: bigint; readonly write: Write }
  | { readonly kind: 'rolledBack'; readonly write: Write; readonly commitTs: bigint }
  | { readonly kind: 'overlappedRollback'; readonly commitTs: bigint }
  | {
      readonly kind: 'none';
      /** Another transaction's commit record at exactly `commit_ts == start_ts`, if any. */
      readonly overlappedWrite: { readonly commitTs: bigint; readonly write: Write } | undefined;
    };

/**
 * Reads MVCC records from one snapshot (TiKV `MvccReader`/`SnapshotReader`). Keys are
 * {@link Key}s (encoded user keys). One cursor per column family is reused, so calls must not
 * overlap (await each one). Release with {@link close}.
 */
export class MvccReader {
  readonly #snap: EngineSnapshot;
  readonly #iters = new Map<string, EngineIterator>();
  readonly #iterKeys = new Map<string, Uint8Array>();

  constructor(snap: EngineSnapshot) {
    this.#snap = snap;
  }

  /** The snapshot read from. */
  get snapshot(): EngineSnapshot {
    return this.#snap;
  }

  /**
   * A cursor over the versions of one user key only: bounds keep engines from reading ahead
   * into other keys (engine-rocks reads a chunk of entries per seek). Reused while the next call
   * is for the same key.
   */
  #iter(cf: CfName, key: Key): EngineIterator {
    const cacheKey = `${cf}`;
    const enc = key.asEncoded();
    const cached = this.#iters.get(cacheKey);
    if (cached !== undefined && this.#iterKeys.get(cacheKey) !== undefined && bytesEqual(this.#iterKeys.get(cacheKey) as Uint8Array, enc)) {
      return cached;
    }
    cached?.close();
    const it = this.#snap.iterator(cf, { lowerBound: enc, upperBound: keySuccessor(key.appendTs(0n).asEncoded()) });
    this.#iters.set(cacheKey, it);
    this.#iterKeys.set(cacheKey, enc);
    return it;
  }

  /** The lock on `key`, if any. */
  async loadLock(key: Key): Promise<Lock | undefined> {
    const v = await this.#snap.get('lock', key.asEncoded());
    return v === undefined ? undefined : Lock.parse(v);
  }

  /** The newest write record of `key` with commit ts `<= ts` (of any type), with one seek. */
  async seekWrite(key: Key, ts: bigint): Promise<{ commitTs: bigint; write: Write } | undefined> {
    const it = this.#iter('write', key);
    if (!(await it.seek(key.appendTs(ts).asEncoded()))) return undefined;
    const k = it.key();
    if (!Key.isUserKeyEq(k, key.asEncoded())) return undefined;
    return { commitTs: Key.decodeTsFrom(k), write: Write.parse(it.value()) };
  }

  /**
   * The newest Put or Delete record of `key` with commit ts `<= ts`, skipping Lock and Rollback
   * records: one seek, then `next` over older versions. `gcFenceLimit` aside, as TiKV's
   * `get_write`.
   */
  async getWrite(key: Key, ts: bigint): Promise<{ commitTs: bigint; write: Write } | undefined> {
    const it = this.#iter('write', key);
    const enc = key.asEncoded();
    let valid = await it.seek(key.appendTs(ts).asEncoded());
    while (valid) {
      const k = it.key();
      if (!Key.isUserKeyEq(k, enc)) return undefined;
      const write = Write.parse(it.value());
      if (write.writeType === 'put' || write.writeType === 'delete') {
        return { commitTs: Key.decodeTsFrom(k), write };
      }
      valid = await it.next();
    }
    return undefined;
  }

  /** The value a Put record refers to: its short value, or the value in CF default. */
  async loadData(key: Key, write: Write): Promise<Uint8Array> {
    if (write.shortValue !== undefined) return write.shortValue;
    const v = await this.#snap.get('default', key.appendTs(write.startTs).asEncoded());
    if (v === undefined) throw new DefaultNotFoundError(key.toRaw(), write.startTs);
    return v;
  }

  /**
   * Whether the transaction that started at `startTs` committed or was rolled back on `key`
   * (TiKV `get_txn_commit_record`): walks write records with commit ts `>= startTs`, newest first.
   */
  async getTxnCommitRecord(key: Key, startTs: bigint): Promise<TxnCommitRecord> {
    const it = this.#iter('write', key);
    const enc = key.asEncoded();
    let valid = await it.seek(key.appendTs(0xffff_ffff_ffff_ffffn).asEncoded());
    let overlapped: { commitTs: bigint; write: Write } | undefined;
    while (valid) {
      const k = it.key();
      if (!Key.isUserKeyEq(k, enc)) break;
      const commitTs = Key.decodeTsFrom(k);
      if (commitTs < startTs) break;
      const write = Write.parse(it.value());
      if (write.startTs === startTs) {
        if (write.writeType === 'rollback') return { kind: 'rolledBack', write, commitTs };
        return { kind: 'committed', commitTs, write };
      }
      if (commitTs === startTs) {
        if (write.hasOverlappedRollback) return { kind: 'overlappedRollback', commitTs };
        overlapped = { commitTs, write };
      }
      valid = await it.next();
    }
    return { kind: 'none', overlappedWrite: overlapped };
  }

  /**
   * Every write record of `key`, newest first, as `[commitTs, write]` (for MVCC debugging and GC).
   */
  async scanWritesOfKey(key: Key): Promise<{ commitTs: bigint; write: Write }[]> {
    const out: { commitTs: bigint; write: Write }[] = [];
    const it = this.#iter('write', key);
    const enc = key.asEncoded();
    let valid = await it.seek(enc);
    while (valid) {
      const k = it.key();
      if (!Key.isUserKeyEq(k, enc)) break;
      out.push({ commitTs: Key.decodeTsFrom(k), write: Write.parse(it.value()) });
      valid = await it.next();
    }
    return out;
  }

  /** Every value of `key` in CF default, newest start ts first. */
  async scanValuesOfKey(key: Key): Promise<{ startTs: bigint; value: Uint8Array }[]> {
    const out: { startTs: bigint; value: Uint8Array }[] = [];
    const it = this.#iter('default', key);
    const enc = key.asEncoded();
    let valid = await it.seek(enc);
    while (valid) {
      const k = it.key();
      if (!Key.isUserKeyEq(k, enc)) break;
      out.push({ startTs: Key.decodeTsFrom(k), value: it.value() });
      valid = await it.next();
    }
    return out;
  }

  /**
   * Locks with keys in `[start, end)` (encoded keys; absent = unbounded) accepted by `filter`, at
   * most `limit` (0 = no limit), in key order. `hasMore` tells whether the limit stopped the scan.
   */
  async scanLocks(
    start: Uint8Array | undefined,
    end: Uint8Array | undefined,
    filter: (key: Key, lock: Lock) => boolean,
    limit: number,
  ): Promise<{ locks: { key: Key; lock: Lock }[]; hasMore: boolean }> {
    const opts: { lowerBound?: Uint8Array; upperBound?: Uint8Array } = {};
    if (start !== undefined && start.length > 0) opts.lowerBound = start;
    if (end !== undefined && end.length > 0) opts.upperBound = end;
    const it = this.#snap.iterator('lock', opts);
    try {
      const locks: { key: Key; lock: Lock }[] = [];
      let valid = await it.seekToFirst();
      while (valid) {
        const key = Key.fromEncoded(it.key());
        const lock = Lock.parse(it.value());
        if (filter(key, lock)) {
          if (limit > 0 && locks.length === limit) return { locks, hasMore: true };
          locks.push({ key, lock });
        }
        valid = await it.next();
      }
      return { locks, hasMore: false };
    } finally {
      it.close();
    }
  }

  /** Finds the key of the write that transaction `startTs` left (for MvccGetByStartTs). */
  async seekTxnKeyByStartTs(startTs: bigint): Promise<Key | undefined> {
    const lit = this.#snap.iterator('lock');
    try {
      let valid = await lit.seekToFirst();
      while (valid) {
        if (Lock.parse(lit.value()).ts === startTs) return Key.fromEncoded(lit.key());
        valid = await lit.next();
      }
    } finally {
      lit.close();
    }
    const wit = this.#snap.iterator('write');
    try {
      let valid = await wit.seekToFirst();
      while (valid) {
        if (Write.parse(wit.value()).startTs === startTs) return Key.fromEncoded(Key.truncateTsFor(wit.key()));
        valid = await wit.next();
      }
    } finally {
      wit.close();
    }
    return undefined;
  }

  /** Releases the cursors (not the snapshot). */
  close(): void {
    for (const it of this.#iters.values()) it.close();
    this.#iters.clear();
    this.#iterKeys.clear();
  }
}

/** Whether two encoded user keys are equal. */
export function sameUserKey(a: Uint8Array, b: Uint8Array): boolean {
  return bytesEqual(a, b);
}
