import type { kvrpcpb } from '@tikv-ts/proto';
import type { Clock, TimerHandle } from '@tikv-ts/util';
import { DeadlockError } from '../errors';
import { DeadlockDetector } from './deadlock-detector';

/** How a wait ended. */
export type WaitOutcome = 'woken' | 'timeout';

interface Waiter {
  readonly startTs: bigint;
  readonly lockTs: bigint;
  readonly keyHash: bigint;
  readonly resolve: (o: WaitOutcome) => void;
  timer: TimerHandle | undefined;
}

/** Options of {@link LockManager}. */
export interface LockManagerOptions {
  readonly clock: Clock;
  /** Wait used when a request asks for 0 (TiKV `pessimistic-txn.wait-for-lock-timeout`, default 1000 ms). */
  readonly defaultWaitTimeoutMs?: number;
  /**
   * Extra wait after a lock is released before waking the *other* waiters of that key (TiKV
   * `wake-up-delay-duration`, default 20 ms); the first waiter is woken at once.
   */
  readonly wakeUpDelayMs?: number;
}

/**
 * Pessimistic lock waiting on this node (TiKV `LockManager` + `WaiterManager` + the deadlock
 * detector, single node): a request blocked by another transaction's lock waits until that
 * lock is released (then retries), its timeout passes (then reports the lock), or waiting would
 * close a cycle of waiters (then fails with `DeadlockError` at once). Time comes from the
 * injected `Clock`.
 */
export class LockManager {
  readonly #clock: Clock;
  readonly #defaultTimeoutMs: number;
  readonly #wakeUpDelayMs: number;
  readonly #detector = new DeadlockDetector();
  /** lock ts -> key hash -> waiters in arrival order */
  readonly #waiters = new Map<bigint, Map<bigint, Waiter[]>>();

  constructor(options: LockManagerOptions) {
    this.#clock = options.clock;
    this.#defaultTimeoutMs = options.defaultWaitTimeoutMs ?? 1000;
    this.#wakeUpDelayMs = options.wakeUpDelayMs ?? 20;
  }

  /** The wait in ms for a request's `wait_timeout` (0 = default, negative = no wait → undefined). */
  waitTimeoutMs(requested: bigint): number | undefined {
    if (requested < 0n) return undefined;
    if (requested === 0n) return this.#defaultTimeoutMs;
    const ms = Number(requested);
    return Math.min(ms, this.#defaultTimeoutMs * 3600);
  }

  /** Number of waiting requests. */
  get waiterCount(): number {
    let n = 0;
    for (const m of this.#waiters.values()) for (const l of m.values()) n += l.length;
    return n;
  }

  /**
   * Registers a waiter of transaction `startTs` on the lock `lockInfo` (key hash `keyHash`).
   * Returns a promise settling when the wait ends, and a `cancel` to end it early (as 'woken').
   *
   * @throws DeadlockError when the wait would close a cycle (nothing is registered)
   */
  wait(
    startTs: bigint,
    lockInfo: kvrpcpb.LockInfo,
    keyHash: bigint,
    timeoutMs: number,
  ): { done: Promise<WaitOutcome>; cancel: () => void } {
    const cycle = this.#detector.detect({ txn: startTs, waitForTxn: lockInfo.lockVersion, keyHash, key: lockInfo.key });
    if (cycle !== undefined) {
      throw new DeadlockError(
        startTs,
        lockInfo.lockVersion,
        lockInfo.key,
        keyHash,
        cycle.map((e) => ({ txn: e.txn, waitForTxn: e.waitForTxn, key: e.key })),
      );
    }
    let waiter: Waiter | undefined;
    const done = new Promise<WaitOutcome>((resolve) => {
      waiter = { startTs, lockTs: lockInfo.lockVersion, keyHash, resolve, timer: undefined };
    });
    const w = waiter as Waiter;
    let byKey = this.#waiters.get(w.lockTs);
    if (byKey === undefined) {
      byKey = new Map();
      this.#waiters.set(w.lockTs, byKey);
    }
    const list = byKey.get(keyHash) ?? [];
    list.push(w);
    byKey.set(keyHash, list);
    w.timer = this.#clock.setTimer(timeoutMs, () => this.#finish(w, 'timeout'));
    return { done, cancel: () => this.#finish(w, 'woken') };
  }

  /**
   * Wakes the waiters of locks that were released: the first waiter of each key at once, the
   * others after the wake-up delay (they will most likely meet the first one's new lock).
   */
  wakeUp(released: readonly { startTs: bigint; keyHash: bigint }[]): void {
    for (const r of released) {
      const list = this.#waiters.get(r.startTs)?.get(r.keyHash);
      if (list === undefined || list.length === 0) continue;
      const [first, ...rest] = list;
      this.#finish(first as Waiter, 'woken');
      for (const w of rest) {
        if (w.timer !== undefined) w.timer.cancel();
        w.timer = this.#clock.setTimer(this.#wakeUpDelayMs, () => this.#finish(w, 'woken'));
      }
    }
  }

  #finish(w: Waiter, outcome: WaitOutcome): void {
    const byKey = this.#waiters.get(w.lockTs);
    const list = byKey?.get(w.keyHash);
    if (byKey === undefined || list === undefined) return;
    const i = list.indexOf(w);
    if (i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) byKey.delete(w.keyHash);
    if (byKey.size === 0) this.#waiters.delete(w.lockTs);
    w.timer?.cancel();
    this.#detector.cleanUpWaitFor(w.startTs, w.keyHash);
    w.resolve(outcome);
  }
}
