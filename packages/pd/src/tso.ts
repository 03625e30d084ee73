import type { Clock, TimerHandle } from '@tikv-ts/util';
import { PdInvalidValueError, PdServerClosedError } from './errors';
import type { PdStorage } from './storage';

/** Number of bits of the logical part of a TSO timestamp (TiKV/PD: 18). */
export const TSO_LOGICAL_BITS = 18;
/** The logical part must stay below this (2^18). */
export const TSO_MAX_LOGICAL = 1 << TSO_LOGICAL_BITS;

/** Options of {@link TsoAllocator}. */
export interface TsoAllocatorOptions {
  /**
   * Length (ms) of the time window persisted ahead of the timestamps handed out (PD's
   * `tso-save-interval`, default 3000). One synced write covers this much wall-clock time.
   */
  readonly saveIntervalMs?: number;
  /** Period (ms) of the background update that follows the wall clock and extends the window early (default 50). */
  readonly updateIntervalMs?: number;
}

/** A TSO timestamp split in its two parts: `physicalMs << 18 | logical`. */
export interface TsoTimestamp {
  /** Milliseconds since the Unix epoch (a safe integer). */
  readonly physicalMs: number;
  /** Logical counter within the millisecond, in `[0, 2^18)`. */
  readonly logical: number;
}

/** Composes a {@link TsoTimestamp} into the 64-bit TSO value. */
export function composeTso(ts: TsoTimestamp): bigint {
  return (BigInt(ts.physicalMs) << BigInt(TSO_LOGICAL_BITS)) | BigInt(ts.logical);
}

/**
 * The timestamp oracle of a PD leader.
 *
 * Timestamps are `(physicalMs, logical)`: the physical part follows the wall clock of the injected
 * {@link Clock}, the logical part counts within a millisecond. Guarantees:
 *
 * - Strictly increasing: every call returns a larger timestamp than every earlier call, also when
 *   the wall clock stalls or goes backwards (the physical part then stays and the logical part
 *   grows; when it would reach 2^18 the physical part moves one millisecond ahead by itself).
 * - Across restarts (even a kill -9): a time window `[physical, windowEnd)` is persisted (synced)
 *   before any timestamp in it is handed out, and a restart begins at `max(now, windowEnd)`,
 *   so every later timestamp is larger than any handed out before.
 * - Cheap: handing out timestamps is an in-memory operation; one synced write extends the
 *   window by `saveIntervalMs`, done ahead of time by a background update, so thousands of
 *   requests per second cost a write every few seconds. Requests that find the window
 *   exhausted wait together for a single write.
 *
 * Single-threaded (one event loop); calls may overlap freely.
 */
export class TsoAllocator {
  readonly #clock: Clock;
  readonly #storage: PdStorage;
  readonly #saveIntervalMs: number;
  readonly #updateIntervalMs: number;
  #physical = 0;
  #logical = 0;
  #windowEndMs = 0;
  #saving: Promise<void> | undefined;
  #timer: TimerHandle | undefined;
  #initialized = false;
  #closed = false;
  #saves = 0;
  #lastError: unknown;

