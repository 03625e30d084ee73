// Where tikv-ctl's commands run: the debugpb.Debug service of a running tikv-server (remote mode),
// or the same service over a stopped store's RocksDB opened in-process (local mode).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { RocksEngine } from '@tikv-ts/engine-rocks';
import type { CfName, KvEngine, KvEntry } from '@tikv-ts/engine-traits';
import { debugpb, kvrpcpb, pdpb } from '@tikv-ts/proto';
import { DATA_DIR_LOCK_FILE, DebugService, type MvccEntry } from '@tikv-ts/server';
import { PidLockHeldError, acquirePidLock } from '@tikv-ts/util/node';

/** A failure tikv-ctl reports on stderr in one line (exit code 1). */
export class CtlError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CtlError';
  }
}

/** The debug operations commands use; both modes implement it. */
export interface DebugBackend {
  readonly mode: 'remote' | 'local';
  get(req: debugpb.GetRequest): Promise<debugpb.GetResponse>;
  regionInfo(req: debugpb.RegionInfoRequest): Promise<debugpb.RegionInfoResponse>;
  regionSize(req: debugpb.RegionSizeRequest): Promise<debugpb.RegionSizeResponse>;
  scanMvcc(req: debugpb.ScanMvccRequest): AsyncIterable<MvccEntry>;
  compact(req: debugpb.CompactRequest): Promise<debugpb.CompactResponse>;
  injectFailPoint(req: debugpb.InjectFailPointRequest): Promise<debugpb.InjectFailPointResponse>;
  recoverFailPoint(req: debugpb.RecoverFailPointRequest): Promise<debugpb.RecoverFailPointResponse>;
  listFailPoints(req: debugpb.ListFailPointsRequest): Promise<debugpb.ListFailPointsResponse>;
  getMetrics(req: debugpb.GetMetricsRequest): Promise<debugpb.GetMetricsResponse>;
  getStoreInfo(req: debugpb.GetStoreInfoRequest): Promise<debugpb.GetStoreInfoResponse>;
  getClusterInfo(req: debugpb.GetClusterInfoRequest): Promise<debugpb.GetClusterInfoResponse>;
  getAllRegionsInStore(
    req: debugpb.GetAllRegionsInStoreRequest,
  ): Promise<debugpb.GetAllRegionsInStoreResponse>;
  /** Raw engine entries of a CF in `[from, to)` (local mode only, as in TiKV). */
  rawScan(cf: CfName, from: Uint8Array, to: Uint8Array, limit: number): Promise<KvEntry[]>;
  close(): Promise<void>;
}

/** Deadline of a remote call (compaction gets longer). */
const CALL_DEADLINE_MS = 20_000;
const COMPACT_DEADLINE_MS = 600_000;

function describeGrpcError(e: unknown, host: string): CtlError {
  const err = e as Partial<grpc.ServiceError>;
  if (
    err.code === grpc.status.UNAVAILABLE &&
    /connect|ECONNREFUSED|No connection|resolv|DNS/i.test(err.details ?? '')
  ) {
    return new CtlError(`Cannot reach tikv-server at ${host}: ${err.details ?? ''}`, { cause: e });
  }
  if (err.code === grpc.status.DEADLINE_EXCEEDED)
    return new CtlError(`tikv-server at ${host} did not answer in time`, { cause: e });
  if (typeof err.code === 'number') {
    const name = grpc.status[err.code] ?? String(err.code);
    return new CtlError(`${name}: ${err.details ?? ''}`, { cause: e });
  }
  return new CtlError(e instanceof Error ? e.message : String(e), { cause: e });
}

type Unary<Req, Res> = (
  req: Req,
  md: grpc.Metadata,
  opts: Partial<grpc.CallOptions>,
  cb: (e: grpc.ServiceError | null, r: Res) => void,
) => grpc.ClientUnaryCall;

/** The debugpb.Debug service of a running tikv-server. */
export class RemoteBackend implements DebugBackend {
  readonly mode = 'remote';
  readonly #client: debugpb.DebugClient;
  readonly #host: string;

  constructor(host: string) {
    this.#host = host.replace(/^[a-z]+:\/\//, '');
    this.#client = new debugpb.DebugClient(this.#host, grpc.credentials.createInsecure());
  }

