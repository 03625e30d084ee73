import { compareBytes } from '@tikv-ts/codec';
import { ALL_CFS, EngineClosedError, checkCfName } from '@tikv-ts/engine-traits';
import type {
  CfName,
  EngineIterator,
  IterOptions,
  KvEngine,
  KvEntry,
  RangeStats,
  ScanOptions,
  Snapshot,
  WriteBatch,
  WriteOptions,
} from '@tikv-ts/engine-traits';
import { DEFAULT_NODE_CAPACITY, TreeCursor, emptyTree, treeDelete, treeGet, treePut } from './b-tree';
import type { TreeNode } from './b-tree';

const CF_INDEX: Readonly<Record<CfName, number>> = { default: 0, lock: 1, write: 2, raft: 3 };

function cfIndex(cf: CfName): number {
  return CF_INDEX[checkCfName(cf)];
}

type Roots = readonly TreeNode[];

/**
 * The data of a {@link MemoryEngine}, kept apart from the engine so that a closed engine's data
 * can be opened again (`MemoryEngine.open({ store })`): simulations use it to restart a node with
 * what it had. A store is used by at most one open engine at a time.
 */
export class MemoryEngineStore {
  /** @internal */
  roots: Roots = ALL_CFS.map(() => emptyTree());
  /** @internal */
  epoch = 0;
  /** @internal */
  inUse = false;
}

/** Options of {@link MemoryEngine.open}. */
export interface MemoryEngineOptions {
  /** Storage to open (a new empty one when absent). */
  readonly store?: MemoryEngineStore;
  /** @internal B+tree node capacity (tests use small ones to exercise splits). */
  readonly nodeCapacity?: number;
}

type Op =
  | { readonly kind: 'put'; readonly cf: number; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly kind: 'delete'; readonly cf: number; readonly key: Uint8Array }
  | { readonly kind: 'deleteRange'; readonly cf: number; readonly start: Uint8Array; readonly end: Uint8Array };

/** Whether `key` is inside the iterator bounds. */
function inBounds(key: Uint8Array, lower: Uint8Array | undefined, upper: Uint8Array | undefined): boolean {
  return (lower === undefined || compareBytes(key, lower) >= 0) && (upper === undefined || compareBytes(key, upper) < 0);
}

/**
 * `KvEngine` held in memory, with the semantics of engine-rocks: bytewise-ordered keys in four
 * column families, batches atomic across them, snapshots that are O(1) and unaffected by later
 * writes (each column family is a persistent B+tree; a snapshot keeps the roots). Deterministic:
 * no timers, no I/O; every operation completes within the call and returns a settled promise.
 * `sync` is accepted and has no further effect (there is no disk).
 */
export class MemoryEngine implements KvEngine {
  readonly #store: MemoryEngineStore;
  readonly #cap: number;
  #closed = false;

  private constructor(store: MemoryEngineStore, cap: number) {
    this.#store = store;
    this.#cap = cap;
  }

  /**
   * Opens an engine over `options.store` (or a new empty store).
   *
   * @throws Error if the store is already open in another engine
   */
  static open(options: MemoryEngineOptions = {}): MemoryEngine {
    const store = options.store ?? new MemoryEngineStore();
    if (store.inUse) throw new Error('The memory engine store is already open in another engine');
    store.inUse = true;
    return new MemoryEngine(store, options.nodeCapacity ?? DEFAULT_NODE_CAPACITY);
  }

