import { mkdir } from 'node:fs/promises';
import RocksDB from 'rocksdb-native';
import { compareBytes } from '@tikv-ts/codec';
import { ALL_CFS, EngineClosedError, EngineIoError, checkCfName } from '@tikv-ts/engine-traits';
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
import { GetBatcher } from './get-batcher';
import { NativeCursor } from './native-cursor';
import { readChunk } from './native-chunk';
import { DEFAULT_ROCKS_OPTIONS, resolveCfOptions, rocksMemoryBoundBytes } from './options';
import type { RocksEngineOptions } from './options';
import { WalSyncer } from './wal-syncer';

const CF_INDEX: Readonly<Record<CfName, number>> = { default: 0, lock: 1, write: 2, raft: 3 };

function cfIndex(cf: CfName): number {
  return CF_INDEX[checkCfName(cf)];
}

/** The smallest key above `key`: `key` followed by a zero byte. */
function successor(key: Uint8Array): Uint8Array {
  const s = new Uint8Array(key.length + 1);
  s.set(key);
  return s;
}

const EMPTY = new Uint8Array(0);
/** Above every key the project writes (TiKV keys start with 'z' or 0x01). */
const MAX_PROBE_KEY = new Uint8Array(256).fill(0xff);

const PUT = 0;
const DELETE = 1;
const DELETE_RANGE = 2;

/** One mutation as queued for the binding. */
interface NativeOp {
  readonly t: typeof PUT | typeof DELETE | typeof DELETE_RANGE;
  readonly cf: number;
  readonly a: Uint8Array;
  readonly b: Uint8Array;
}

interface PendingWrite {
  readonly ops: readonly NativeOp[];
  readonly sync: boolean;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

/** Something that holds native resources and must be released before the database closes. */
interface LiveResource {
  close(): void;
}

/**
 * `KvEngine` on RocksDB 10.5.1 through the npm binding rocksdb-native 3.18.1 (prebuilt; see the
 * package README for why this binding and what was measured).
 *
 * - Column families are RocksDB column families; a `WriteBatch` is one RocksDB write batch that
 *   spans them, so it is atomic (in the WAL and to readers).
 * - Writes go through one queue: while one native write is in flight, later batches wait and are
 *   then written together in one native batch (group commit). This keeps the order of `write`
 *   calls (the binding's thread pool would not) and amortizes fsyncs.
 * - `sync` writes: the binding cannot set RocksDB's `WriteOptions.sync`, so after the group's
 *   write completes the engine fdatasyncs the WAL files itself ({@link WalSyncer}), which is the
 *   same durability RocksDB's sync write gives.
 * - Snapshots are RocksDB snapshots, one shared by every `snapshot()`/`iterator()` call made while
 *   no write happens (see {@link RocksEngine.takeNativeSnap} for why that is indistinguishable
 *   from one snapshot per call); gets on one native snapshot in one microtask checkpoint become
 *   one native read batch. Iterators hold their snapshot, so repositioning never changes the view.
 */
export class RocksEngine implements KvEngine {
  readonly #path: string;
  readonly #root: RocksDB;
  readonly #cfDb: readonly RocksDB[];
  readonly #getters: readonly GetBatcher[];
  readonly #wal: WalSyncer;
  readonly #chunk: number;
  readonly #live = new Set<LiveResource>();
  #queue: PendingWrite[] = [];
  #drain: Promise<void> | undefined;
  #draining = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** True from just before a native write is handed to the binding until its completion is seen. */
  #nativeWriting = false;
  /**
   * The native snapshot that `snapshot()` and `iterator()` hand out while no write happens; see
   * {@link RocksEngine.takeNativeSnap} for why sharing it is sound.
   */
  #shared: NativeSnap | undefined;
  #nativeSnapshots = 0;

  private constructor(path: string, root: RocksDB, chunk: number) {
    this.#path = path;
    this.#root = root;
    this.#cfDb = ALL_CFS.map((cf) => (cf === 'default' ? root : root.columnFamily(cf)));
    this.#getters = this.#cfDb.map((db) => new GetBatcher(db));
    this.#wal = new WalSyncer(path, () => root.currentWalFile());
    this.#chunk = chunk;
  }