  #call<Req, Res>(method: Unary<Req, Res>, req: Req, deadlineMs = CALL_DEADLINE_MS): Promise<Res> {
    return new Promise((resolve, reject) => {
      method.call(
        this.#client,
        req,
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        (e, r) => (e !== null ? reject(describeGrpcError(e, this.#host)) : resolve(r)),
      );
    });
  }

  get(req: debugpb.GetRequest): Promise<debugpb.GetResponse> {
    return this.#call(this.#client.get as Unary<debugpb.GetRequest, debugpb.GetResponse>, req);
  }
  regionInfo(req: debugpb.RegionInfoRequest): Promise<debugpb.RegionInfoResponse> {
    return this.#call(
      this.#client.regionInfo as Unary<debugpb.RegionInfoRequest, debugpb.RegionInfoResponse>,
      req,
    );
  }
  regionSize(req: debugpb.RegionSizeRequest): Promise<debugpb.RegionSizeResponse> {
    return this.#call(
      this.#client.regionSize as Unary<debugpb.RegionSizeRequest, debugpb.RegionSizeResponse>,
      req,
    );
  }
  async *scanMvcc(req: debugpb.ScanMvccRequest): AsyncIterable<MvccEntry> {
    const stream = this.#client.scanMvcc(req, { deadline: Date.now() + COMPACT_DEADLINE_MS });
    try {
      for await (const m of stream as AsyncIterable<debugpb.ScanMvccResponse>) {
        yield { key: m.key, info: m.info ?? kvrpcpb.MvccInfo.create() };
      }
    } catch (e: unknown) {
      throw describeGrpcError(e, this.#host);
    } finally {
      stream.cancel();
    }
  }
  compact(req: debugpb.CompactRequest): Promise<debugpb.CompactResponse> {
    return this.#call(
      this.#client.compact as Unary<debugpb.CompactRequest, debugpb.CompactResponse>,
      req,
      COMPACT_DEADLINE_MS,
    );
  }
  injectFailPoint(req: debugpb.InjectFailPointRequest): Promise<debugpb.InjectFailPointResponse> {
    return this.#call(
      this.#client.injectFailPoint as Unary<
        debugpb.InjectFailPointRequest,
        debugpb.InjectFailPointResponse
      >,
      req,
    );
  }
  recoverFailPoint(
    req: debugpb.RecoverFailPointRequest,
  ): Promise<debugpb.RecoverFailPointResponse> {
    return this.#call(
      this.#client.recoverFailPoint as Unary<
        debugpb.RecoverFailPointRequest,
        debugpb.RecoverFailPointResponse
      >,
      req,
    );
  }
  listFailPoints(req: debugpb.ListFailPointsRequest): Promise<debugpb.ListFailPointsResponse> {
    return this.#call(
      this.#client.listFailPoints as Unary<
        debugpb.ListFailPointsRequest,
        debugpb.ListFailPointsResponse
      >,
      req,
    );
  }
  getMetrics(req: debugpb.GetMetricsRequest): Promise<debugpb.GetMetricsResponse> {
    return this.#call(
      this.#client.getMetrics as Unary<debugpb.GetMetricsRequest, debugpb.GetMetricsResponse>,
      req,
    );
  }
  getStoreInfo(req: debugpb.GetStoreInfoRequest): Promise<debugpb.GetStoreInfoResponse> {
    return this.#call(
      this.#client.getStoreInfo as Unary<debugpb.GetStoreInfoRequest, debugpb.GetStoreInfoResponse>,
      req,
    );
  }
  getClusterInfo(req: debugpb.GetClusterInfoRequest): Promise<debugpb.GetClusterInfoResponse> {
    return this.#call(
      this.#client.getClusterInfo as Unary<
        debugpb.GetClusterInfoRequest,
        debugpb.GetClusterInfoResponse
      >,
      req,
    );
  }
  getAllRegionsInStore(
    req: debugpb.GetAllRegionsInStoreRequest,
  ): Promise<debugpb.GetAllRegionsInStoreResponse> {
    return this.#call(
      this.#client.getAllRegionsInStore as Unary<
        debugpb.GetAllRegionsInStoreRequest,
        debugpb.GetAllRegionsInStoreResponse
      >,
      req,
    );
  }
  rawScan(): Promise<KvEntry[]> {
    return Promise.reject(
      new CtlError(
        'raw-scan is only available in local mode (--data-dir), as in TiKV: the debug service has no raw scan',
      ),
    );
  }
  async close(): Promise<void> {
    this.#client.close();
  }
}

/** The store's lock file, as tikv-server takes it (`<data-dir>/tikv.lock` holding a pid). */
/**
 * Takes the data directory's lock file for the duration of a local command (so a tikv-server
 * cannot start on it meanwhile). A lock left by a dead process is taken over.
 * @throws CtlError when a live process (a running tikv-server) holds it
 */
