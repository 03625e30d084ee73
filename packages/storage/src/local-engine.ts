import { DATA_MAX_KEY, DATA_MIN_KEY, dataEndKey, dataKey } from '@tikv-ts/codec';
import type {
  CfName,
  EngineIterator,
  IterOptions,
  KvEngine,
  KvEntry,
  ScanOptions,
  Snapshot,
} from '@tikv-ts/engine-traits';
import type { Engine, EngineContext, EngineSnapshot, EngineWriteOptions, Modify } from './engine';

/** Options of {@link LocalEngine}. */
export interface LocalEngineOptions {
  /** fsync every group-committed batch (default true: an acknowledged write survives power loss). */
  readonly sync?: boolean;
}

function toData(origin: Uint8Array): Uint8Array {
  return dataKey(origin);
}

function dataBounds(options: IterOptions | undefined): IterOptions {
  const out: { lowerBound: Uint8Array; upperBound: Uint8Array; fillCache?: boolean } = {
    lowerBound: options?.lowerBound === undefined ? DATA_MIN_KEY : toData(options.lowerBound),
    upperBound: options?.upperBound === undefined ? DATA_MAX_KEY : toData(options.upperBound),
  };
  if (options?.fillCache !== undefined) out.fillCache = options.fillCache;
  return out;
}

/** Strips the `z` prefix from keys of an iterator over data keys. */
class DataIterator implements EngineIterator {
  readonly #inner: EngineIterator;

  constructor(inner: EngineIterator) {
    this.#inner = inner;
  }

  seek(key: Uint8Array): Promise<boolean> {
    return this.#inner.seek(toData(key));
  }
  seekForPrev(key: Uint8Array): Promise<boolean> {
    return this.#inner.seekForPrev(toData(key));
  }
  seekToFirst(): Promise<boolean> {
    return this.#inner.seekToFirst();
  }
  seekToLast(): Promise<boolean> {
    return this.#inner.seekToLast();
  }
  next(): Promise<boolean> {
    return this.#inner.next();
  }
  prev(): Promise<boolean> {
    return this.#inner.prev();
  }
  valid(): boolean {
    return this.#inner.valid();
  }
  key(): Uint8Array {
    return this.#inner.key().subarray(1);
  }
  value(): Uint8Array {
    return this.#inner.value();
  }
  async nextv(limit: number): Promise<KvEntry[]> {
    return stripAll(await this.#inner.nextv(limit));
  }
  async prevv(limit: number): Promise<KvEntry[]> {
    return stripAll(await this.#inner.prevv(limit));
  }
  close(): void {
    this.#inner.close();
  }
}

function stripAll(entries: KvEntry[]): KvEntry[] {
  return entries.map((e) => ({ key: e.key.subarray(1), value: e.value }));
}

/** An {@link EngineSnapshot} over a `KvEngine` snapshot, mapping origin keys to data keys. */
class LocalSnapshot implements EngineSnapshot {
  readonly #snap: Snapshot;

  constructor(snap: Snapshot) {
    this.#snap = snap;
  }

  get(cf: CfName, key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#snap.get(cf, toData(key));
  }
  iterator(cf: CfName, options?: IterOptions): EngineIterator {
    return new DataIterator(this.#snap.iterator(cf, dataBounds(options)));
  }
  async scan(cf: CfName, options?: ScanOptions): Promise<KvEntry[]> {
    const opts: ScanOptions = { ...dataBounds(options) };
    const full: { -readonly [K in keyof ScanOptions]: ScanOptions[K] } = { ...opts };
    if (options?.reverse !== undefined) full.reverse = options.reverse;
    if (options?.limit !== undefined) full.limit = options.limit;
    return stripAll(await this.#snap.scan(cf, full));
  }
  close(): void {
    this.#snap.close();
  }
}

interface PendingWrite {
  readonly modifies: readonly Modify[];
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/**
 * An {@link Engine} on one local `KvEngine` (TiKV's `RocksEngine` of `tikv_kv`): single node, no
 * regions, the context is ignored. User keys get TiKV's `z` data prefix at this boundary, so the
 * engine's layout is the one raftstore produces (ARCHITECTURE.md, storage layout).
 *
 * Group commit: while one batch is being written, later `write` calls queue; when it settles,
 * every queued write goes into the next single (synced) batch, and each caller's promise settles
 * with that batch. Writes become visible in call order. If a batch fails, every write in it
 * rejects with the engine's error and none of them took effect.
 *
 * The `KvEngine` stays owned by the caller (LocalEngine never closes it).
 */
export class LocalEngine implements Engine {
  readonly #kv: KvEngine;
  readonly #sync: boolean;
  #queue: PendingWrite[] = [];
  #writing = false;
  #batches = 0;

  constructor(kv: KvEngine, options?: LocalEngineOptions) {
    this.#kv = kv;
    this.#sync = options?.sync ?? true;
  }

  /** The underlying engine. */
  get kvEngine(): KvEngine {
    return this.#kv;
  }

  /** Number of engine batches written so far (a group commit writes many `write` calls in one). */
  get batchesWritten(): number {
    return this.#batches;
  }

  snapshot(_ctx: EngineContext): Promise<EngineSnapshot> {
    return Promise.resolve(new LocalSnapshot(this.#kv.snapshot()));
  }

  write(_ctx: EngineContext, modifies: readonly Modify[], options?: EngineWriteOptions): Promise<void> {
    if (options?.signal?.aborted === true) return Promise.reject(options.signal.reason as Error);
    if (modifies.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ modifies, resolve, reject });
      if (!this.#writing) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0) {
        const group = this.#queue;
        this.#queue = [];
        try {
          const wb = this.#kv.writeBatch();
          for (const w of group) {
            for (const m of w.modifies) {
              switch (m.type) {
                case 'put':
                  wb.put(m.cf, toData(m.key), m.value);
                  break;
                case 'delete':
                  wb.delete(m.cf, toData(m.key));
                  break;
                case 'deleteRange':
                  if (m.notifyOnly !== true) wb.deleteRange(m.cf, toData(m.startKey), dataEndKey(m.endKey));
                  break;
                default: {
                  const never: never = m;
                  throw new TypeError(`Unknown modify ${JSON.stringify(never)}`);
                }
              }
            }
          }
          await wb.write({ sync: this.#sync });
          this.#batches++;
        } catch (e: unknown) {
          for (const w of group) w.reject(e);
          continue;
        }
        for (const w of group) w.resolve();
      }
    } finally {
      this.#writing = false;
    }
  }
}
