import type { PdStorage } from './storage';

/** Options of {@link IdAllocator}. */
export interface IdAllocatorOptions {
  /** How many ids one synced write reserves (PD: 1000). */
  readonly step?: number;
}

/**
 * Allocates unique, increasing ids (stores, regions, peers) for the whole cluster.
 *
 * Ids are reserved in batches: the end of the batch is persisted (synced) before any id of it is
 * handed out, and a restart continues after the persisted end, so an id is never handed out
 * twice, even across a kill -9 (ids of an unfinished batch are skipped, as in PD). The first id
 * is 1. Calls are serialized internally and may overlap freely.
 */
export class IdAllocator {
  readonly #storage: PdStorage;
  readonly #step: bigint;
  #base = 0n;
  #end = 0n;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(storage: PdStorage, options: IdAllocatorOptions = {}) {
    this.#storage = storage;
    const step = options.step ?? 1000;
    if (!Number.isInteger(step) || step < 1) throw new RangeError(`step ${step} must be a positive integer`);
    this.#step = BigInt(step);
  }

  /** Loads the persisted end of the last batch; must resolve before the first allocation. */
  async initialize(): Promise<void> {
    const end = (await this.#storage.loadAllocIdEnd()) ?? 0n;
    this.#base = end;
    this.#end = end;
  }

  /** The largest id handed out so far (0 when none). */
  get current(): bigint {
    return this.#base;
  }

  /** One new id. */
  async alloc(): Promise<bigint> {
    const [id] = await this.allocMany(1);
    return id ?? 0n;
  }

  /**
   * `count` new ids, increasing and contiguous.
   * @throws RangeError if `count` is not a positive integer
   */
  allocMany(count: number): Promise<bigint[]> {
    if (!Number.isInteger(count) || count < 1) return Promise.reject(new RangeError(`count ${count} must be a positive integer`));
    const run = this.#queue.then(async () => {
      const n = BigInt(count);
      if (this.#base + n > this.#end) {
        const end = this.#base + n + this.#step;
        await this.#storage.saveAllocIdEnd(end);
        this.#end = end;
      }
      const ids: bigint[] = [];
      for (let i = 0n; i < n; i++) ids.push(this.#base + 1n + i);
      this.#base += n;
      return ids;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
