import type { Key } from '@tikv-ts/codec';
import type { KeyHandleGuard } from '@tikv-ts/concurrency-manager';
import type { Modify } from '../engine';
import type { Lock, Write } from '../txn-types';

/** A lock this command removed (so the lock manager can wake waiters on it). */
export interface ReleasedLock {
  /** Start ts of the transaction whose lock was released. */
  readonly startTs: bigint;
  /** Encoded key. */
  readonly key: Uint8Array;
  /** Whether the released lock was a pessimistic lock. */
  readonly pessimistic: boolean;
}

/**
 * The writes of one transactional command (TiKV `MvccTxn`): modifies to apply atomically, the
 * locks it released, and the lock-table guards that keep its async-commit/1PC locks visible in
 * memory until the modifies are written.
 */
export class MvccTxn {
  readonly startTs: bigint;
  readonly modifies: Modify[] = [];
  readonly released: ReleasedLock[] = [];
  readonly guards: KeyHandleGuard<Lock>[] = [];
  /** Bytes of keys and values written, for flow control and batching. */
  writeSize = 0;

  constructor(startTs: bigint) {
    this.startTs = startTs;
  }

  #push(m: Modify): void {
    this.modifies.push(m);
    this.writeSize += m.type === 'put' ? m.key.length + m.value.length : m.type === 'delete' ? m.key.length : 0;
  }

  putLock(key: Key, lock: Lock): void {
    this.#push({ type: 'put', cf: 'lock', key: key.asEncoded(), value: lock.toBytes() });
  }

  /** Removes the lock of `key` (which belonged to `lock`). */
  unlockKey(key: Key, lock: Lock): void {
    this.#push({ type: 'delete', cf: 'lock', key: key.asEncoded() });
    this.released.push({ startTs: lock.ts, key: key.asEncoded(), pessimistic: lock.lockType === 'pessimistic' });
  }

  putValue(key: Key, ts: bigint, value: Uint8Array): void {
    this.#push({ type: 'put', cf: 'default', key: key.appendTs(ts).asEncoded(), value });
  }

  deleteValue(key: Key, ts: bigint): void {
    this.#push({ type: 'delete', cf: 'default', key: key.appendTs(ts).asEncoded() });
  }

  putWrite(key: Key, ts: bigint, write: Write): void {
    this.#push({ type: 'put', cf: 'write', key: key.appendTs(ts).asEncoded(), value: write.toBytes() });
  }

  deleteWrite(key: Key, ts: bigint): void {
    this.#push({ type: 'delete', cf: 'write', key: key.appendTs(ts).asEncoded() });
  }

  /** Releases the lock-table guards (after the modifies are written, or when abandoning them). */
  releaseGuards(): void {
    for (const g of this.guards) g.release();
    this.guards.length = 0;
  }
}
