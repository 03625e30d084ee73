/** A cancellable timer returned by {@link Clock.setTimer}. */
export interface TimerHandle {
  /** Cancels the timer; a no-op when it already fired or was cancelled. */
  cancel(): void;
}

/**
 * Time as a capability (STYLE.md §2): code in layers 0-4 never reads the ambient clock or
 * starts global timers; it receives a Clock. `SystemClock` (util/src/node) is the real one,
 * `ManualClock` is driven by hand in tests.
 */
export interface Clock {
  /** Wall-clock time in milliseconds since the Unix epoch. May stall or go backwards. */
  nowMs(): number;
  /** Monotonic milliseconds from an arbitrary origin; never decreases. */
  monotonicMs(): number;
  /** Calls `fn` once after `delayMs` (>= 0) milliseconds of this clock's monotonic time. */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
  /**
   * Resolves after `delayMs` milliseconds of this clock's monotonic time.
   * @throws the signal's reason (an AbortError) when `signal` aborts first
   */
  sleep(delayMs: number, options?: { signal?: AbortSignal }): Promise<void>;
}
