import * as grpc from '@grpc/grpc-js';
import {
  DATA_MAX_KEY,
  DATA_MIN_KEY,
  Key,
  REGION_META_MAX_KEY,
  REGION_META_MIN_KEY,
  REGION_STATE_SUFFIX,
  STORE_IDENT_KEY,
  applyStateKey,
  compareBytes,
  dataKey,
  decodeRegionMetaKey,
  encodedBytesLengthAt,
  isDataKey,
  raftStateKey,
  regionStateKey,
  toHex,
} from '@tikv-ts/codec';
import {
  ALL_CFS,
  DATA_CFS,
  EngineClosedError,
  isCfName,
  type CfName,
  type EngineIterator,
  type KvEngine,
  type KvEntry,
  type Snapshot,
} from '@tikv-ts/engine-traits';
import { debugpb, kvrpcpb, raft_serverpb } from '@tikv-ts/proto';
import { Lock, Write } from '@tikv-ts/storage';
import { TikvError, type Failpoints, type Logger, type MetricsRegistry } from '@tikv-ts/util';

/** A debug request names something that does not exist (region, key, store identity). */
export class DebugNotFoundError extends TikvError {
  readonly code = 'KV:Debug:NotFound';
}

/** A debug request is malformed (unknown CF or DB, empty key, inverted range, bad failpoint syntax). */
export class DebugInvalidArgumentError extends TikvError {
  readonly code = 'KV:Debug:InvalidArgument';
}

/** A debug capability is not available where the request was sent (metrics or failpoints in local mode). */
export class DebugUnavailableError extends TikvError {
  readonly code = 'KV:Debug:Unavailable';
}

/** Options of {@link DebugService}. */
export interface DebugServiceOptions {
  /** The store's KV engine (data CFs and the `raft` CF with the store identity and region states). Not owned. */
  readonly kv: KvEngine;
  /** The process's metrics registry (GetMetrics); absent: GetMetrics fails with {@link DebugUnavailableError}. */
  readonly metrics?: MetricsRegistry;
  /** The process's failpoint registry; absent: the failpoint RPCs fail with {@link DebugUnavailableError}. */
  readonly failpoints?: Failpoints;
  readonly logger?: Logger;
}

/** One key's MVCC records as ScanMvcc yields them. */
export interface MvccEntry {
  /** The data key (`z` + memcomparable-encoded user key, no timestamp). */
  readonly key: Uint8Array;
  readonly info: kvrpcpb.MvccInfo;
}

/** Entries read from an engine per `nextv` call while scanning. */
const SCAN_CHUNK = 256;
const TS_LEN = 8;

/** The TiKV name of a `debugpb.DB` value. */
function dbName(db: debugpb.DB): string {
  return debugpb.DB[db] ?? String(db);
}

/**
 * Resolves the column family a request addresses. We keep one engine: `DB.RAFT` reads the `raft`
 * CF (which holds what TiKV keeps in its raft engine), `DB.KV` any CF by name.
 */
function resolveCf(db: debugpb.DB, cf: string): CfName {
  switch (db) {
    case debugpb.DB.KV:
      if (!isCfName(cf))
        throw new DebugInvalidArgumentError(
          `Unknown column family ${JSON.stringify(cf)}: expected one of ${ALL_CFS.join(', ')}`,
        );
      return cf;
    case debugpb.DB.RAFT:
      if (cf !== '' && cf !== 'default' && cf !== 'raft')
        throw new DebugInvalidArgumentError(
          `Unknown column family ${JSON.stringify(cf)} of db RAFT: expected default or raft`,
        );
      return 'raft';
    case debugpb.DB.INVALID:
      throw new DebugInvalidArgumentError(`Invalid db ${dbName(db)}: expected KV or RAFT`);
    default: {
      // Values outside the enum arrive from the wire as plain numbers.
      const unknown: never = db;
      throw new DebugInvalidArgumentError(`Invalid db ${String(unknown)}: expected KV or RAFT`);
    }
  }
}

