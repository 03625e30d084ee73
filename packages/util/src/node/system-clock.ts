import { performance } from 'node:perf_hooks';
import type { Clock, TimerHandle } from '../clock';
import { abortReason } from '../internal/abort';

/** Options of {@link SystemClock}. */
export interface SystemClockOptions {
  /**
   * When true, timers do not keep the process alive (Node's `unref`). Default false: a pending
   * timer keeps the event loop running, as a plain `setTimeout` does.
   */
  unrefTimers?: boolean;
}

/**
 * The real {@link Clock}: `Date.now()` for wall time, `performance.now()` (monotonic) for
 * intervals, Node timers for `setTimer` and `sleep`. Only apps and server bootstrap construct it
 * (STYLE.md §2).
 */
export class SystemClock implements Clock {
  readonly #unref: boolean;

  constructor(options: SystemClockOptions = {}) {
    this.#unref = options.unrefTimers ?? false;
  }

  /** Wall-clock ms since the epoch (`Date.now()`). */
  nowMs(): number {
    return Date.now();
  }

  /** Monotonic ms since process start (`performance.now()`), with sub-ms fraction. */
  monotonicMs(): number {
    return performance.now();
  }

  /**
   * Calls `fn` after `delayMs` ms (Node's setTimeout; delays above 2^31-1 ms are split).
   * @throws RangeError when `delayMs` is negative or not finite
   */
  setTimer(delayMs: number, fn: () => void): TimerHandle {
    checkDelay(delayMs);
    let handle: NodeJS.Timeout | undefined;
    let cancelled = false;
    const deadline = this.monotonicMs() + delayMs;
    const arm = (remainingMs: number): void => {
      handle = setTimeout(() => {
        const left = deadline - this.monotonicMs();
        if (remainingMs >= MAX_TIMEOUT_MS && left > 0) {
          arm(left);
          return;
        }
        handle = undefined;
        if (!cancelled) fn();
      }, Math.min(remainingMs, MAX_TIMEOUT_MS));
      if (this.#unref) handle.unref();
    };
    arm(delayMs);
    return {
      cancel: () => {
        cancelled = true;
        if (handle !== undefined) clearTimeout(handle);
        handle = undefined;
      },
    };
  }

  /** Resolves after `delayMs` ms; rejects with the signal's reason when it aborts first. */
  sleep(delayMs: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    checkDelay(delayMs);
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        timer.cancel();
        reject(abortReason(signal as AbortSignal));
      };
      const timer = this.setTimer(delayMs, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

const MAX_TIMEOUT_MS = 2 ** 31 - 1;

function checkDelay(ms: number): void {
  if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`Delay ${ms} ms is not a finite non-negative number`);
}