  constructor(clock: Clock, storage: PdStorage, options: TsoAllocatorOptions = {}) {
    this.#clock = clock;
    this.#storage = storage;
    this.#saveIntervalMs = options.saveIntervalMs ?? 3000;
    this.#updateIntervalMs = options.updateIntervalMs ?? 50;
    if (!(this.#saveIntervalMs >= 2)) throw new RangeError(`saveIntervalMs ${this.#saveIntervalMs} must be at least 2`);
  }

  /** Number of window writes made so far (for metrics and tests). */
  get windowSaves(): number {
    return this.#saves;
  }

  /** End (exclusive, ms) of the persisted window. */
  get windowEndMs(): number {
    return this.#windowEndMs;
  }

  /**
   * Loads the persisted window and persists a new one starting after it; must resolve before
   * {@link getTimestamp}. Starts the background update timer.
   */
  async initialize(): Promise<void> {
    const last = Number((await this.#storage.loadTimestampWindow()) ?? 0n);
    const start = Math.max(this.#clock.nowMs(), last);
    const end = start + this.#saveIntervalMs;
    await this.#storage.saveTimestampWindow(BigInt(end));
    this.#saves++;
    this.#windowEndMs = end;
    this.#physical = start;
    this.#logical = 0;
    this.#initialized = true;
    this.#schedule();
  }

  /** Stops the background update; later calls to {@link getTimestamp} reject. */
  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /**
   * Hands out `count` consecutive timestamps and returns the largest, as PD does: the caller
   * owns logical values `logical - count + 1 … logical` of that physical millisecond.
   *
   * @throws PdInvalidValueError if `count` is not an integer in `[1, 2^18)`
   * @throws PdServerClosedError after {@link close} or before {@link initialize}
   * @throws engine errors if the window could not be persisted
   */
  async getTimestamp(count = 1): Promise<TsoTimestamp> {
    for (;;) {
      const ts = this.tryGetTimestamp(count);
      if (ts !== undefined) return ts;
      await this.#extendWindow(this.#physical + 1);
    }
  }

  /**
   * The synchronous fast path of {@link getTimestamp}: the timestamp when it can be handed out
   * from memory, or `undefined` when the window must be extended first (then call
   * {@link getTimestamp}, which waits for that write).
   *
   * @throws PdInvalidValueError if `count` is not an integer in `[1, 2^18)`
   * @throws PdServerClosedError after {@link close} or before {@link initialize}
   */
  tryGetTimestamp(count = 1): TsoTimestamp | undefined {
    if (!Number.isInteger(count) || count < 1 || count >= TSO_MAX_LOGICAL) {
      throw new PdInvalidValueError(`tso count should be in [1, ${TSO_MAX_LOGICAL}), got ${count}`);
    }
    if (this.#closed || !this.#initialized) throw new PdServerClosedError();
    this.#followClock();
    if (this.#logical + count < TSO_MAX_LOGICAL) {
      this.#logical += count;
      return { physicalMs: this.#physical, logical: this.#logical };
    }
    // The logical part is exhausted: move to the next millisecond, inside the window if we can.
    const next = this.#physical + 1;
    if (next >= this.#windowEndMs) return undefined;
    this.#physical = next;
    this.#logical = count;
    return { physicalMs: this.#physical, logical: this.#logical };
  }

  /** Moves the physical part up to the wall clock when the window covers it (no I/O). */
  #followClock(): void {
    const now = this.#clock.nowMs();
    if (now > this.#physical) {
      if (now < this.#windowEndMs) {
        this.#physical = now;
        this.#logical = 0;
      } else if (this.#saving === undefined) {
        // The wall clock ran past the window: extend it in the background; until then the
        // timestamps stay in the old window (still increasing, only lagging the clock).
        this.#extendWindow(now).catch((e: unknown) => {
          this.#lastError = e;
        });
      }
    }
  }

  /** Persists a window reaching at least `minMs + saveIntervalMs`; concurrent callers share one write. */
  #extendWindow(minMs: number): Promise<void> {
    if (this.#saving !== undefined) return this.#saving;
    const end = Math.max(this.#clock.nowMs(), minMs, this.#physical) + this.#saveIntervalMs;
    const saving = this.#storage.saveTimestampWindow(BigInt(end)).then(
      () => {
        this.#saves++;
        if (end > this.#windowEndMs) this.#windowEndMs = end;
        this.#saving = undefined;
      },
      (e: unknown) => {
        this.#saving = undefined;
        throw e;
      },
    );
    this.#saving = saving;
    return saving;
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = this.#clock.setTimer(this.#updateIntervalMs, () => {
      this.#timer = undefined;
      this.#update();
    });
  }

  /**
   * The background update (PD's updateTimestamp): follow the wall clock, and extend the window
   * when less than half of it remains, so requests rarely wait for a write.
   */
  #update(): void {
    if (this.#closed) return;
    this.#followClock();
    const base = Math.max(this.#clock.nowMs(), this.#physical);
    if (this.#windowEndMs - base < this.#saveIntervalMs / 2 && this.#saving === undefined) {
      this.#extendWindow(base).then(
        () => this.#schedule(),
        (e: unknown) => {
          // Requests will retry the write and report the error; keep the loop alive.
          this.#lastError = e;
          this.#schedule();
        },
      );
      return;
    }
    this.#schedule();
  }

  /** The last error of a background window write, if any (for health reporting). */
  get lastBackgroundError(): unknown {
    return this.#lastError;
  }
}