/** Whether `key` (after the `z`) is a memcomparable-encoded user key followed by `tsLen` bytes. */
function isMvccKey(key: Uint8Array, tsLen: number): boolean {
  if (!isDataKey(key) || key.length < 1 + tsLen) return false;
  try {
    return 1 + encodedBytesLengthAt(key, 1) + tsLen === key.length;
  } catch {
    // Not memcomparable: raw KV data (API V1 keeps it in CF default) or foreign bytes.
    return false;
  }
}

/** A forward cursor over one CF with chunked reads, yielding only MVCC-shaped keys. */
class MvccCursor {
  readonly #it: EngineIterator;
  readonly #tsLen: number;
  #buf: KvEntry[] = [];
  #i = 0;
  #started = false;

  constructor(it: EngineIterator, tsLen: number) {
    this.#it = it;
    this.#tsLen = tsLen;
  }

  /** The current entry (skipping keys that are not MVCC keys), or undefined at the end. */
  async peek(): Promise<KvEntry | undefined> {
    for (;;) {
      while (this.#i < this.#buf.length) {
        const e = this.#buf[this.#i] as KvEntry;
        if (isMvccKey(e.key, this.#tsLen)) return e;
        this.#i++;
      }
      if (!this.#started) {
        this.#started = true;
        if (!(await this.#it.seekToFirst())) return undefined;
      }
      this.#buf = await this.#it.nextv(SCAN_CHUNK);
      this.#i = 0;
      if (this.#buf.length === 0) return undefined;
    }
  }

  /** The user part (data key without timestamp) of an entry of this cursor. */
  userKey(e: KvEntry): Uint8Array {
    return e.key.subarray(0, e.key.length - this.#tsLen);
  }

  advance(): void {
    this.#i++;
  }

  close(): void {
    this.#it.close();
  }
}

function checkRange(from: Uint8Array, to: Uint8Array): void {
  if (from.length > 0 && to.length > 0 && compareBytes(from, to) > 0) {
    throw new DebugInvalidArgumentError(`Start key ${toHex(from)} is above end key ${toHex(to)}`);
  }
}

/**
 * The `debugpb.Debug` service of a store (TiKV's `Debugger` + debug gRPC service), over the
 * store's KV engine. Every method reads what is persisted, so the same object serves a running
 * tikv-server (remote tikv-ctl) and a stopped data directory (local tikv-ctl):
 *
 * - `Get`: one raw engine key of a CF (`DB.RAFT` reads CF `raft`);
 * - `RegionInfo`: the region's `RegionLocalState` from CF `raft`, plus its `RaftLocalState` and
 *   `RaftApplyState` when persisted (this store has no Raft yet, so they are normally absent and
 *   left unset);
 * - `RegionSize`: per-CF approximate bytes of the region's data-key range;
 * - `ScanMvcc`: lock, writes and values of each transactional key in `[from_key, to_key)`;
 * - `Compact`: manual compaction of a CF range;
 * - failpoints, Prometheus metrics, store/cluster identity, region ids.
 *
 * Every other RPC of the service is left without a handler, so grpc-js answers UNIMPLEMENTED.
 * The typed methods throw {@link DebugNotFoundError}, {@link DebugInvalidArgumentError} and
 * {@link DebugUnavailableError}; engine errors pass through. {@link implementation} maps them to
 * gRPC status codes in one place ({@link debugErrorStatus}).
 */
export class DebugService {
  readonly #kv: KvEngine;
  readonly #metrics: MetricsRegistry | undefined;
  readonly #failpoints: Failpoints | undefined;
  readonly #logger: Logger | undefined;
  /** Action strings of failpoints set through this service (the registry keeps parsed tasks only). */
  readonly #actions = new Map<string, string>();

  constructor(options: DebugServiceOptions) {
    this.#kv = options.kv;
    this.#metrics = options.metrics;
    this.#failpoints = options.failpoints;
    this.#logger = options.logger;
  }

  /**
   * The value of one raw engine key (the key as stored: data keys start with `z`).
   * @throws DebugInvalidArgumentError for an unknown db/CF or an empty key; DebugNotFoundError when absent
   */
  async get(req: debugpb.GetRequest): Promise<debugpb.GetResponse> {
    const cf = resolveCf(req.db, req.cf);
    if (req.key.length === 0) throw new DebugInvalidArgumentError('Get needs a key');
    const value = await this.#kv.get(cf, req.key);
    if (value === undefined)
      throw new DebugNotFoundError(`Key ${toHex(req.key)} not found in ${dbName(req.db)} CF ${cf}`);
    return debugpb.GetResponse.fromPartial({ value });
  }

  /**
   * The persisted local states of a region. `raftLocalState` and `raftApplyState` are set only if
   * stored (no Raft yet: normally unset).
   * @throws DebugNotFoundError when the store has no state for the region
   */
  async regionInfo(req: debugpb.RegionInfoRequest): Promise<debugpb.RegionInfoResponse> {
    const snap = this.#kv.snapshot();
    try {
      const [regionState, raftState, applyState] = await snap.multiGet('raft', [
        regionStateKey(req.regionId),
        raftStateKey(req.regionId),
        applyStateKey(req.regionId),
      ]);
      if (regionState === undefined && raftState === undefined && applyState === undefined) {
        throw new DebugNotFoundError(`Region ${req.regionId} not found on this store`);
      }
      return debugpb.RegionInfoResponse.fromPartial({
        ...(regionState === undefined
          ? {}
          : { regionLocalState: raft_serverpb.RegionLocalState.decode(regionState) }),
        ...(raftState === undefined
          ? {}
          : { raftLocalState: raft_serverpb.RaftLocalState.decode(raftState) }),
        ...(applyState === undefined
          ? {}
          : { raftApplyState: raft_serverpb.RaftApplyState.decode(applyState) }),
      });
    } finally {
      snap.close();
    }
  }

  /**
   * Approximate bytes of the region's data range per CF (`cfs` empty: default, write and lock),
   * in the order asked.
   * @throws DebugNotFoundError for an unknown region; DebugInvalidArgumentError for an unknown CF
   */
  async regionSize(req: debugpb.RegionSizeRequest): Promise<debugpb.RegionSizeResponse> {
    const cfs = req.cfs.length === 0 ? [...DATA_CFS] : req.cfs;
    const checked = cfs.map((cf) => resolveCf(debugpb.DB.KV, cf));
    const region = await this.#region(req.regionId);
    const start = dataKey(region.startKey);
    const end = region.endKey.length === 0 ? DATA_MAX_KEY : dataKey(region.endKey);
    const entries: debugpb.RegionSizeResponse_Entry[] = [];
    for (const cf of checked) {
      const stats = await this.#kv.approximateRangeStats(cf, start, end);
      entries.push(
        debugpb.RegionSizeResponse_Entry.fromPartial({ cf, size: BigInt(stats.sizeBytes) }),
      );
    }
    return debugpb.RegionSizeResponse.fromPartial({ entries });
  }

  /**
   * The MVCC records of the transactional keys in `[fromKey, toKey)` (data keys, starting with
   * `z`; empty `fromKey`: the first data key, empty `toKey`: no upper bound), in key order, at
   * most `limit` keys (0: no limit). Reads one snapshot. Keys of CF default that are not
   * MVCC-encoded (raw KV data) are skipped.
   * @throws DebugInvalidArgumentError for non-data keys, an inverted range, or neither limit nor end
   */
  async *scanMvcc(req: debugpb.ScanMvccRequest, signal?: AbortSignal): AsyncGenerator<MvccEntry> {
    const { fromKey, toKey, limit } = req;
    if (toKey.length === 0 && limit === 0n)
      throw new DebugInvalidArgumentError('ScanMvcc needs a limit or an end key');
    for (const [what, k] of [
      ['from', fromKey],
      ['to', toKey],
    ] as const) {
      if (k.length > 0 && !isDataKey(k))
        throw new DebugInvalidArgumentError(
          `The ${what} key ${toHex(k)} is not a data key: MVCC keys start with 'z'`,
        );
    }
    checkRange(fromKey, toKey);
    const bounds = {
      lowerBound: fromKey.length === 0 ? DATA_MIN_KEY : fromKey,
      upperBound: toKey.length === 0 ? DATA_MAX_KEY : toKey,
    };
    const snap: Snapshot = this.#kv.snapshot();
    const lock = new MvccCursor(snap.iterator('lock', bounds), 0);
    const write = new MvccCursor(snap.iterator('write', bounds), TS_LEN);
    const value = new MvccCursor(snap.iterator('default', bounds), TS_LEN);
    const cursors = [lock, write, value];
    try {
      let count = 0n;
      while (limit === 0n || count < limit) {
        if (signal?.aborted === true) return;
        // The smallest user key any CF is at.
        let min: Uint8Array | undefined;
        for (const c of cursors) {
          const e = await c.peek();
          if (e === undefined) continue;
          const uk = c.userKey(e);
          if (min === undefined || compareBytes(uk, min) < 0) min = uk;
        }
        if (min === undefined) return;
        const key = min.slice();
        const info = kvrpcpb.MvccInfo.create();
        let e = await lock.peek();
        if (e !== undefined && compareBytes(lock.userKey(e), key) === 0) {
          info.lock = Lock.parse(e.value).toMvccLock();
          lock.advance();
        }
        // Newest first: timestamps are stored descending.
        while (
          (e = await write.peek()) !== undefined &&
          compareBytes(write.userKey(e), key) === 0
        ) {
          info.writes.push(Write.parse(e.value).toMvccWrite(Key.decodeTsFrom(e.key)));
          write.advance();
        }
        while (
          (e = await value.peek()) !== undefined &&
          compareBytes(value.userKey(e), key) === 0
        ) {
          info.values.push(
            kvrpcpb.MvccValue.fromPartial({ startTs: Key.decodeTsFrom(e.key), value: e.value }),
          );
          value.advance();
        }
        count++;
        yield { key, info };
      }
    } finally {
      for (const c of cursors) c.close();
      snap.close();
    }
  }

  /**
   * Compacts `[fromKey, toKey)` of a CF (raw engine keys; empty: unbounded). `threads` and
   * `bottommostLevelCompaction` are accepted and ignored (the binding compacts with its own settings).
   * @throws DebugInvalidArgumentError for an unknown db/CF or an inverted range
   */
  async compact(req: debugpb.CompactRequest): Promise<debugpb.CompactResponse> {
    const cf = resolveCf(req.db, req.cf);
    checkRange(req.fromKey, req.toKey);
    this.#logger?.info('debug compact', { cf, from: toHex(req.fromKey), to: toHex(req.toKey) });
    await this.#kv.compactRange(
      cf,
      req.fromKey.length === 0 ? undefined : req.fromKey,
      req.toKey.length === 0 ? undefined : req.toKey,
    );
    return debugpb.CompactResponse.create();
  }

  /**
   * Sets a failpoint in fail-rs syntax (`return(1)`, `50%delay(10)`, `pause`, `off`…).
   * @throws DebugInvalidArgumentError for an empty name or actions, or bad syntax; DebugUnavailableError without a registry
   */
  async injectFailPoint(
    req: debugpb.InjectFailPointRequest,
  ): Promise<debugpb.InjectFailPointResponse> {
    const fp = this.#needFailpoints();
    if (req.name.length === 0)
      throw new DebugInvalidArgumentError('InjectFailPoint needs a failpoint name');
    if (req.actions.length === 0)
      throw new DebugInvalidArgumentError(`InjectFailPoint of ${req.name} needs actions`);
    try {
      fp.set(req.name, req.actions);
    } catch (e: unknown) {
      if (e instanceof TypeError) throw new DebugInvalidArgumentError(e.message, { cause: e });
      throw e;
    }
    this.#actions.set(req.name, req.actions);
    this.#logger?.info('failpoint injected', { name: req.name, actions: req.actions });
    return debugpb.InjectFailPointResponse.create();
  }

  /**
   * Removes a failpoint (a no-op when it is not set, as in fail-rs).
   * @throws DebugInvalidArgumentError for an empty name; DebugUnavailableError without a registry
   */
  async recoverFailPoint(
    req: debugpb.RecoverFailPointRequest,
  ): Promise<debugpb.RecoverFailPointResponse> {
    const fp = this.#needFailpoints();
    if (req.name.length === 0)
      throw new DebugInvalidArgumentError('RecoverFailPoint needs a failpoint name');
    fp.remove(req.name);
    this.#actions.delete(req.name);
    this.#logger?.info('failpoint recovered', { name: req.name });
    return debugpb.RecoverFailPointResponse.create();
  }

  /**
   * The set failpoints, sorted by name; `actions` is the text given to InjectFailPoint (empty for
   * failpoints set in-process by other means).
   */
  async listFailPoints(
    _req: debugpb.ListFailPointsRequest,
  ): Promise<debugpb.ListFailPointsResponse> {
    const fp = this.#needFailpoints();
    return debugpb.ListFailPointsResponse.fromPartial({
      entries: fp.list().map((name) => ({ name, actions: this.#actions.get(name) ?? '' })),
    });
  }

  /**
   * The Prometheus text of the process's registry and the store id. `all` asks TiKV for RocksDB
   * and jemalloc statistics too; this engine binding exposes none, so those fields stay empty.
   * @throws DebugUnavailableError without a registry
   */
  async getMetrics(_req: debugpb.GetMetricsRequest): Promise<debugpb.GetMetricsResponse> {
    if (this.#metrics === undefined)
      throw new DebugUnavailableError('Metrics are only available from a running tikv-server');
    const prometheus = await this.#metrics.exposition();
    const ident = await this.#loadIdent();
    return debugpb.GetMetricsResponse.fromPartial({ prometheus, storeId: ident?.storeId ?? 0n });
  }

  /**
   * The store id and API version from the persisted store identity.
   * @throws DebugNotFoundError when the store was never bootstrapped
   */
  async getStoreInfo(_req: debugpb.GetStoreInfoRequest): Promise<debugpb.GetStoreInfoResponse> {
    const ident = await this.#needIdent();
    return debugpb.GetStoreInfoResponse.fromPartial({
      storeId: ident.storeId,
      apiVersion: ident.apiVersion,
    });
  }

  /**
   * The cluster id from the persisted store identity.
   * @throws DebugNotFoundError when the store was never bootstrapped
   */
  async getClusterInfo(
    _req: debugpb.GetClusterInfoRequest,
  ): Promise<debugpb.GetClusterInfoResponse> {
    const ident = await this.#needIdent();
    return debugpb.GetClusterInfoResponse.fromPartial({ clusterId: ident.clusterId });
  }

  /** Ids of the regions with a non-tombstone `RegionLocalState`, ascending. */
  async getAllRegionsInStore(
    _req: debugpb.GetAllRegionsInStoreRequest,
  ): Promise<debugpb.GetAllRegionsInStoreResponse> {
    const entries = await this.#kv.scan('raft', {
      lowerBound: REGION_META_MIN_KEY,
      upperBound: REGION_META_MAX_KEY,
    });
    const regions: bigint[] = [];
    for (const e of entries) {
      const { regionId, suffix } = decodeRegionMetaKey(e.key);
      if (suffix !== REGION_STATE_SUFFIX) continue;
      if (
        raft_serverpb.RegionLocalState.decode(e.value).state === raft_serverpb.PeerState.Tombstone
      )
        continue;
      regions.push(regionId);
    }
    return debugpb.GetAllRegionsInStoreResponse.fromPartial({ regions });
  }

  /**
   * The grpc-js handlers of the implemented RPCs (register with `server.addService(
   * debugpb.DebugService, service.implementation())`); the other RPCs answer UNIMPLEMENTED.
   */
  implementation(): Partial<debugpb.DebugServer> & grpc.UntypedServiceImplementation {
    const unary =
      <Req, Res>(fn: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> =>
      (call, callback) => {
        fn(call.request).then(
          (res) => callback(null, res),
          (e: unknown) => callback(this.#status(e)),
        );
      };
    const scanMvcc: grpc.handleServerStreamingCall<
      debugpb.ScanMvccRequest,
      debugpb.ScanMvccResponse
    > = (call) => {
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort());
      const run = async (): Promise<void> => {
        for await (const { key, info } of this.scanMvcc(call.request, abort.signal)) {
          if (!call.write(debugpb.ScanMvccResponse.fromPartial({ key, info }))) {
            await new Promise<void>((resolve) => {
              const done = (): void => {
                call.off('drain', done);
                abort.signal.removeEventListener('abort', done);
                resolve();
              };
              call.once('drain', done);
              abort.signal.addEventListener('abort', done);
            });
          }
        }
        call.end();
      };
      run().catch((e: unknown) => {
        if (!abort.signal.aborted) call.emit('error', this.#status(e));
      });
    };
    return {
      get: unary((r: debugpb.GetRequest) => this.get(r)),
      regionInfo: unary((r: debugpb.RegionInfoRequest) => this.regionInfo(r)),
      regionSize: unary((r: debugpb.RegionSizeRequest) => this.regionSize(r)),
      scanMvcc,
      compact: unary((r: debugpb.CompactRequest) => this.compact(r)),
      injectFailPoint: unary((r: debugpb.InjectFailPointRequest) => this.injectFailPoint(r)),
      recoverFailPoint: unary((r: debugpb.RecoverFailPointRequest) => this.recoverFailPoint(r)),
      listFailPoints: unary((r: debugpb.ListFailPointsRequest) => this.listFailPoints(r)),
      getMetrics: unary((r: debugpb.GetMetricsRequest) => this.getMetrics(r)),
      getStoreInfo: unary((r: debugpb.GetStoreInfoRequest) => this.getStoreInfo(r)),
      getClusterInfo: unary((r: debugpb.GetClusterInfoRequest) => this.getClusterInfo(r)),
      getAllRegionsInStore: unary((r: debugpb.GetAllRegionsInStoreRequest) =>
        this.getAllRegionsInStore(r),
      ),
    };
  }

  #status(e: unknown): Partial<grpc.StatusObject> {
    const s = debugErrorStatus(e);
    if (s.code === grpc.status.INTERNAL)
      this.#logger?.warn('debug request failed', { error: s.details });
    return s;
  }

  #needFailpoints(): Failpoints {
    if (this.#failpoints === undefined)
      throw new DebugUnavailableError('Failpoints are only available on a running tikv-server');
    return this.#failpoints;
  }

  async #loadIdent(): Promise<raft_serverpb.StoreIdent | undefined> {
    const bytes = await this.#kv.get('raft', STORE_IDENT_KEY);
    return bytes === undefined ? undefined : raft_serverpb.StoreIdent.decode(bytes);
  }

  async #needIdent(): Promise<raft_serverpb.StoreIdent> {
    const ident = await this.#loadIdent();
    if (ident === undefined)
      throw new DebugNotFoundError('The store has no identity (never bootstrapped)');
    return ident;
  }

  async #region(regionId: bigint): Promise<{ startKey: Uint8Array; endKey: Uint8Array }> {
    const bytes = await this.#kv.get('raft', regionStateKey(regionId));
    const state = bytes === undefined ? undefined : raft_serverpb.RegionLocalState.decode(bytes);
    if (state?.region === undefined || state.state === raft_serverpb.PeerState.Tombstone) {
      throw new DebugNotFoundError(`Region ${regionId} not found on this store`);
    }
    return state.region;
  }
}

/**
 * The one mapping from debug errors to gRPC status: not found → NOT_FOUND, invalid argument →
 * INVALID_ARGUMENT, unavailable capability → UNAVAILABLE, closed engine → UNAVAILABLE, anything
 * else → INTERNAL with the message.
 */
export function debugErrorStatus(e: unknown): { code: grpc.status; details: string } {
  const details = e instanceof Error ? e.message : String(e);
  if (e instanceof DebugNotFoundError) return { code: grpc.status.NOT_FOUND, details };
  if (e instanceof DebugInvalidArgumentError)
    return { code: grpc.status.INVALID_ARGUMENT, details };
  if (e instanceof DebugUnavailableError || e instanceof EngineClosedError)
    return { code: grpc.status.UNAVAILABLE, details };
  return { code: grpc.status.INTERNAL, details };
}