  /**
   * Opens (creating when missing) the database at `options.path` with the four column families.
   *
   * @throws RangeError if the resolved options' memory bound exceeds `memoryLimitBytes`
   * @throws EngineIoError if RocksDB cannot open the directory (locked by another process, damaged, ...)
   */
  static async open(options: RocksEngineOptions): Promise<RocksEngine> {
    const bound = rocksMemoryBoundBytes(options);
    if (options.memoryLimitBytes !== undefined && bound > options.memoryLimitBytes) {
      throw new RangeError(`RocksDB options need up to ${bound} bytes of memory, above the limit of ${options.memoryLimitBytes}`);
    }
    const families = ALL_CFS.map((cf) => {
      const o = resolveCfOptions(options, cf);
      if (o.compression !== 'none') throw new RangeError(`Column family ${cf}: compression ${String(o.compression)} is not available in this RocksDB build`);
      return new RocksDB.ColumnFamily(cf, {
        blockCache: o.blockCache,
        writeBufferSize: o.writeBufferSizeBytes,
        maxWriteBufferNumber: o.maxWriteBufferNumber,
        filterPolicy: o.bloomFilterBitsPerKey > 0 ? new RocksDB.BloomFilterPolicy(o.bloomFilterBitsPerKey) : null,
        tableBlockSize: o.blockSizeBytes,
        tableCacheIndexAndFilterBlocks: o.blockCache,
      });
    });
    let root: RocksDB | undefined;
    try {
      await mkdir(options.path, { recursive: true });
      root = new RocksDB(options.path, {
        columnFamily: families[0] as RocksDB.ColumnFamily,
        columnFamilies: families.slice(1),
        createIfMissing: true,
        createMissingColumnFamilies: true,
        maxBackgroundJobs: options.maxBackgroundJobs ?? DEFAULT_ROCKS_OPTIONS.maxBackgroundJobs,
        maxOpenFiles: options.maxOpenFiles ?? DEFAULT_ROCKS_OPTIONS.maxOpenFiles,
      });
      await root.ready();
    } catch (e: unknown) {
      await root?.close().catch(() => undefined);
      throw new EngineIoError('open', `${options.path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    return new RocksEngine(options.path, root, options.iteratorChunk ?? DEFAULT_ROCKS_OPTIONS.iteratorChunk);
  }

  /** Directory of the database. */
  get path(): string {
    return this.#path;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** @internal */
  check(): void {
    if (this.#closed) throw new EngineClosedError('engine', this.#path);
  }

  /** @internal Maps a binding failure to EngineClosedError (when closing) or EngineIoError. */
  fail(operation: string, e: unknown): Error {
    if (e instanceof EngineClosedError) return e;
    if (this.#closed) return new EngineClosedError('engine', this.#path, { cause: e });
    return new EngineIoError(operation, e instanceof Error ? e.message : String(e), { cause: e });
  }

  /** @internal */
  track(r: LiveResource): void {
    this.#live.add(r);
  }

  /** @internal */
  untrack(r: LiveResource): void {
    this.#live.delete(r);
  }

  /** @internal The session of column family `i` at the latest state. */
  cfDb(i: number): RocksDB {
    return this.#cfDb[i] as RocksDB;
  }

  /** @internal Number of RocksDB snapshots taken so far (tests check the sharing with it). */
  get nativeSnapshotsTaken(): number {
    return this.#nativeSnapshots;
  }

  /** @internal The chunk size of native iterator reads. */
  get chunk(): number {
    return this.#chunk;
  }

  /** @internal Queues a write; see the class comment. */
  submit(ops: readonly NativeOp[], sync: boolean): Promise<void> {
    if (this.#closed) return Promise.reject(new EngineClosedError('engine', this.#path));
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ ops, sync, resolve, reject });
      if (!this.#draining) {
        this.#draining = true;
        this.#drain = this.#runQueue();
      }
    });
  }

  async #runQueue(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const group = this.#queue;
        this.#queue = [];
        let error: Error | undefined;
        try {
          await this.#writeNative(group);
          if (group.some((g) => g.sync)) await this.#wal.sync();
        } catch (e: unknown) {
          error = this.fail('write', e);
        }
        for (const g of group) {
          if (error === undefined) g.resolve();
          else g.reject(error);
        }
      }
    } finally {
      // Cleared in the same tick as the last emptiness check (continuations of the resolved
      // writes run later), so a write they submit starts a new drain.
      this.#draining = false;
    }
  }

  async #writeNative(group: readonly PendingWrite[]): Promise<void> {
    let n = 0;
    for (const g of group) n += g.ops.length;
    if (n === 0) return;
    const root = this.#root;
    const wb = root.write({ capacity: n, autoDestroy: true });
    try {
      for (const g of group) {
        for (const op of g.ops) {
          // The binding puts each operation into the column family of the batch's session; all
          // sessions share one database, so switching it per operation yields one atomic native
          // batch over several column families (rocksdb-native 3.18.1 internals, version pinned).
          wb._db = this.#cfDb[op.cf] as RocksDB;
          if (op.t === PUT) wb.tryPut(op.a, op.b);
          else if (op.t === DELETE) wb.tryDelete(op.a);
          else wb.tryDeleteRange(op.a, op.b);
        }
      }
    } catch (e: unknown) {
      wb._db = root;
      wb.destroy();
      throw e;
    }
    wb._db = root;
    // From here until the write's completion is seen, the database may change at any moment:
    // retire the shared snapshot and take no new one as shared (see takeNativeSnap).
    this.#nativeWriting = true;
    const shared = this.#shared;
    this.#shared = undefined;
    shared?.retire();
    try {
      await wb.flush();
    } finally {
      this.#nativeWriting = false;
    }
  }

  /**
   * @internal A native snapshot for a new engine snapshot or iterator, with one reference taken
   * for the caller.
   *
   * Sharing. `#shared` is only ever set to a snapshot that was created while no native write was
   * in flight (`#nativeWriting` false: every earlier write had completed and been seen to
   * complete), and it is cleared synchronously, before the binding receives the next write.
   * So whenever `#shared` is defined, no write has been applied to the database between its
   * creation and now: every write that completed before now completed before it was created
   * (hence is in it), and no other write has started. A RocksDB snapshot taken now would hold
   * exactly the same data in every column family; handing out the shared one is therefore
   * indistinguishable from taking a new one (it sees every acknowledged write, nothing newer, one
   * point in time for all CFs). Flushes and compactions do not change what a snapshot reads.
   * While a write is in flight, every call gets a fresh native snapshot of its own (not shared).
   */
  takeNativeSnap(): NativeSnap {
    let s = this.#shared;
    if (s === undefined) {
      this.#nativeSnapshots++;
      s = new NativeSnap(this.#root.snapshot());
      s.acquire();
      if (this.#nativeWriting) s.retire();
      else this.#shared = s;
      return s;
    }
    s.acquire();
    return s;
  }

  get(cf: CfName, key: Uint8Array): Promise<Uint8Array | undefined> {
    return readGet(this, this.#getters, cf, key);
  }

  multiGet(cf: CfName, keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    return readMultiGet(this, this.#cfDb, cf, keys);
  }

  iterator(cf: CfName, options?: IterOptions): EngineIterator {
    this.check();
    const i = cfIndex(cf);
    const snap = this.takeNativeSnap();
    return new RocksIterator(this, snap, i, options);
  }

  scan(cf: CfName, options?: ScanOptions): Promise<KvEntry[]> {
    try {
      this.check();
      return scanSession(this, this.#cfDb[cfIndex(cf)] as RocksDB, options);
    } catch (e: unknown) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  async put(cf: CfName, key: Uint8Array, value: Uint8Array, options?: WriteOptions): Promise<void> {
    const wb = this.writeBatch();
    wb.put(cf, key, value);
    await wb.write(options);
  }

  async delete(cf: CfName, key: Uint8Array, options?: WriteOptions): Promise<void> {
    const wb = this.writeBatch();
    wb.delete(cf, key);
    await wb.write(options);
  }

  async deleteRange(cf: CfName, start: Uint8Array, end: Uint8Array, options?: WriteOptions): Promise<void> {
    const wb = this.writeBatch();
    wb.deleteRange(cf, start, end);
    await wb.write(options);
  }

  writeBatch(): WriteBatch {
    this.check();
    return new RocksWriteBatch(this);
  }

  snapshot(): Snapshot {
    this.check();
    return new RocksSnapshot(this, this.takeNativeSnap());
  }

  async approximateRangeStats(cf: CfName, start: Uint8Array, end: Uint8Array): Promise<RangeStats> {
    this.check();
    const db = this.#cfDb[cfIndex(cf)] as RocksDB;
    if (compareBytes(start, end) >= 0) return { sizeBytes: 0, keys: 0 };
    try {
      const opts = { includeMemtables: true, includeFiles: true };
      const [size, total, keysTotal] = await Promise.all([
        db.approximateSize(start, end, opts),
        db.approximateSize(EMPTY, MAX_PROBE_KEY, opts),
        db.getProperty('rocksdb.estimate-num-keys'),
      ]);
      const sizeBytes = Number(size);
      const totalBytes = Number(total);
      // RocksDB estimates bytes per range but keys only per column family: spread the CF's key
      // count over its bytes.
      const keys = totalBytes > 0 ? Math.round(Number(keysTotal ?? 0) * Math.min(1, sizeBytes / totalBytes)) : 0;
      return { sizeBytes, keys };
    } catch (e: unknown) {
      throw this.fail('approximateRangeStats', e);
    }
  }

  async compactRange(cf: CfName, start?: Uint8Array, end?: Uint8Array): Promise<void> {
    this.check();
    const db = this.#cfDb[cfIndex(cf)] as RocksDB;
    try {
      // The binding's compactRange(start, end) takes any object argument for its options, so a
      // Uint8Array bound would be misread; its state method takes the bounds as given.
      await db._state.compactRange(db, start ?? null, end ?? null, {});
    } catch (e: unknown) {
      throw this.fail('compactRange', e);
    }
  }

  async flush(cf?: CfName): Promise<void> {
    this.check();
    const targets = cf === undefined ? this.#cfDb : [this.#cfDb[cfIndex(cf)] as RocksDB];
    try {
      for (const db of targets) await db.flush();
    } catch (e: unknown) {
      throw this.fail('flush', e);
    }
  }

  async syncWal(): Promise<void> {
    this.check();
    try {
      await this.#wal.sync();
    } catch (e: unknown) {
      throw this.fail('syncWal', e);
    }
  }

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    // Gets accepted before close are sent while the database is open.
    for (const g of this.#getters) g.flushNow();
    this.#closing = (async () => {
      // Writes accepted before close complete (or fail) first.
      while (this.#draining) await this.#drain;
      for (const r of [...this.#live]) r.close();
      const shared = this.#shared;
      this.#shared = undefined;
      shared?.retire();
      await this.#wal.close();
      await this.#root.close({ force: true });
    })();
    return this.#closing;
  }
}

async function readGet(engine: RocksEngine, getters: readonly GetBatcher[], cf: CfName, key: Uint8Array): Promise<Uint8Array | undefined> {
  engine.check();
  const getter = getters[cfIndex(cf)] as GetBatcher;
  try {
    const v = await getter.get(key);
    return v ?? undefined;
  } catch (e: unknown) {
    throw engine.fail('get', e);
  }
}

async function readMultiGet(
  engine: RocksEngine,
  dbs: readonly RocksDB[],
  cf: CfName,
  keys: readonly Uint8Array[],
): Promise<(Uint8Array | undefined)[]> {
  engine.check();
  const db = dbs[cfIndex(cf)] as RocksDB;
  if (keys.length === 0) return [];
  try {
    const r = db.read({ capacity: keys.length, autoDestroy: true });
    const pending = keys.map((k) => r.get(k));
    r.tryFlush();
    const values = await Promise.all(pending);
    return values.map((v) => v ?? undefined);
  } catch (e: unknown) {
    throw engine.fail('multiGet', e);
  }
}

/** Native range for bounds `[lower, upper)`, or undefined when it is empty. */
function nativeRange(lower: Uint8Array | undefined, upper: Uint8Array | undefined): RocksDB.IteratorRange | undefined {
  if (upper !== undefined && (upper.length === 0 || (lower !== undefined && compareBytes(lower, upper) >= 0))) return undefined;
  const range: RocksDB.IteratorRange = {};
  // The binding reads an empty bound as "no bound": right for a lower bound, and an empty upper
  // bound was answered above.
  if (lower !== undefined && lower.length > 0) range.gte = lower;
  if (upper !== undefined) range.lt = upper;
  return range;
}

async function scanSession(engine: RocksEngine, db: RocksDB, options: ScanOptions = {}): Promise<KvEntry[]> {
  const limit = options.limit;
  if (limit !== undefined && limit <= 0) return [];
  const range = nativeRange(options.lowerBound, options.upperBound);
  if (range === undefined) return [];
  const chunk = engine.chunk;
  const it = db.iterator(range, {
    reverse: options.reverse === true,
    capacity: limit === undefined ? chunk : Math.min(limit, chunk),
    ...(limit === undefined ? {} : { limit }),
  });
  const out: KvEntry[] = [];
  try {
    for (;;) {
      const part = await readChunk(it, Number.MAX_SAFE_INTEGER);
      if (part === null) break;
      for (const e of part) out.push(e);
    }
  } catch (e: unknown) {
    throw engine.fail('scan', e);
  } finally {
    if (!it.destroyed) it.destroy();
  }
  return out;
}

/** A write batch of a {@link RocksEngine}: mutations are kept in JS until `write`. */
export class RocksWriteBatch implements WriteBatch {
  readonly #engine: RocksEngine;
  #ops: NativeOp[] = [];
  #count = 0;
  #dataSize = 0;

  /** @internal Use `engine.writeBatch()`. */
  constructor(engine: RocksEngine) {
    this.#engine = engine;
  }

  put(cf: CfName, key: Uint8Array, value: Uint8Array): void {
    this.#ops.push({ t: PUT, cf: cfIndex(cf), a: key, b: value });
    this.#count++;
    this.#dataSize += key.length + value.length;
  }

  delete(cf: CfName, key: Uint8Array): void {
    this.#ops.push({ t: DELETE, cf: cfIndex(cf), a: key, b: EMPTY });
    this.#count++;
    this.#dataSize += key.length;
  }

  deleteRange(cf: CfName, start: Uint8Array, end: Uint8Array): void {
    const i = cfIndex(cf);
    this.#count++;
    this.#dataSize += start.length + end.length;
    // RocksDB rejects a range whose end is below its start (failing the whole batch); it is empty.
    if (compareBytes(start, end) < 0) this.#ops.push({ t: DELETE_RANGE, cf: i, a: start, b: end });
  }

  count(): number {
    return this.#count;
  }

  isEmpty(): boolean {
    return this.#count === 0;
  }

  dataSize(): number {
    return this.#dataSize;
  }

  clear(): void {
    this.#ops = [];
    this.#count = 0;
    this.#dataSize = 0;
  }

  write(options?: WriteOptions): Promise<void> {
    return this.#engine.submit(this.#ops.slice(), options?.sync === true);
  }
}

/**
 * One RocksDB snapshot (one sequence number for every column family), possibly shared by several
 * engine snapshots and iterators (see `RocksEngine.takeNativeSnap`). Holds the per-CF sessions on
 * it and their get batchers, so gets of every holder issued in one microtask checkpoint go to the
 * binding as one read batch per CF. Released when it is retired (a write started, or the engine
 * closes) and no holder is left.
 */
class NativeSnap {
  readonly #sessions: (RocksDB | undefined)[];
  readonly #getters: (GetBatcher | undefined)[] = [undefined, undefined, undefined, undefined];
  #refs = 0;
  #retired = false;
  #released = false;

  constructor(rootSession: RocksDB) {
    this.#sessions = [rootSession, undefined, undefined, undefined];
  }

  /** The session of column family `i` on this snapshot. */
  session(i: number): RocksDB {
    let s = this.#sessions[i];
    if (s === undefined) {
      s = (this.#sessions[0] as RocksDB).columnFamily(ALL_CFS[i] as CfName);
      this.#sessions[i] = s;
    }
    return s;
  }

  getter(i: number): GetBatcher {
    let g = this.#getters[i];
    if (g === undefined) {
      g = new GetBatcher(this.session(i));
      this.#getters[i] = g;
    }
    return g;
  }

  acquire(): void {
    this.#refs++;
  }

  release(): void {
    this.#refs--;
    this.#maybeFree();
  }

  /** No new holder will get this snapshot. */
  retire(): void {
    this.#retired = true;
    this.#maybeFree();
  }

  #maybeFree(): void {
    if (this.#refs > 0 || !this.#retired || this.#released) return;
    this.#released = true;
    // Gets issued before the last holder closed are sent now, while their sessions are open.
    for (const g of this.#getters) g?.flushNow();
    // Closing a session only unregisters it; RocksDB releases the snapshot when the last session
    // and the last native iterator or read batch on it are gone. Deferred by a microtask so
    // that a read batch sent just above is registered before its session closes.
    const sessions = this.#sessions.filter((x): x is RocksDB => x !== undefined).reverse();
    queueMicrotask(() => {
      for (const x of sessions) void x.close().catch(() => undefined);
    });
  }
}

/** A RocksDB snapshot spanning every column family. */
export class RocksSnapshot implements Snapshot, LiveResource {
  readonly #engine: RocksEngine;
  readonly #snap: NativeSnap;
  #closed = false;

  /** @internal Use `engine.snapshot()`; takes over one reference of `snap`. */
  constructor(engine: RocksEngine, snap: NativeSnap) {
    this.#engine = engine;
    this.#snap = snap;
    engine.track(this);
  }

  #check(): void {
    this.#engine.check();
    if (this.#closed) throw new EngineClosedError('snapshot');
  }

  async get(cf: CfName, key: Uint8Array): Promise<Uint8Array | undefined> {
    this.#check();
    const getter = this.#snap.getter(cfIndex(cf));
    try {
      return (await getter.get(key)) ?? undefined;
    } catch (e: unknown) {
      throw this.#engine.fail('get', e);
    }
  }

  async multiGet(cf: CfName, keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    this.#check();
    const s = this.#snap.session(cfIndex(cf));
    return readMultiGet(this.#engine, [s, s, s, s], cf, keys);
  }

  iterator(cf: CfName, options?: IterOptions): EngineIterator {
    this.#check();
    const i = cfIndex(cf);
    this.#snap.acquire();
    return new RocksIterator(this.#engine, this.#snap, i, options);
  }

  async scan(cf: CfName, options?: ScanOptions): Promise<KvEntry[]> {
    this.#check();
    return scanSession(this.#engine, this.#snap.session(cfIndex(cf)), options);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#engine.untrack(this);
    this.#snap.release();
  }
}

/** Entries read by the first native read after a seek (then 4x per read, up to the chunk size). */
const FIRST_READ = 4;

/**
 * An iterator over a snapshot (it holds a reference of the native snapshot, so it outlives the
 * engine snapshot it was made from). RocksDB-native iterators run one way within fixed bounds,
 * so each seek or change of direction opens a native iterator on the same snapshot (`gte`/`lt`
 * bounds derived from the position). The first read after a seek asks for {@link FIRST_READ}
 * entries (a point lookup needs one or two), later reads 4x more each time up to the chunk size;
 * `nextv`/`prevv` ask for what they still need.
 */
export class RocksIterator implements EngineIterator, LiveResource {
  readonly #engine: RocksEngine;
  readonly #snap: NativeSnap;
  readonly #cf: number;
  readonly #lower: Uint8Array | undefined;
  readonly #upper: Uint8Array | undefined;
  #native: NativeCursor | undefined;
  #want = FIRST_READ;
  #forward = true;
  #buf: RocksDB.Entry[] = [];
  #pos = 0;
  #ended = true;
  #cur: RocksDB.Entry | undefined;
  #busy = false;
  #closed = false;

  /** @internal Use `engine.iterator()` or `snapshot.iterator()`; takes over one reference of `snap`. */
  constructor(engine: RocksEngine, snap: NativeSnap, cf: number, options: IterOptions | undefined) {
    this.#engine = engine;
    this.#snap = snap;
    this.#cf = cf;
    this.#lower = options?.lowerBound?.slice();
    this.#upper = options?.upperBound?.slice();
    engine.track(this);
  }

  #check(): void {
    if (this.#closed) throw new EngineClosedError('iterator');
    this.#engine.check();
  }

  #dropNative(): void {
    const n = this.#native;
    this.#native = undefined;
    n?.close();
    this.#buf = [];
    this.#pos = 0;
    this.#ended = true;
  }

  /** Opens a native iterator over `[gte, lt)` within the bounds and moves to its first entry. */
  async #open(forward: boolean, gte: Uint8Array | undefined, lt: Uint8Array | undefined): Promise<boolean> {
    this.#dropNative();
    this.#forward = forward;
    this.#cur = undefined;
    const lower = gte === undefined ? this.#lower : this.#lower === undefined || compareBytes(gte, this.#lower) > 0 ? gte : this.#lower;
    const upper = lt === undefined ? this.#upper : this.#upper === undefined || compareBytes(lt, this.#upper) < 0 ? lt : this.#upper;
    const range = nativeRange(lower, upper);
    if (range === undefined) return false;
    try {
      this.#native = new NativeCursor(this.#snap.session(this.#cf), range, !forward);
    } catch (e: unknown) {
      throw this.#engine.fail('iterate', e);
    }
    this.#ended = false;
    this.#want = FIRST_READ;
    return this.#advance();
  }

  /** Moves one entry in the native direction. */
  async #advance(): Promise<boolean> {
    if (this.#pos < this.#buf.length) {
      this.#cur = this.#buf[this.#pos++];
      return true;
    }
    const native = this.#native;
    if (this.#ended || native === undefined) {
      this.#cur = undefined;
      return false;
    }
    const want = Math.min(this.#want, this.#engine.chunk);
    this.#want = Math.min(want * 4, this.#engine.chunk);
    let part: RocksDB.Entry[];
    try {
      part = await native.read(want);
    } catch (e: unknown) {
      throw this.#engine.fail('iterate', e);
    }
    if (this.#native !== native) throw new EngineClosedError('iterator');
    if (part.length < want) {
      // The native iterator is exhausted: release it now, keep what it returned.
      this.#native = undefined;
      native.close();
      this.#ended = true;
    }
    if (part.length === 0) {
      this.#dropNative();
      this.#cur = undefined;
      return false;
    }
    this.#buf = part;
    this.#pos = 1;
    this.#cur = part[0];
    return true;
  }

  async #op<T>(fn: () => Promise<T>): Promise<T> {
    this.#check();
    if (this.#busy) throw new Error('Another positioning call of this iterator is in flight');
    this.#busy = true;
    try {
      return await fn();
    } finally {
      this.#busy = false;
    }
  }

  #current(): RocksDB.Entry {
    this.#check();
    const c = this.#cur;
    if (c === undefined) throw new Error('Iterator is not positioned at an entry');
    return c;
  }

  seek(key: Uint8Array): Promise<boolean> {
    return this.#op(() => this.#open(true, key, undefined));
  }

  seekForPrev(key: Uint8Array): Promise<boolean> {
    return this.#op(() => this.#open(false, undefined, successor(key)));
  }

  seekToFirst(): Promise<boolean> {
    return this.#op(() => this.#open(true, undefined, undefined));
  }

  seekToLast(): Promise<boolean> {
    return this.#op(() => this.#open(false, undefined, undefined));
  }

  next(): Promise<boolean> {
    return this.#op(async () => {
      const c = this.#current();
      return this.#forward ? this.#advance() : this.#open(true, successor(c.key), undefined);
    });
  }

  prev(): Promise<boolean> {
    return this.#op(async () => {
      const c = this.#current();
      return this.#forward ? this.#open(false, undefined, c.key) : this.#advance();
    });
  }

  valid(): boolean {
    this.#check();
    return this.#cur !== undefined;
  }

  key(): Uint8Array {
    return this.#current().key;
  }

  value(): Uint8Array {
    return this.#current().value;
  }

  #chunked(limit: number, forward: boolean): Promise<KvEntry[]> {
    return this.#op(async () => {
      if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
      const out: KvEntry[] = [];
      let c = this.#cur;
      if (c === undefined) return out;
      if (this.#forward !== forward) {
        if (!(await (forward ? this.#open(true, c.key, undefined) : this.#open(false, undefined, successor(c.key))))) return out;
      }
      while (out.length < limit) {
        c = this.#cur;
        if (c === undefined) break;
        out.push(c);
        if (this.#pos < this.#buf.length) this.#cur = this.#buf[this.#pos++];
        else {
          // Ask for what is still needed (plus the entry after it), within the chunk size.
          this.#want = Math.max(this.#want, limit - out.length + 1);
          await this.#advance();
        }
      }
      return out;
    });
  }

  nextv(limit: number): Promise<KvEntry[]> {
    return this.#chunked(limit, true);
  }

  prevv(limit: number): Promise<KvEntry[]> {
    return this.#chunked(limit, false);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cur = undefined;
    this.#dropNative();
    this.#engine.untrack(this);
    this.#snap.release();
  }
}
