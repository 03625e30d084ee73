// A small in-memory KvEngine for PD's specs (engine-memory had not landed when these were
// written). Sorted arrays per column family; synced and unsynced writes behave the same; counts
// synced writes so specs can check how often PD writes.
import { compareBytes } from '@tikv-ts/codec';
import type { CfName, EngineIterator, KvEngine, KvEntry, ScanOptions, Snapshot, WriteBatch, WriteOptions } from '@tikv-ts/engine-traits';

type Table = Map<string, KvEntry>;

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

export class TestKvEngine implements KvEngine {
  readonly #cfs = new Map<CfName, Table>();
  syncedWrites = 0;
  #closed = false;

  #table(cf: CfName): Table {
    let t = this.#cfs.get(cf);
    if (t === undefined) {
      t = new Map();
      this.#cfs.set(cf, t);
    }
    return t;
  }

  #count(options?: WriteOptions): void {
    if (this.#closed) throw new Error('closed');
    if (options?.sync === true) this.syncedWrites++;
  }

  get(cf: CfName, key: Uint8Array): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.#table(cf).get(hex(key))?.value);
  }
  async multiGet(cf: CfName, keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    return Promise.all(keys.map((k) => this.get(cf, k)));
  }
  scan(cf: CfName, options: ScanOptions = {}): Promise<KvEntry[]> {
    let out = [...this.#table(cf).values()]
      .filter((e) => (options.lowerBound === undefined || compareBytes(e.key, options.lowerBound) >= 0) && (options.upperBound === undefined || compareBytes(e.key, options.upperBound) < 0))
      .sort((a, b) => compareBytes(a.key, b.key));
    if (options.reverse === true) out = out.reverse();
    if (options.limit !== undefined) out = out.slice(0, options.limit);
    return Promise.resolve(out);
  }
  iterator(): EngineIterator {
    throw new Error('not supported by TestKvEngine');
  }
  put(cf: CfName, key: Uint8Array, value: Uint8Array, options?: WriteOptions): Promise<void> {
    this.#count(options);
    this.#table(cf).set(hex(key), { key: key.slice(), value: value.slice() });
    return Promise.resolve();
  }
  delete(cf: CfName, key: Uint8Array, options?: WriteOptions): Promise<void> {
    this.#count(options);
    this.#table(cf).delete(hex(key));
    return Promise.resolve();
  }
  deleteRange(cf: CfName, start: Uint8Array, end: Uint8Array, options?: WriteOptions): Promise<void> {
    this.#count(options);
    for (const [k, e] of this.#table(cf)) if (compareBytes(e.key, start) >= 0 && compareBytes(e.key, end) < 0) this.#table(cf).delete(k);
    return Promise.resolve();
  }
  writeBatch(): WriteBatch {
    const ops: (() => void)[] = [];
    let size = 0;
    const table = (cf: CfName): Table => this.#table(cf);
    const count = (options?: WriteOptions): void => this.#count(options);
    return {
      put(cf, key, value) {
        const k = key.slice();
        const v = value.slice();
        size += k.length + v.length;
        ops.push(() => table(cf).set(hex(k), { key: k, value: v }));
      },
      delete(cf, key) {
        const k = key.slice();
        ops.push(() => table(cf).delete(hex(k)));
      },
      deleteRange(cf, start, end) {
        ops.push(() => {
          for (const [k, e] of table(cf)) if (compareBytes(e.key, start) >= 0 && compareBytes(e.key, end) < 0) table(cf).delete(k);
        });
      },
      count: () => ops.length,
      isEmpty: () => ops.length === 0,
      dataSize: () => size,
      clear: () => {
        ops.length = 0;
        size = 0;
      },
      write(options?: WriteOptions) {
        count(options);
        for (const op of ops) op();
        return Promise.resolve();
      },
    };
  }
  snapshot(): Snapshot {
    throw new Error('not supported by TestKvEngine');
  }
  approximateRangeStats(): Promise<{ sizeBytes: number; keys: number }> {
    return Promise.resolve({ sizeBytes: 0, keys: 0 });
  }
  compactRange(): Promise<void> {
    return Promise.resolve();
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  syncWal(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
  get isClosed(): boolean {
    return this.#closed;
  }
  /** Opens the same data again (a restart of the process that keeps what was written). */
  reopen(): TestKvEngine {
    const e = new TestKvEngine();
    for (const [cf, t] of this.#cfs) e.#cfs.set(cf, new Map(t));
    return e;
  }
}
