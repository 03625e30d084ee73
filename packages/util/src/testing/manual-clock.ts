import { setImmediate } from 'node:timers';
import type { Clock, TimerHandle } from '../clock';
import { abortReason } from '../internal/abort';
import { MinHeap } from '../internal/min-heap';

interface ManualTimer {
  readonly dueMs: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/** Options of {@link ManualClock}. */
export interface ManualClockOptions {
  /** Initial wall-clock time in ms since the epoch. Default 1767225600000 (2026-01-01T00:00:00Z). */
  startWallMs?: number;
  /** Initial monotonic time in ms. Default 0. */
  startMonotonicMs?: number;
}

/** Default start of {@link ManualClock}'s wall clock: 2026-01-01T00:00:00Z. */
export const MANUAL_CLOCK_DEFAULT_WALL_MS = 1_767_225_600_000;

/**
 * A {@link Clock} that moves only when told to: deterministic virtual time for tests and
 * simulations.
 *
 * - `monotonicMs()` starts at `startMonotonicMs` and moves only through {@link advance},
 *   {@link advanceTo} and {@link runAll} (or their async forms).
 * - `nowMs()` is the monotonic time plus an offset, so wall time moves with it; {@link setWallMs}
 *   makes it jump (also backwards) without touching monotonic time or timers.
 * - Timers fire in (due time, creation order) order. While a timer fires, the clock reads exactly
 *   its due time. A timer created by a firing callback whose due time is within the advanced span
 *   fires in the same call. A timer is never fired synchronously by `setTimer` itself, even with
 *   delay 0: it waits for the next advance (`advance(0)` is enough).
 * - `sleep()` resolves through such a timer; its continuation runs as a microtask after the
 *   callback, so use the `*Async` forms (which drain microtasks after each timer) when awaited code
 *   must run before the next timer fires.
 *
 * Not thread-safe (there are no threads); callbacks that throw propagate out of `advance`, and the
 * clock stays at that timer's due time with the later timers still pending.
 */
export class ManualClock implements Clock {
  #monotonicMs: number;
  #wallOffsetMs: number;
  #seq = 0;
  #active = 0;
  readonly #timers = new MinHeap<ManualTimer>((a, b) => a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.seq < b.seq));

  constructor(options: ManualClockOptions = {}) {
    this.#monotonicMs = options.startMonotonicMs ?? 0;
    this.#wallOffsetMs = (options.startWallMs ?? MANUAL_CLOCK_DEFAULT_WALL_MS) - this.#monotonicMs;
  }

  /** Virtual wall-clock ms since the epoch. */
  nowMs(): number {
    return this.#monotonicMs + this.#wallOffsetMs;
  }

  /** Virtual monotonic ms. */
  monotonicMs(): number {
    return this.#monotonicMs;
  }

  /** Sets the wall clock (may go backwards); monotonic time and timers are unaffected. */
  setWallMs(wallMs: number): void {
    this.#wallOffsetMs = wallMs - this.#monotonicMs;
  }