  /** The store this engine reads and writes (to reopen it after `close`). */
  get store(): MemoryEngineStore {
    return this.#store;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  #check(): void {
    if (this.#closed) throw new EngineClosedError('engine', 'memory engine');
  }

  /** @internal Current roots (for snapshots and iterators). Throws when closed. */
  roots(): Roots {
    this.#check();
    return this.#store.roots;
  }

  /** @internal Applies ops atomically (they become visible together, in this call). */
  apply(ops: readonly Op[]): void {
    this.#check();
    if (ops.length === 0) return;
    const store = this.#store;
    // A fresh epoch: nodes created by this batch may be changed in place while it is applied; no
    // readable root (snapshot, iterator) was written with it.
    const epoch = ++store.epoch;
    const roots = store.roots.slice();
    for (const op of ops) {
      const root = roots[op.cf] as TreeNode;
      switch (op.kind) {
        case 'put':
          roots[op.cf] = treePut(root, op.key, op.value, epoch, this.#cap);
          break;
        case 'delete':
          roots[op.cf] = treeDelete(root, op.key, epoch);
          break;
        case 'deleteRange': {
          if (compareBytes(op.start, op.end) >= 0) break;
          const doomed: Uint8Array[] = [];
          const c = new TreeCursor(root);
          for (c.seekGE(op.start); c.valid && compareBytes(c.key, op.end) < 0; c.next()) doomed.push(c.key);
          let r = root;
          for (const k of doomed) r = treeDelete(r, k, epoch);
          roots[op.cf] = r;
          break;
        }
        default: {
          const never: never = op;
          throw new Error(`Unknown op ${JSON.stringify(never)}`);
        }
      }
    }
    store.roots = roots;
  }

  #run<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (e: unknown) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  get(cf: CfName, key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#run(() => readGet(this.roots(), cf, key));
  }

  multiGet(cf: CfName, keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    return this.#run(() => readMultiGet(this.roots(), cf, keys));
  }

  iterator(cf: CfName, options?: IterOptions): EngineIterator {
    const i = cfIndex(cf);
    return new MemoryIterator(this, this.roots()[i] as TreeNode, options);
  }

  scan(cf: CfName, options?: ScanOptions): Promise<KvEntry[]> {
    return this.#run(() => readScan(this.roots(), cf, options));
  }

  put(cf: CfName, key: Uint8Array, value: Uint8Array, _options?: WriteOptions): Promise<void> {
    return this.#run(() => this.apply([{ kind: 'put', cf: cfIndex(cf), key: key.slice(), value: value.slice() }]));
  }

  delete(cf: CfName, key: Uint8Array, _options?: WriteOptions): Promise<void> {
    return this.#run(() => this.apply([{ kind: 'delete', cf: cfIndex(cf), key: key.slice() }]));
  }

  deleteRange(cf: CfName, start: Uint8Array, end: Uint8Array, _options?: WriteOptions): Promise<void> {
    return this.#run(() => this.apply([{ kind: 'deleteRange', cf: cfIndex(cf), start: start.slice(), end: end.slice() }]));
  }

  writeBatch(): WriteBatch {
    this.#check();
    return new MemoryWriteBatch(this);
  }

  snapshot(): Snapshot {
    return new MemorySnapshot(this, this.roots());
  }

  approximateRangeStats(cf: CfName, start: Uint8Array, end: Uint8Array): Promise<RangeStats> {
    return this.#run(() => {
      const root = this.roots()[cfIndex(cf)] as TreeNode;
      let sizeBytes = 0;
      let keys = 0;
      const c = new TreeCursor(root);
      for (c.seekGE(start); c.valid && compareBytes(c.key, end) < 0; c.next()) {
        sizeBytes += c.key.length + c.value.length;
        keys++;
      }
      return { sizeBytes, keys };
    });
  }

  compactRange(cf: CfName, _start?: Uint8Array, _end?: Uint8Array): Promise<void> {
    return this.#run(() => {
      this.#check();
      checkCfName(cf);
    });
  }

  flush(cf?: CfName): Promise<void> {
    return this.#run(() => {
      this.#check();
      if (cf !== undefined) checkCfName(cf);
    });
  }

  syncWal(): Promise<void> {
    return this.#run(() => this.#check());
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#store.inUse = false;
    }
    return Promise.resolve();
  }
}

function readGet(roots: Roots, cf: CfName, key: Uint8Array): Uint8Array | undefined {
  return treeGet(roots[cfIndex(cf)] as TreeNode, key);
}

function readMultiGet(roots: Roots, cf: CfName, keys: readonly Uint8Array[]): (Uint8Array | undefined)[] {
  const root = roots[cfIndex(cf)] as TreeNode;
  return keys.map((k) => treeGet(root, k));
}

