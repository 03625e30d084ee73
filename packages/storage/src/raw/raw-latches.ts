/** Releases what an acquire of {@link RawLatches} granted. Idempotent. */
export type LatchRelease = () => void;

interface GateWaiter {
  readonly exclusive: boolean;
  readonly grant: () => void;
}

function latchKey(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/**
 * Serializes raw writes (TiKV serializes `RawCompareAndSwap` and the `for_cas` writes with the
 * scheduler's latches; here every raw write goes through them).
 *
 * Two levels:
 * - a gate, held shared by every key-level writer and exclusively by whole-range writers
 *   (`RawDeleteRange`); waiters are granted in FIFO order, so a queued exclusive waiter holds back
 *   later shared ones and is not starved;
 * - one FIFO queue per key. A writer takes its keys one at a time in ascending byte order (the
 *   order of the latin1 strings equals byte order), so two writers never wait on each other in a
 *   cycle.
 *
 * Fairness: a key's holders are granted in the order they queued on that key. Single-threaded (one
 * event loop); grants happen through promise resolution.
 */
export class RawLatches {
  #shared = 0;
  #exclusive = false;
  readonly #gateQueue: GateWaiter[] = [];
  /** Key → waiters; the entry exists while the key is held. */
  readonly #keys = new Map<string, (() => void)[]>();

  /** Number of keys currently held (for tests and metrics). */
  get heldKeys(): number {
    return this.#keys.size;
  }

  /**
   * Waits until the gate is held shared and every key of `keys` is held by this caller.
   * Duplicate keys are taken once.
   */
  async acquireKeys(keys: readonly Uint8Array[]): Promise<LatchRelease> {
    const ids = Array.from(new Set(keys.map(latchKey))).sort();
    await this.#acquireGate(false);
    const taken: string[] = [];
    for (const id of ids) {
      await this.#acquireKey(id);
      taken.push(id);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const id of taken) this.#releaseKey(id);
      this.#releaseGate(false);
    };
  }

  /** Waits until this caller holds the gate exclusively: no key-level writer runs meanwhile. */
  async acquireAll(): Promise<LatchRelease> {
    await this.#acquireGate(true);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#releaseGate(true);
    };
  }

  #acquireGate(exclusive: boolean): Promise<void> {
    if (this.#gateQueue.length === 0 && this.#canGrant(exclusive)) {
      this.#grant(exclusive);
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.#gateQueue.push({ exclusive, grant: resolve });
    });
  }

  #canGrant(exclusive: boolean): boolean {
    return exclusive ? !this.#exclusive && this.#shared === 0 : !this.#exclusive;
  }

  #grant(exclusive: boolean): void {
    if (exclusive) this.#exclusive = true;
    else this.#shared++;
  }

  #releaseGate(exclusive: boolean): void {
    if (exclusive) this.#exclusive = false;
    else this.#shared--;
    while (this.#gateQueue.length > 0) {
      const head = this.#gateQueue[0] as GateWaiter;
      if (!this.#canGrant(head.exclusive)) break;
      this.#gateQueue.shift();
      this.#grant(head.exclusive);
      head.grant();
    }
  }

  #acquireKey(id: string): Promise<void> {
    const waiters = this.#keys.get(id);
    if (waiters === undefined) {
      this.#keys.set(id, []);
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      waiters.push(resolve);
    });
  }

  #releaseKey(id: string): void {
    const waiters = this.#keys.get(id);
    if (waiters === undefined) return;
    const next = waiters.shift();
    if (next === undefined) this.#keys.delete(id);
    else next();
  }
}
