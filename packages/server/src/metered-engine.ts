import type { Engine, EngineContext, EngineSnapshot, EngineWriteOptions, Modify } from '@tikv-ts/storage';
import type { Clock, Histogram } from '@tikv-ts/util';

/**
 * An {@link Engine} that times every snapshot and write of the engine below it
 * (`tikv_storage_engine_async_request_duration_seconds{type="snapshot"|"write"}`).
 */
export class MeteredEngine implements Engine {
  readonly #inner: Engine;
  readonly #clock: Clock;
  readonly #snapshot: ReturnType<Histogram<'type'>['labels']>;
  readonly #write: ReturnType<Histogram<'type'>['labels']>;

  constructor(inner: Engine, clock: Clock, histogram: Histogram<'type'>) {
    this.#inner = inner;
    this.#clock = clock;
    this.#snapshot = histogram.labels('snapshot');
    this.#write = histogram.labels('write');
  }

  async snapshot(ctx: EngineContext): Promise<EngineSnapshot> {
    const start = this.#clock.monotonicMs();
    try {
      return await this.#inner.snapshot(ctx);
    } finally {
      this.#snapshot.observe((this.#clock.monotonicMs() - start) / 1000);
    }
  }

  async write(ctx: EngineContext, modifies: readonly Modify[], options?: EngineWriteOptions): Promise<void> {
    const start = this.#clock.monotonicMs();
    try {
      await this.#inner.write(ctx, modifies, options);
    } finally {
      this.#write.observe((this.#clock.monotonicMs() - start) / 1000);
    }
  }
}