function readScan(roots: Roots, cf: CfName, options: ScanOptions = {}): KvEntry[] {
  const root = roots[cfIndex(cf)] as TreeNode;
  const { lowerBound: lower, upperBound: upper } = options;
  const limit = options.limit ?? Infinity;
  const out: KvEntry[] = [];
  if (limit <= 0) return out;
  const c = new TreeCursor(root);
  if (options.reverse === true) {
    if (upper === undefined) c.last();
    else c.seekLT(upper);
    for (; c.valid && (lower === undefined || compareBytes(c.key, lower) >= 0); c.prev()) {
      out.push({ key: c.key, value: c.value });
      if (out.length >= limit) break;
    }
  } else {
    if (lower === undefined) c.first();
    else c.seekGE(lower);
    for (; c.valid && (upper === undefined || compareBytes(c.key, upper) < 0); c.next()) {
      out.push({ key: c.key, value: c.value });
      if (out.length >= limit) break;
    }
  }
  return out;
}

/** A batch of a {@link MemoryEngine}; keys and values are copied when added. */
export class MemoryWriteBatch implements WriteBatch {
  readonly #engine: MemoryEngine;
  #ops: Op[] = [];
  #dataSize = 0;

  /** @internal Use `engine.writeBatch()`. */
  constructor(engine: MemoryEngine) {
    this.#engine = engine;
  }

  put(cf: CfName, key: Uint8Array, value: Uint8Array): void {
    this.#ops.push({ kind: 'put', cf: cfIndex(cf), key: key.slice(), value: value.slice() });
    this.#dataSize += key.length + value.length;
  }

  delete(cf: CfName, key: Uint8Array): void {
    this.#ops.push({ kind: 'delete', cf: cfIndex(cf), key: key.slice() });
    this.#dataSize += key.length;
  }

  deleteRange(cf: CfName, start: Uint8Array, end: Uint8Array): void {
    this.#ops.push({ kind: 'deleteRange', cf: cfIndex(cf), start: start.slice(), end: end.slice() });
    this.#dataSize += start.length + end.length;
  }

  count(): number {
    return this.#ops.length;
  }

  isEmpty(): boolean {
    return this.#ops.length === 0;
  }

  dataSize(): number {
    return this.#dataSize;
  }

  clear(): void {
    this.#ops = [];
    this.#dataSize = 0;
  }

  write(_options?: WriteOptions): Promise<void> {
    try {
      this.#engine.apply(this.#ops);
      return Promise.resolve();
    } catch (e: unknown) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }
}

/** A point-in-time view of a {@link MemoryEngine}: it holds the roots of that moment. */
export class MemorySnapshot implements Snapshot {
  readonly #engine: MemoryEngine;
  readonly #roots: Roots;
  #closed = false;

  /** @internal Use `engine.snapshot()`. */
  constructor(engine: MemoryEngine, roots: Roots) {
    this.#engine = engine;
    this.#roots = roots;
  }

  #check(): Roots {
    if (this.#engine.isClosed) throw new EngineClosedError('engine', 'memory engine');
    if (this.#closed) throw new EngineClosedError('snapshot');
    return this.#roots;
  }

  #run<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (e: unknown) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  get(cf: CfName, key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#run(() => readGet(this.#check(), cf, key));
  }

  multiGet(cf: CfName, keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    return this.#run(() => readMultiGet(this.#check(), cf, keys));
  }

  iterator(cf: CfName, options?: IterOptions): EngineIterator {
    const roots = this.#check();
    return new MemoryIterator(this.#engine, roots[cfIndex(cf)] as TreeNode, options);
  }

  scan(cf: CfName, options?: ScanOptions): Promise<KvEntry[]> {
    return this.#run(() => readScan(this.#check(), cf, options));
  }

  close(): void {
    this.#closed = true;
  }
}

/** An iterator over one root of a {@link MemoryEngine}, with RocksDB's bound semantics. */
export class MemoryIterator implements EngineIterator {
  readonly #engine: MemoryEngine;
  readonly #cursor: TreeCursor;
  readonly #lower: Uint8Array | undefined;
  readonly #upper: Uint8Array | undefined;
  /** Bounds that admit no key: every positioning call is invalid. */
  readonly #emptyRange: boolean;
  #valid = false;
  #closed = false;

