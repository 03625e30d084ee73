import type RocksDB from 'rocksdb-native';

interface Waiter {
  readonly resolve: (v: Buffer | null) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * Coalesces point gets on one session into one native read batch (one thread-pool round trip
 * instead of one per key). Gets are collected until the check phase of the current event-loop
 * iteration (`setImmediate`), so gets issued by different requests handled in the same poll
 * phase (e.g. many unary RPCs read from one socket read) share a batch, and their completions
 * arrive together. Sending a native read costs tens of microseconds of main-thread time on a
 * small VM (thread hand-off), so at high concurrency this is most of a point get's cost.
 * A get still reads the state at the time the batch is sent, which is after the get was
 * issued, so it sees every write that completed before it was called. `flushNow` sends what is
 * queued at once (before the session it reads closes).
 */
export class GetBatcher {
  readonly #db: RocksDB;
  #keys: Uint8Array[] = [];
  #waiters: Waiter[] = [];
  #scheduled = false;

  constructor(db: RocksDB) {
    this.#db = db;
  }

  get(key: Uint8Array): Promise<Buffer | null> {
    return new Promise<Buffer | null>((resolve, reject) => {
      this.#keys.push(key);
      this.#waiters.push({ resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  /** Sends the queued gets now (a no-op when none are queued). */
  flushNow(): void {
    this.#flush();
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#keys.length === 0) return;
    const keys = this.#keys;
    const waiters = this.#waiters;
    this.#keys = [];
    this.#waiters = [];
    try {
      if (keys.length === 1) {
        const w = waiters[0] as Waiter;
        this.#db.get(keys[0] as Uint8Array).then(w.resolve, w.reject);
        return;
      }
      const r = this.#db.read({ capacity: keys.length, autoDestroy: true });
      const pending = keys.map((k) => r.get(k));
      r.tryFlush();
      pending.forEach((p, i) => {
        const w = waiters[i] as Waiter;
        p.then(w.resolve, w.reject);
      });
    } catch (e: unknown) {
      for (const w of waiters) w.reject(e);
    }
  }
}
