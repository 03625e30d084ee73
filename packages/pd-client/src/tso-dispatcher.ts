import type { pdpb } from '@tikv-ts/proto';
import type { Clock, TimerHandle } from '@tikv-ts/util';
import { Backoff, type BackoffOptions } from './backoff';
import { PdClientClosedError, PdTsoStreamError, errorFromHeader } from './errors';

/** Bits of the logical part of a TSO timestamp (`ts = physical_ms << 18 | logical`). */
export const TSO_LOGICAL_BITS = 18n;
/** Largest logical value of a timestamp. */
export const TSO_MAX_LOGICAL = (1n << TSO_LOGICAL_BITS) - 1n;

/** Composes a TSO timestamp from physical milliseconds and the logical counter. */
export function composeTs(physicalMs: bigint, logical: bigint): bigint {
  return (physicalMs << TSO_LOGICAL_BITS) | logical;
}

/** One open TSO stream as the dispatcher sees it (a gRPC bidi stream in {@link RpcPdClient}). */
export interface TsoStream {
  /** Sends one TsoRequest asking for `count` timestamps. */
  send(count: number): void;
  /** Ends the stream (no more responses are delivered to this stream's handlers). */
  close(): void;
}

/** What a {@link TsoStream} reports back; the dispatcher passes these to the opener. */
export interface TsoStreamHandlers {
  onResponse(response: pdpb.TsoResponse): void;
  /** The stream failed or ended; it is dead from now on. */
  onError(error: unknown): void;
}

/** Options of {@link TsoDispatcher}. */
export interface TsoDispatcherOptions {
  readonly clock: Clock;
  /**
   * Opens a stream to the current PD leader (may run discovery first). Rejects when no leader
   * can be reached; the batch waiting for it then fails with that error.
   */
  readonly openStream: (handlers: TsoStreamHandlers, signal: AbortSignal) => Promise<TsoStream>;
  /** Called when a stream breaks, so the owner can re-check the leader. */
  readonly onStreamError?: (error: unknown) => void;
  /** Most timestamps asked for in one request (default 10000). */
  readonly maxBatchSize?: number;
  /** A request unanswered for this long breaks the stream (default 3000 ms). */
  readonly timeoutMs?: number;
  /** Delay before reopening after a broken stream (default 50 ms growing to 1000 ms). */
  readonly reconnectBackoff?: BackoffOptions;
}

interface Waiter {
  readonly resolve: (ts: bigint) => void;
  readonly reject: (e: unknown) => void;
  settled: boolean;
  readonly detach: () => void;
}

interface Batch {
  readonly waiters: Waiter[];
  readonly timer: TimerHandle;
}

/**
 * TSO batching over one long-lived stream (the design of PD's clients):
 *
 * - Callers of {@link getTimestamp} queue up. Whenever no request is in flight, everything
 *   queued (up to `maxBatchSize`) leaves as ONE TsoRequest with `count = n`, after a microtask so
 *   that callers of the same tick share it. Callers arriving while a request is in flight wait
 *   and form the next batch: one round trip serves them all.
 * - PD answers the LARGEST timestamp of the `n` it reserved; the batch's callers get
 *   `largest-n+1 … largest` in their calling order, so timestamps are unique, strictly increasing
 *   in call order, and above every timestamp this dispatcher handed out before (a response that
 *   would go back is refused).
 * - A header error fails that batch with the typed error; the stream stays. A broken stream, an
 *   answer with the wrong count, or a request unanswered within `timeoutMs` fails the batch in
 *   flight with {@link PdTsoStreamError} (retryable); queued callers wait for a new stream, opened
 *   after a capped backoff.
 */
export class TsoDispatcher {
  readonly #clock: Clock;
  readonly #openStream: TsoDispatcherOptions['openStream'];
  readonly #onStreamError: ((error: unknown) => void) | undefined;
  readonly #maxBatchSize: number;
  readonly #timeoutMs: number;
  readonly #backoff: Backoff;
  readonly #closer = new AbortController();
  #queue: Waiter[] = [];
  #inflight: Batch | undefined;
  #stream: TsoStream | undefined;
  #opening = false;
  #flushScheduled = false;
  #broken = false;
  #generation = 0;
  #lastTs = 0n;
  #requests = 0;