  /** @internal Use `engine.iterator()` or `snapshot.iterator()`. */
  constructor(engine: MemoryEngine, root: TreeNode, options: IterOptions | undefined) {
    this.#engine = engine;
    this.#cursor = new TreeCursor(root);
    this.#lower = options?.lowerBound?.slice();
    this.#upper = options?.upperBound?.slice();
    this.#emptyRange = this.#lower !== undefined && this.#upper !== undefined && compareBytes(this.#lower, this.#upper) >= 0;
  }

  #check(): void {
    if (this.#closed) throw new EngineClosedError('iterator');
    if (this.#engine.isClosed) throw new EngineClosedError('engine', 'memory engine');
  }

  #checkValid(): void {
    this.#check();
    if (!this.#valid) throw new Error('Iterator is not positioned at an entry');
  }

  #settle(): boolean {
    const c = this.#cursor;
    this.#valid = !this.#emptyRange && c.valid && inBounds(c.key, this.#lower, this.#upper);
    return this.#valid;
  }

  #run(fn: () => boolean): Promise<boolean> {
    try {
      return Promise.resolve(fn());
    } catch (e: unknown) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  #seekSync(key: Uint8Array): boolean {
    this.#check();
    const lower = this.#lower;
    this.#cursor.seekGE(lower !== undefined && compareBytes(key, lower) < 0 ? lower : key);
    return this.#settle();
  }

  #seekForPrevSync(key: Uint8Array): boolean {
    this.#check();
    const upper = this.#upper;
    if (upper !== undefined && compareBytes(key, upper) >= 0) this.#cursor.seekLT(upper);
    else this.#cursor.seekLE(key);
    return this.#settle();
  }

  seek(key: Uint8Array): Promise<boolean> {
    return this.#run(() => this.#seekSync(key));
  }

  seekForPrev(key: Uint8Array): Promise<boolean> {
    return this.#run(() => this.#seekForPrevSync(key));
  }

  seekToFirst(): Promise<boolean> {
    return this.#run(() => {
      this.#check();
      if (this.#lower === undefined) this.#cursor.first();
      else this.#cursor.seekGE(this.#lower);
      return this.#settle();
    });
  }

  seekToLast(): Promise<boolean> {
    return this.#run(() => {
      this.#check();
      if (this.#upper === undefined) this.#cursor.last();
      else this.#cursor.seekLT(this.#upper);
      return this.#settle();
    });
  }

  next(): Promise<boolean> {
    return this.#run(() => {
      this.#checkValid();
      this.#cursor.next();
      return this.#settle();
    });
  }

  prev(): Promise<boolean> {
    return this.#run(() => {
      this.#checkValid();
      this.#cursor.prev();
      return this.#settle();
    });
  }

  valid(): boolean {
    this.#check();
    return this.#valid;
  }

  key(): Uint8Array {
    this.#checkValid();
    return this.#cursor.key;
  }

  value(): Uint8Array {
    this.#checkValid();
    return this.#cursor.value;
  }

  #chunk(limit: number, forward: boolean): KvEntry[] {
    this.#check();
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
    const out: KvEntry[] = [];
    const c = this.#cursor;
    while (this.#valid && out.length < limit) {
      out.push({ key: c.key, value: c.value });
      if (forward) c.next();
      else c.prev();
      this.#settle();
    }
    return out;
  }

  nextv(limit: number): Promise<KvEntry[]> {
    try {
      return Promise.resolve(this.#chunk(limit, true));
    } catch (e: unknown) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  prevv(limit: number): Promise<KvEntry[]> {
    try {
      return Promise.resolve(this.#chunk(limit, false));
    } catch (e: unknown) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  close(): void {
    this.#closed = true;
    this.#valid = false;
  }
}
