/** Options of {@link Backoff}. */
export interface BackoffOptions {
  /** First delay in ms (default 100). */
  readonly baseMs?: number;
  /** Largest delay in ms (default 3000). */
  readonly capMs?: number;
  /** Growth factor between attempts (default 2). */
  readonly multiplier?: number;
}

/**
 * Capped exponential backoff: delays `base, base·m, base·m², …` never above `cap`. Pure state
 * (no timers): the caller sleeps `nextDelayMs()` on its injected clock and calls `reset()` after
 * a success. Deterministic on purpose (no jitter): a single client talks to a few PD members,
 * there is no herd to spread.
 */
export class Backoff {
  readonly #baseMs: number;
  readonly #capMs: number;
  readonly #multiplier: number;
  #attempt = 0;

  /** @throws RangeError when a value is not positive or base exceeds cap */
  constructor(options: BackoffOptions = {}) {
    this.#baseMs = options.baseMs ?? 100;
    this.#capMs = options.capMs ?? 3000;
    this.#multiplier = options.multiplier ?? 2;
    if (!(this.#baseMs > 0) || !(this.#capMs >= this.#baseMs) || !(this.#multiplier >= 1)) {
      throw new RangeError(`Bad backoff: base ${this.#baseMs} ms, cap ${this.#capMs} ms, multiplier ${this.#multiplier}`);
    }
  }

  /** Number of delays handed out since the last reset. */
  get attempts(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt, in ms; grows until the cap. */
  nextDelayMs(): number {
    const delay = Math.min(this.#capMs, this.#baseMs * this.#multiplier ** this.#attempt);
    this.#attempt++;
    return delay;
  }

  /** Starts over from the base delay (after a success). */
  reset(): void {
    this.#attempt = 0;
  }
}
