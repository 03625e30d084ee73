import { Key, bytesEqual, compareBytes } from '@tikv-ts/codec';
import { kvrpcpb } from '@tikv-ts/proto';
import { KeyIsLockedError, WriteConflictError } from '../errors';
import { Lock, TS_MAX } from '../txn-types';
import type { MvccReader } from './reader';

/** How a read treats locks (TiKV's isolation level plus the bypass and access sets). */
export interface ReadOptions {
  /** Read ts. */
  readonly ts: bigint;
  /**
   * `kvrpcpb.IsolationLevel`: SI checks locks; RC reads the latest committed data at `ts`;
   * RCCheckTS is RC that fails on a lock with a write conflict. Default SI.
   */
  readonly isolationLevel?: kvrpcpb.IsolationLevel;
  /** Start ts of transactions whose locks may be ignored (known rolled back or committed later). */
  readonly bypassLocks?: readonly bigint[];
  /** Start ts of transactions known committed: their locks' values are read. */
  readonly accessLocks?: readonly bigint[];
}

/**
 * Whether `lock` on `key` blocks a read at `ts` (TiKV `check_ts_conflict`). Snapshot isolation:
 * locks of type Lock and pessimistic locks never block; locks newer than `ts`, with a
 * `min_commit_ts > ts`, or in `bypass` do not block; a read at the max ts ignores the lock of a
 * primary key that is not async-commit or 1PC; others give `KeyIsLockedError`. RCCheckTS: any
 * Put/Delete lock not in `bypass` gives a `WriteConflictError` (reason RcCheckTs), so the reader
 * retries with a fresh ts. RC: never. Returns the error to throw, or undefined.
 */
export function checkLockConflict(
  lock: Lock,
  rawKey: Uint8Array,
  ts: bigint,
  bypass: readonly bigint[] | undefined,
  isolationLevel: kvrpcpb.IsolationLevel = kvrpcpb.IsolationLevel.SI,
): KeyIsLockedError | WriteConflictError | undefined {
  if (isolationLevel === kvrpcpb.IsolationLevel.RCCheckTS) {
    if (lock.lockType === 'lock' || lock.lockType === 'pessimistic') return undefined;
    if (bypass?.includes(lock.ts) === true) return undefined;
    return new WriteConflictError(ts, lock.ts, 0n, rawKey, lock.primary, kvrpcpb.WriteConflict_Reason.RcCheckTs);
  }
  if (isolationLevel !== kvrpcpb.IsolationLevel.SI) return undefined;
  if (lock.ts > ts || lock.lockType === 'lock' || lock.lockType === 'pessimistic') return undefined;
  if (lock.minCommitTs > ts) return undefined;
  if (bypass?.includes(lock.ts) === true) return undefined;
  if (ts === TS_MAX && bytesEqual(rawKey, lock.primary) && !lock.useAsyncCommit && !lock.useOnePc) return undefined;
  return new KeyIsLockedError(lock.toLockInfo(rawKey));
}

/** Whether reads at this isolation level check locks. */
export function checksLocks(isolationLevel: kvrpcpb.IsolationLevel | undefined): boolean {
  return isolationLevel === undefined || isolationLevel !== kvrpcpb.IsolationLevel.RC;
}

/**
 * The value of a lock whose transaction is known to be committed (`committed_locks`): its
 * value for Put, undefined for Delete, and `'none'` for Lock/pessimistic (read committed data).
 */
async function valueFromLock(reader: MvccReader, key: Key, lock: Lock): Promise<Uint8Array | undefined | 'none'> {
  switch (lock.lockType) {
    case 'put': {
      if (lock.shortValue !== undefined) return lock.shortValue;
      return reader.snapshot.get('default', key.appendTs(lock.ts).asEncoded());
    }
    case 'delete':
      return undefined;
    case 'lock':
    case 'pessimistic':
      return 'none';
    default: {
      const never: never = lock.lockType;
      throw new TypeError(`Unknown lock type ${String(never)}`);
    }
  }
}

/**
 * Reads the value of user keys at a ts (TiKV `PointGetter`): checks the key's lock, then finds
 * the newest visible Put/Delete with one seek.
 *
 * @throws KeyIsLockedError when a lock blocks the read
 */
export async function pointGet(
  reader: MvccReader,
  rawKey: Uint8Array,
  options: ReadOptions,
): Promise<{ value: Uint8Array; commitTs: bigint } | undefined> {
  const key = Key.fromRaw(rawKey);
  const iso = options.isolationLevel ?? kvrpcpb.IsolationLevel.SI;
  // The lock and the newest version are read concurrently (two engine reads in flight).
  const writeP = reader.getWrite(key, options.ts);
  if (checksLocks(iso)) {
    let lock: Lock | undefined;
    try {
      lock = await reader.loadLock(key);
    } catch (e: unknown) {
      await writeP.catch(() => undefined);
      throw e;
    }
    if (lock !== undefined) {
      const err = checkLockConflict(lock, rawKey, options.ts, options.bypassLocks, iso);
      if (err !== undefined) {
        await writeP.catch(() => undefined);
        if (options.accessLocks?.includes(lock.ts) === true) {
          const v = await valueFromLock(reader, key, lock);
          if (v !== 'none') return v === undefined ? undefined : { value: v, commitTs: 0n };
        } else {
          throw err;
        }
      }
    }
  }
  const found = await writeP;
  if (found === undefined || found.write.writeType === 'delete') return undefined;
  return { value: await reader.loadData(key, found.write), commitTs: found.commitTs };
}