  constructor(options: TsoDispatcherOptions) {
    this.#clock = options.clock;
    this.#openStream = options.openStream;
    this.#onStreamError = options.onStreamError;
    this.#maxBatchSize = options.maxBatchSize ?? 10_000;
    this.#timeoutMs = options.timeoutMs ?? 3000;
    this.#backoff = new Backoff(options.reconnectBackoff ?? { baseMs: 50, capMs: 1000 });
    if (!(this.#maxBatchSize >= 1 && this.#maxBatchSize <= Number(TSO_MAX_LOGICAL) + 1)) {
      throw new RangeError(`TSO batch size ${this.#maxBatchSize} is out of range`);
    }
  }

  /** TsoRequests sent so far (for tests and metrics). */
  get requestsSent(): number {
    return this.#requests;
  }

  /** The largest timestamp handed out so far (0 before the first). */
  get lastTimestamp(): bigint {
    return this.#lastTs;
  }

  /**
   * One timestamp, unique and larger than every timestamp this dispatcher returned before.
   * @throws PdTsoStreamError when the stream broke with this call's batch in flight (retryable)
   * @throws PdServerError when PD refused the request
   * @throws the signal's reason when `signal` aborts first; PdClientClosedError after close
   */
  getTimestamp(options: { signal?: AbortSignal } = {}): Promise<bigint> {
    if (this.#closer.signal.aborted) return Promise.reject(new PdClientClosedError());
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<bigint>((resolve, reject) => {
      const onAbort = (): void => {
        if (waiter.settled) return;
        waiter.settled = true;
        this.#queue = this.#queue.filter((w) => w !== waiter);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        resolve: (ts) => {
          if (waiter.settled) return;
          waiter.settled = true;
          waiter.detach();
          resolve(ts);
        },
        reject: (e) => {
          if (waiter.settled) return;
          waiter.settled = true;
          waiter.detach();
          reject(e);
        },
        settled: false,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(waiter);
      this.#scheduleFlush();
    });
  }

  /**
   * Drops the current stream (the leader changed): the batch in flight fails with a retryable
   * error; queued callers go out on a new stream.
   */
  resetStream(reason: string): void {
    if (this.#stream === undefined) return;
    this.#breakStream(new PdTsoStreamError(`TSO stream reset: ${reason}`));
  }

  /** Fails every waiting caller with {@link PdClientClosedError} and closes the stream. */
  close(): void {
    if (this.#closer.signal.aborted) return;
    this.#closer.abort(new PdClientClosedError());
    const err = new PdClientClosedError();
    this.#failInflight(err);
    for (const w of this.#queue) w.reject(err);
    this.#queue = [];
    this.#stream?.close();
    this.#stream = undefined;
    this.#generation++;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    void Promise.resolve().then(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    if (this.#closer.signal.aborted || this.#inflight !== undefined || this.#queue.length === 0) return;
    if (this.#stream === undefined) {
      this.#open();
      return;
    }
    const waiters = this.#queue.splice(0, this.#maxBatchSize);
    const generation = this.#generation;
    const timer = this.#clock.setTimer(this.#timeoutMs, () => {
      if (this.#generation === generation && this.#inflight?.timer === timer) {
        this.#breakStream(new PdTsoStreamError(`TSO request for ${waiters.length} timestamps unanswered after ${this.#timeoutMs} ms`));
      }
    });
    this.#inflight = { waiters, timer };
    this.#requests++;
    try {
      this.#stream.send(waiters.length);
    } catch (e: unknown) {
      this.#breakStream(new PdTsoStreamError('TSO stream refused a request', { cause: e }));
    }
  }

  #open(): void {
    if (this.#opening) return;
    this.#opening = true;
    const generation = ++this.#generation;
    const signal = this.#closer.signal;
    const run = async (): Promise<TsoStream> => {
      if (this.#broken) await this.#clock.sleep(this.#backoff.nextDelayMs(), { signal });
      return this.#openStream(
        {
          onResponse: (res) => {
            if (this.#generation === generation) this.#onResponse(res);
          },
          onError: (e) => {
            if (this.#generation === generation && this.#stream !== undefined) {
              this.#breakStream(new PdTsoStreamError(`TSO stream broke: ${e instanceof Error ? e.message : String(e)}`, { cause: e }));
            }
          },
        },
        signal,
      );
    };
    run().then(
      (stream) => {
        this.#opening = false;
        if (signal.aborted || this.#generation !== generation) {
          stream.close();
          return;
        }
        this.#stream = stream;
        this.#flush();
      },
      (e: unknown) => {
        this.#opening = false;
        if (signal.aborted) return;
        // No leader to talk to: the callers waiting now get the error; later callers try again.
        this.#broken = true;
        const waiters = this.#queue.splice(0, this.#queue.length);
        for (const w of waiters) w.reject(e);
      },
    );
  }

  #onResponse(res: pdpb.TsoResponse): void {
    const batch = this.#inflight;
    if (batch === undefined) {
      this.#breakStream(new PdTsoStreamError('TSO response without a request in flight'));
      return;
    }
    const n = batch.waiters.length;
    const headerError = errorFromHeader('Tso', res.header);
    if (headerError !== undefined) {
      this.#inflight = undefined;
      batch.timer.cancel();
      for (const w of batch.waiters) w.reject(headerError);
      this.#flush();
      return;
    }
    const physical = res.timestamp?.physical ?? 0n;
    const logical = res.timestamp?.logical ?? 0n;
    if (res.count !== n || res.timestamp === undefined || logical > TSO_MAX_LOGICAL || logical - BigInt(n) + 1n < 0n) {
      this.#breakStream(new PdTsoStreamError(`Bad TSO response: asked ${n}, got count ${res.count} with logical ${logical}`));
      return;
    }
    const largest = composeTs(physical, logical);
    const first = largest - BigInt(n) + 1n;
    if (first <= this.#lastTs) {
      this.#breakStream(new PdTsoStreamError(`TSO went back: ${first} after ${this.#lastTs}`));
      return;
    }
    this.#inflight = undefined;
    batch.timer.cancel();
    this.#lastTs = largest;
    this.#broken = false;
    this.#backoff.reset();
    batch.waiters.forEach((w, i) => w.resolve(first + BigInt(i)));
    this.#flush();
  }

  #failInflight(error: unknown): void {
    const batch = this.#inflight;
    if (batch === undefined) return;
    this.#inflight = undefined;
    batch.timer.cancel();
    for (const w of batch.waiters) w.reject(error);
  }

  #breakStream(error: PdTsoStreamError): void {
    const stream = this.#stream;
    this.#stream = undefined;
    this.#generation++;
    this.#broken = true;
    stream?.close();
    this.#failInflight(error);
    this.#onStreamError?.(error);
    this.#scheduleFlush();
  }
}
