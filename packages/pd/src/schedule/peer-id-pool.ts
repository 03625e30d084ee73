/**
 * A synchronous source of peer ids for the (synchronous) checkers and schedulers, fed by PD's
 * asynchronous id allocator (`IdAllocator.allocMany`). It keeps up to `batch` ids and starts a
 * refill when it falls below half; {@link take} returns undefined while it is empty, and the
 * scheduler simply tries again later. A failed refill is reported to `onError` and retried on
 * the next take.
 */
export class PeerIdPool {
  readonly #allocMany: (count: number) => Promise<readonly bigint[]>;
  readonly #batch: number;
  readonly #onError: (e: unknown) => void;
  readonly #ids: bigint[] = [];
  #refilling = false;

  constructor(
    allocMany: (count: number) => Promise<readonly bigint[]>,
    options: { readonly batch?: number; readonly onError?: (e: unknown) => void } = {},
  ) {
    this.#allocMany = allocMany;
    this.#batch = options.batch ?? 64;
    if (!Number.isInteger(this.#batch) || this.#batch < 1)
      throw new RangeError(`batch ${this.#batch} must be a positive integer`);
    this.#onError = options.onError ?? (() => undefined);
  }

  /** Ids ready to hand out. */
  get size(): number {
    return this.#ids.length;
  }

  /** Starts a refill if the pool is below half full; resolves when that refill (if any) is done. */
  refill(): Promise<void> {
    if (this.#refilling || this.#ids.length >= this.#batch / 2) return Promise.resolve();
    this.#refilling = true;
    return this.#allocMany(this.#batch - this.#ids.length).then(
      (ids) => {
        this.#ids.push(...ids);
        this.#refilling = false;
      },
      (e: unknown) => {
        this.#refilling = false;
        this.#onError(e);
      },
    );
  }

  /** One id, or undefined when the pool is empty (a refill is then under way). */
  take(): bigint | undefined {
    const id = this.#ids.shift();
    void this.refill();
    return id;
  }
}