export function lockDataDir(dataDir: string): () => void {
  const path = join(dataDir, DATA_DIR_LOCK_FILE);
  try {
    return acquirePidLock(path);
  } catch (e: unknown) {
    if (e instanceof PidLockHeldError) {
      throw new CtlError(
        `Data directory ${dataDir} is locked by a running tikv-server (pid ${e.pid}): stop it first, or use --host against it`,
      );
    }
    throw new CtlError(`Cannot take the lock file ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** A stopped store's engine, opened in-process (its data directory, or any `KvEngine` in tests). */
export class LocalBackend implements DebugBackend {
  readonly mode = 'local';
  readonly #engine: KvEngine;
  readonly #service: DebugService;
  readonly #release: () => void;

  /** Serves commands from `engine`; `close()` closes it and then calls `release`. */
  constructor(engine: KvEngine, release: () => void = () => undefined) {
    this.#engine = engine;
    this.#release = release;
    this.#service = new DebugService({ kv: engine });
  }

  /**
   * Opens `<dataDir>/db` after taking `<dataDir>/tikv.lock`.
   * @throws CtlError when the directory is not a store's, is locked by a running tikv-server, or
   *   RocksDB refuses to open it (its own LOCK)
   */
  static async open(dataDir: string): Promise<LocalBackend> {
    const dbPath = join(dataDir, 'db');
    if (!existsSync(join(dbPath, 'CURRENT')))
      throw new CtlError(
        `${dataDir} is not a tikv-server data directory (no RocksDB in ${dbPath})`,
      );
    const release = lockDataDir(dataDir);
    try {
      const engine = await RocksEngine.open({ path: dbPath });
      return new LocalBackend(engine, release);
    } catch (e: unknown) {
      release();
      const msg = e instanceof Error ? e.message : String(e);
      if (/lock/i.test(msg))
        throw new CtlError(
          `Data directory ${dataDir} is locked by another process (RocksDB lock): ${msg}`,
          { cause: e },
        );
      throw new CtlError(`Cannot open the KV engine in ${dbPath}: ${msg}`, { cause: e });
    }
  }

  get(req: debugpb.GetRequest): Promise<debugpb.GetResponse> {
    return this.#service.get(req);
  }
  regionInfo(req: debugpb.RegionInfoRequest): Promise<debugpb.RegionInfoResponse> {
    return this.#service.regionInfo(req);
  }
  regionSize(req: debugpb.RegionSizeRequest): Promise<debugpb.RegionSizeResponse> {
    return this.#service.regionSize(req);
  }
  scanMvcc(req: debugpb.ScanMvccRequest): AsyncIterable<MvccEntry> {
    return this.#service.scanMvcc(req);
  }
  compact(req: debugpb.CompactRequest): Promise<debugpb.CompactResponse> {
    return this.#service.compact(req);
  }
  injectFailPoint(req: debugpb.InjectFailPointRequest): Promise<debugpb.InjectFailPointResponse> {
    return this.#service.injectFailPoint(req);
  }
  recoverFailPoint(
    req: debugpb.RecoverFailPointRequest,
  ): Promise<debugpb.RecoverFailPointResponse> {
    return this.#service.recoverFailPoint(req);
  }
  listFailPoints(req: debugpb.ListFailPointsRequest): Promise<debugpb.ListFailPointsResponse> {
    return this.#service.listFailPoints(req);
  }
  getMetrics(req: debugpb.GetMetricsRequest): Promise<debugpb.GetMetricsResponse> {
    return this.#service.getMetrics(req);
  }
  getStoreInfo(req: debugpb.GetStoreInfoRequest): Promise<debugpb.GetStoreInfoResponse> {
    return this.#service.getStoreInfo(req);
  }
  getClusterInfo(req: debugpb.GetClusterInfoRequest): Promise<debugpb.GetClusterInfoResponse> {
    return this.#service.getClusterInfo(req);
  }
  getAllRegionsInStore(
    req: debugpb.GetAllRegionsInStoreRequest,
  ): Promise<debugpb.GetAllRegionsInStoreResponse> {
    return this.#service.getAllRegionsInStore(req);
  }
  rawScan(cf: CfName, from: Uint8Array, to: Uint8Array, limit: number): Promise<KvEntry[]> {
    return this.#engine.scan(cf, {
      ...(from.length > 0 ? { lowerBound: from } : {}),
      ...(to.length > 0 ? { upperBound: to } : {}),
      limit,
    });
  }
  async close(): Promise<void> {
    try {
      await this.#engine.close();
    } finally {
      this.#release();
    }
  }
}

/**
 * The cluster id PD reports (GetMembers header), for `--pd <addr> cluster`.
 * @throws CtlError when PD cannot be reached
 */
export async function pdClusterId(pdAddr: string): Promise<bigint> {
  const host = pdAddr.replace(/^[a-z]+:\/\//, '').split(',')[0] ?? '';
  const client = new pdpb.PDClient(host, grpc.credentials.createInsecure());
  try {
    const res = await new Promise<pdpb.GetMembersResponse>((resolve, reject) => {
      client.getMembers(
        pdpb.GetMembersRequest.fromPartial({ header: {} }),
        new grpc.Metadata(),
        { deadline: Date.now() + CALL_DEADLINE_MS },
        (e, r) => (e !== null ? reject(describeGrpcError(e, host)) : resolve(r)),
      );
    });
    return res.header?.clusterId ?? 0n;
  } finally {
    client.close();
  }
}