  /**
   * Schedules `fn` at `monotonicMs() + delayMs`.
   * @throws RangeError when `delayMs` is negative or not finite
   */
  setTimer(delayMs: number, fn: () => void): TimerHandle {
    checkDelay(delayMs);
    const timer: ManualTimer = { dueMs: this.#monotonicMs + delayMs, seq: this.#seq++, fn, cancelled: false };
    this.#timers.push(timer);
    this.#active++;
    return {
      cancel: () => {
        if (!timer.cancelled) {
          timer.cancelled = true;
          this.#active--;
        }
      },
    };
  }

  /**
   * Resolves once virtual time has advanced by `delayMs`; rejects with the signal's reason when it
   * aborts first (the timer is then cancelled).
   */
  sleep(delayMs: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    checkDelay(delayMs);
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        handle.cancel();
        reject(abortReason(signal as AbortSignal));
      };
      const handle = this.setTimer(delayMs, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Number of timers scheduled and neither fired nor cancelled. */
  pendingTimers(): number {
    return this.#active;
  }

  /** Monotonic due time of the earliest pending timer, or undefined when none is pending. */
  nextTimerDueMs(): number | undefined {
    this.#dropCancelled();
    return this.#timers.peek()?.dueMs;
  }

  /**
   * Moves time forward by `ms` (>= 0), firing every timer due up to the new time in order.
   * @returns the number of timers fired
   */
  advance(ms: number): number {
    checkDelay(ms);
    return this.advanceTo(this.#monotonicMs + ms);
  }

  /**
   * Moves monotonic time to `targetMs` (not before the current time), firing due timers in order.
   * @returns the number of timers fired
   */
  advanceTo(targetMs: number): number {
    if (!(targetMs >= this.#monotonicMs)) throw new RangeError(`Cannot move monotonic time back from ${this.#monotonicMs} to ${targetMs}`);
    let fired = 0;
    for (;;) {
      const timer = this.#popDue(targetMs);
      if (timer === undefined) break;
      fired++;
      timer.fn();
    }
    this.#monotonicMs = targetMs;
    return fired;
  }

  /**
   * Like {@link advance}, but drains the microtask queue before the first and after every timer, so
   * code awaiting a `sleep` resumes (and may schedule more timers) before later timers fire.
   * @returns the number of timers fired
   */
  async advanceAsync(ms: number): Promise<number> {
    checkDelay(ms);
    const targetMs = this.#monotonicMs + ms;
    let fired = 0;
    await drainMicrotasks();
    for (;;) {
      const timer = this.#popDue(targetMs);
      if (timer === undefined) break;
      fired++;
      timer.fn();
      await drainMicrotasks();
    }
    if (targetMs > this.#monotonicMs) this.#monotonicMs = targetMs;
    return fired;
  }

  /**
   * Fires pending timers in order, moving time to each one's due time, until none is left
   * (including timers scheduled by the callbacks).
   * @throws RangeError when more than `maxTimers` (default 100000) fire, which means something
   *   keeps re-arming itself (a ticker); use {@link advance} for those
   * @returns the number of timers fired
   */
  runAll(options: { maxTimers?: number } = {}): number {
    const maxTimers = options.maxTimers ?? 100_000;
    let fired = 0;
    for (;;) {
      const timer = this.#popDue(Number.POSITIVE_INFINITY);
      if (timer === undefined) return fired;
      if (++fired > maxTimers) throw new RangeError(`runAll fired more than ${maxTimers} timers; a timer keeps re-arming`);
      timer.fn();
    }
  }

  /** {@link runAll} draining microtasks after every timer (see {@link advanceAsync}). */
  async runAllAsync(options: { maxTimers?: number } = {}): Promise<number> {
    const maxTimers = options.maxTimers ?? 100_000;
    let fired = 0;
    await drainMicrotasks();
    for (;;) {
      const timer = this.#popDue(Number.POSITIVE_INFINITY);
      if (timer === undefined) return fired;
      if (++fired > maxTimers) throw new RangeError(`runAllAsync fired more than ${maxTimers} timers; a timer keeps re-arming`);
      timer.fn();
      await drainMicrotasks();
    }
  }

  /** Pops the earliest live timer due at or before `limitMs` and moves the clock to its due time. */
  #popDue(limitMs: number): ManualTimer | undefined {
    this.#dropCancelled();
    const top = this.#timers.peek();
    if (top === undefined || top.dueMs > limitMs) return undefined;
    this.#timers.pop();
    top.cancelled = true; // fired: a later cancel() is a no-op
    this.#active--;
    if (top.dueMs > this.#monotonicMs) this.#monotonicMs = top.dueMs;
    return top;
  }

  #dropCancelled(): void {
    while (this.#timers.peek()?.cancelled === true) this.#timers.pop();
  }
}

function checkDelay(ms: number): void {
  if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`Delay ${ms} ms is not a finite non-negative number`);
}

/**
 * Lets every queued microtask (and the ones they queue) run. A macrotask boundary is the only
 * way to be sure the microtask queue is empty; no time is read, so this stays deterministic for
 * code that does no real I/O.
 */
export function drainMicrotasks(): Promise<void> {
  // A macrotask boundary used only to drain microtasks; it reads no time.
  return new Promise((resolve) => setImmediate(resolve));
}