/** Versions stepped over with next/prev before a scan seeks to the next user key. */
const SKIP_STEPS = 4;

/** Options of {@link scanKeys}. */
export interface ScanOptions extends ReadOptions {
  /** Inclusive lower bound (user key); absent or empty = unbounded. */
  readonly lowerBound?: Uint8Array;
  /** Exclusive upper bound (user key); absent or empty = unbounded. */
  readonly upperBound?: Uint8Array;
  /** Descending order, from just below `upperBound`. */
  readonly reverse?: boolean;
  /** Return empty values. */
  readonly keyOnly?: boolean;
  /** At most this many pairs (0 = no limit). */
  readonly limit?: number;
}

/** One result of a scan: a pair, or the lock error of a key (TiKV reports per-key errors). */
export type ScanEntry =
  | { readonly key: Uint8Array; readonly value: Uint8Array; readonly error?: undefined }
  | { readonly key: Uint8Array; readonly error: KeyIsLockedError };

/**
 * Scans user keys at a ts (TiKV `Scanner`): merges the lock and write column families by user
 * key, checks each lock (locks count towards `limit` and are returned as per-key errors, as TiKV's
 * KvScan does), and returns the newest visible Put of each key. Forward or reverse, bounded,
 * key-only, limited.
 */
export async function scanKeys(reader: MvccReader, options: ScanOptions): Promise<ScanEntry[]> {
  const snap = reader.snapshot;
  const bounds: { lowerBound?: Uint8Array; upperBound?: Uint8Array } = {};
  if (options.lowerBound !== undefined && options.lowerBound.length > 0) {
    bounds.lowerBound = Key.fromRaw(options.lowerBound).asEncoded();
  }
  if (options.upperBound !== undefined && options.upperBound.length > 0) {
    bounds.upperBound = Key.fromRaw(options.upperBound).asEncoded();
  }
  const reverse = options.reverse === true;
  const limit = options.limit ?? 0;
  const iso = options.isolationLevel ?? kvrpcpb.IsolationLevel.SI;
  const checkLocks = checksLocks(iso);
  const lockIt = snap.iterator('lock', bounds);
  const writeIt = snap.iterator('write', bounds);
  const out: ScanEntry[] = [];
  try {
    let lockValid = checkLocks ? await (reverse ? lockIt.seekToLast() : lockIt.seekToFirst()) : false;
    let writeValid = await (reverse ? writeIt.seekToLast() : writeIt.seekToFirst());
    while (limit === 0 || out.length < limit) {
      const lk = lockValid ? lockIt.key() : undefined;
      const wk = writeValid ? Key.truncateTsFor(writeIt.key()) : undefined;
      let user: Uint8Array;
      if (lk === undefined && wk === undefined) break;
      if (lk === undefined) user = (wk as Uint8Array).slice();
      else if (wk === undefined) user = lk.slice();
      else {
        const c = compareBytes(lk, wk);
        user = (reverse ? c >= 0 : c <= 0) ? lk.slice() : wk.slice();
      }
      const key = Key.fromEncoded(user);
      const rawKey = key.toRaw();
      let handled = false;
      if (lk !== undefined && bytesEqual(lk, user)) {
        const lock = Lock.parse(lockIt.value());
        const err = checkLockConflict(lock, rawKey, options.ts, options.bypassLocks, iso);
        if (err !== undefined) {
          if (options.accessLocks?.includes(lock.ts) === true) {
            const v = await valueFromLock(reader, key, lock);
            if (v !== 'none') {
              if (v !== undefined) out.push({ key: rawKey, value: options.keyOnly === true ? new Uint8Array(0) : v });
              handled = true;
            }
          } else if (err instanceof KeyIsLockedError) {
            out.push({ key: rawKey, error: err });
            handled = true;
          } else {
            throw err;
          }
        }
        lockValid = await (reverse ? lockIt.prev() : lockIt.next());
      }
      if (wk !== undefined && bytesEqual(wk, user)) {
        if (!handled) {
          const found = await reader.getWrite(key, options.ts);
          if (found !== undefined && found.write.writeType === 'put') {
            const value = options.keyOnly === true ? new Uint8Array(0) : await reader.loadData(key, found.write);
            out.push({ key: rawKey, value });
          }
        }
        // Move past every version of this user key: step a few times (cheap, buffered), then seek.
        let steps = 0;
        while (writeValid && Key.isUserKeyEq(writeIt.key(), user) && steps < SKIP_STEPS) {
          writeValid = await (reverse ? writeIt.prev() : writeIt.next());
          steps++;
        }
        if (writeValid && Key.isUserKeyEq(writeIt.key(), user)) {
          if (reverse) {
            writeValid = await writeIt.seekForPrev(key.appendTs(0xffff_ffff_ffff_ffffn).asEncoded());
            if (writeValid && Key.isUserKeyEq(writeIt.key(), user)) writeValid = await writeIt.prev();
          } else {
            writeValid = await writeIt.seek(key.appendTs(0n).asEncoded());
            if (writeValid && Key.isUserKeyEq(writeIt.key(), user)) writeValid = await writeIt.next();
          }
        }
      }
    }
    return out;
  } finally {
    lockIt.close();
    writeIt.close();
  }
}
