/** The latch slots a command needs, and how many of them it holds (TiKV `Lock` of latches). */
export class LatchLock {
  /** Slot indexes, sorted ascending and without duplicates: acquiring in this order cannot deadlock. */
  readonly requiredSlots: readonly number[];
  /** How many of `requiredSlots` (a prefix) the command owns. */
  ownedCount = 0;

  constructor(requiredSlots: readonly number[]) {
    this.requiredSlots = requiredSlots;
  }

  /** Whether every required slot is owned. */
  acquired(): boolean {
    return this.ownedCount === this.requiredSlots.length;
  }
}

/**
 * FNV-1a hash of a key, 32 bits widened to a bigint (the latch slot and lock-wait key hash).
 * Stable across runs and processes.
 */
export function keyHash(key: Uint8Array): bigint {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key[i] as number;
    h = Math.imul(h, 0x01000193);
  }
  return BigInt(h >>> 0);
}

/**
 * Latches on key hashes (TiKV `txn::latch::Latches`): a fixed number of slots, each a FIFO queue
 * of command ids. A command owns a slot when it is at the front of its queue; it acquires its
 * slots in ascending order, so two commands never wait for each other in a cycle. Pure and
 * synchronous: the scheduler drives it.
 */
export class Latches {
  readonly #queues: number[][];
  readonly #mask: number;

  /** @param slots - number of slots, rounded up to a power of two */
  constructor(slots = 2048) {
    let n = 1;
    while (n < slots) n <<= 1;
    this.#queues = Array.from({ length: n }, () => []);
    this.#mask = n - 1;
  }

  /** The latch lock for commands touching `keys` (encoded or raw keys: only hashes matter). */
  genLock(keys: readonly Uint8Array[]): LatchLock {
    const slots = new Set<number>();
    for (const k of keys) slots.add(Number(keyHash(k) & BigInt(this.#mask)));
    return new LatchLock([...slots].sort((a, b) => a - b));
  }

  /**
   * Tries to acquire the remaining slots of `lock` for command `cid`. Returns true when all are
   * owned; otherwise `cid` is queued on the first busy slot and will be returned by
   * {@link release} of the command in front of it.
   */
  acquire(lock: LatchLock, cid: number): boolean {
    while (lock.ownedCount < lock.requiredSlots.length) {
      const q = this.#queues[lock.requiredSlots[lock.ownedCount] as number] as number[];
      if (q.length === 0) q.push(cid);
      const front = q[0];
      if (front === cid) {
        lock.ownedCount++;
        continue;
      }
      if (!q.includes(cid)) q.push(cid);
      return false;
    }
    return true;
  }

  /** Releases the slots `cid` owns; returns the command ids now at the front of those queues. */
  release(lock: LatchLock, cid: number): number[] {
    const wake: number[] = [];
    for (let i = 0; i < lock.ownedCount; i++) {
      const q = this.#queues[lock.requiredSlots[i] as number] as number[];
      if (q[0] !== cid) throw new Error(`Invariant violated: command ${cid} does not own latch slot ${lock.requiredSlots[i]}`);
      q.shift();
      const next = q[0];
      if (next !== undefined) wake.push(next);
    }
    lock.ownedCount = 0;
    return wake;
  }
}
