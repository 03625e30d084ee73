import { setMaxListeners } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { keyspacepb, type metapb, pdpb } from '@tikv-ts/proto';
import type { Clock, Logger, TimerHandle } from '@tikv-ts/util';
import { Backoff, type BackoffOptions } from './backoff';
import {
  PdClientClosedError,
  PdClusterIdMismatchError,
  PdRegionNotFoundError,
  PdRpcError,
  PdServerError,
  PdUnavailableError,
  errorFromHeader,
} from './errors';
import type { PdCallOptions, PdClient, RegionHeartbeat, RegionInfo, ServiceSafePointResult, Subscription } from './pd-client';
import { TsoDispatcher, type TsoStream, type TsoStreamHandlers } from './tso-dispatcher';

/** Options of {@link RpcPdClient.connect}. */
export interface RpcPdClientOptions {
  /** Time for timeouts, backoff and the member refresh (SystemClock in real runs). */
  readonly clock: Clock;
  /** Aborts `connect` while it is still looking for a leader. */
  readonly signal?: AbortSignal;
  /** One RPC attempt is cancelled after this long and retried (default 10000 ms). */
  readonly requestTimeoutMs?: number;
  /**
   * Retries of one RPC after transport failures or leader changes, and discovery rounds before
   * giving up with PdUnavailableError (default 10).
   */
  readonly maxRetries?: number;
  /** Backoff between retries and discovery rounds (default 100 ms doubling up to 3000 ms). */
  readonly backoff?: BackoffOptions;
  /** Period of the GetMembers refresh that follows leader changes (default 60000 ms; 0 = off). */
  readonly memberRefreshIntervalMs?: number;
  /** Most timestamps per TsoRequest (default 10000). */
  readonly tsoMaxBatchSize?: number;
  /** A TSO request unanswered this long breaks the stream (default 3000 ms). */
  readonly tsoTimeoutMs?: number;
  /** `RequestHeader.sender_id` (TiKV sends 0; a store may send its id). */
  readonly senderId?: bigint;
  /** grpc-js channel options for every connection. */
  readonly channelOptions?: grpc.ChannelOptions;
  /** Where leader changes and stream failures are logged (default: nowhere). */
  readonly logger?: Logger;
}

interface MethodDef<Req, Res> {
  readonly path: string;
  readonly requestSerialize: (value: Req) => Buffer;
  readonly responseDeserialize: (value: Buffer) => Res;
}

interface Leader {
  readonly url: string;
  readonly client: grpc.Client;
  readonly name: string;
  failed: boolean;
}

interface HeartbeatStream {
  readonly leader: Leader;
  readonly stream: grpc.ClientDuplexStream<pdpb.RegionHeartbeatRequest, pdpb.RegionHeartbeatResponse>;
}

/** An attempt of ours that ran past `requestTimeoutMs` (retryable). */
class AttemptTimeout extends Error {}

const LEADER_CHANGE = /not leader|mismatch leader id|is not served|no leader/i;

function isServiceError(e: unknown): e is grpc.ServiceError {
  return e instanceof Error && typeof (e as Partial<grpc.ServiceError>).code === 'number' && 'details' in e;
}

/** Transport failures and leader changes: retry after re-checking the leader. */
function isRetryable(e: unknown): boolean {
  if (e instanceof AttemptTimeout) return true;
  if (!isServiceError(e)) return false;
  if (e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.DEADLINE_EXCEEDED) return true;
  return LEADER_CHANGE.test(e.details) || e.details.includes('RST_STREAM');
}

/**
 * `http://host:port` (PD's client URL form) or `host:port` → the gRPC target `host:port`.
 * @throws TypeError for https (TLS is not supported) or a URL without host and port
 */
export function pdUrlToTarget(url: string): string {
  const trimmed = url.trim();
  if (!trimmed.includes('://')) {
    if (trimmed === '' || trimmed.includes('/')) throw new TypeError(`Bad PD address ${JSON.stringify(url)}`);
    return trimmed;
  }
  const parsed = new URL(trimmed);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'grpc:') {
    throw new TypeError(`Unsupported PD URL scheme in ${JSON.stringify(url)} (only http:// without TLS)`);
  }
  if (parsed.hostname === '' || parsed.port === '') throw new TypeError(`PD URL ${JSON.stringify(url)} needs a host and a port`);
  return parsed.host;
}

function combineSignals(a: AbortSignal | undefined, b: AbortSignal): AbortSignal {
  return a === undefined ? b : AbortSignal.any([a, b]);
}

/** Resolves/rejects with `promise`, or rejects with the signal's reason when it aborts first. */
function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function regionInfoOf(res: pdpb.GetRegionResponse | pdpb.Region): RegionInfo | undefined {
  if (res.region === undefined) return undefined;
  return { region: res.region, leader: res.leader, downPeers: res.downPeers, pendingPeers: res.pendingPeers };
}

const S = pdpb.PDService;

/**
 * {@link PdClient} over gRPC to a real PD (ours or PD itself).
 *
 * Connection: {@link connect} asks each URL for GetMembers until one answers with a non-zero
 * cluster id and a leader with client URLs, then talks only to that leader (one HTTP/2 channel).
 * A transport failure (UNAVAILABLE, a timed-out attempt, a broken stream) or a "not leader"-like
 * answer marks the leader failed; the next call re-runs discovery over the member URLs learnt
 * from the last GetMembers plus the seed URLs, with capped exponential backoff between rounds on
 * the injected clock, and retries the RPC (up to `maxRetries`). A periodic GetMembers refresh
 * follows leader changes even without failures. Header errors are not retried: they become typed
 * `PdServerError`s.
 *
 * TSO: one long-lived Tso stream with batching ({@link TsoDispatcher}). Region heartbeats: one
 * long-lived RegionHeartbeat stream, reopened on the next heartbeat after a failure or leader
 * change; PD's responses go to {@link onRegionHeartbeatResponse} listeners.
 *
 * Not thread-safe in any sense that matters in Node; all methods may be called concurrently.
 */
export class RpcPdClient implements PdClient {
  readonly #clock: Clock;
  readonly #seedUrls: readonly string[];
  readonly #requestTimeoutMs: number;
  readonly #maxRetries: number;
  readonly #backoffOptions: BackoffOptions;
  readonly #refreshMs: number;
  readonly #senderId: bigint;
  readonly #channelOptions: grpc.ChannelOptions;
  readonly #logger: Logger | undefined;
  readonly #closer = new AbortController();
  readonly #tso: TsoDispatcher;
  readonly #hbListeners = new Set<(response: pdpb.RegionHeartbeatResponse) => void>();
  #clusterId = 0n;
  #memberUrls: string[] = [];
  #leader: Leader | undefined;
  #discovery: Promise<Leader> | undefined;
  #tsoLeader: Leader | undefined;
  #hb: HeartbeatStream | undefined;
  #refreshTimer: TimerHandle | undefined;
  #leaderChanges = 0;

  private constructor(urls: readonly string[], options: RpcPdClientOptions) {
    if (urls.length === 0) throw new TypeError('RpcPdClient needs at least one PD URL');
    // Every call in flight listens on the close signal (and removes its listener when done).
    setMaxListeners(0, this.#closer.signal);
    for (const u of urls) pdUrlToTarget(u);
    this.#seedUrls = [...urls];
    this.#clock = options.clock;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.#maxRetries = options.maxRetries ?? 10;
    this.#backoffOptions = options.backoff ?? { baseMs: 100, capMs: 3000 };
    new Backoff(this.#backoffOptions); // validates
    this.#refreshMs = options.memberRefreshIntervalMs ?? 60_000;
    this.#senderId = options.senderId ?? 0n;
    this.#channelOptions = options.channelOptions ?? {};
    this.#logger = options.logger;
    this.#tso = new TsoDispatcher({
      clock: options.clock,
      openStream: (handlers, signal) => this.#openTsoStream(handlers, signal),
      onStreamError: (e) => {
        const leader = this.#tsoLeader;
        this.#logger?.warn('TSO stream broke', { error: e instanceof Error ? e.message : String(e) });
        if (leader !== undefined) this.#leaderFailed(leader);
      },
      ...(options.tsoMaxBatchSize === undefined ? {} : { maxBatchSize: options.tsoMaxBatchSize }),
      ...(options.tsoTimeoutMs === undefined ? {} : { timeoutMs: options.tsoTimeoutMs }),
    });
  }

  /**
   * Connects to the PD cluster behind `urls` (`http://host:port` or `host:port`): GetMembers on
   * each URL in turn until one answers, cluster id from its header, then a connection to the
   * leader's first client URL. Retries whole rounds with backoff.
   * @throws PdUnavailableError when no member answered within `maxRetries` rounds
   * @throws the signal's reason when `options.signal` aborts first
   * @throws TypeError for a malformed URL or an empty list
   */
  static async connect(urls: readonly string[], options: RpcPdClientOptions): Promise<RpcPdClient> {
    const client = new RpcPdClient(urls, options);
    try {
      await client.#getLeader(combineSignals(options.signal, client.#closer.signal));
    } catch (e: unknown) {
      await client.close();
      throw e;
    }
    client.#scheduleRefresh();
    return client;
  }

  getClusterId(): bigint {
    return this.#clusterId;
  }

  /** The client URL of the leader in use (undefined while rediscovering). For logs and tests. */
  get leaderUrl(): string | undefined {
    return this.#leader?.failed === false ? this.#leader.url : undefined;
  }

  /** How many times the client switched to another leader connection since connect. */
  get leaderChanges(): number {
    return this.#leaderChanges;
  }

  /** TsoRequests sent so far (each may serve many callers). */
  get tsoRequestsSent(): number {
    return this.#tso.requestsSent;
  }

  getTimestamp(options: PdCallOptions = {}): Promise<bigint> {
    return this.#tso.getTimestamp(options.signal === undefined ? {} : { signal: options.signal });
  }

  async allocId(options: PdCallOptions = {}): Promise<bigint> {
    const res = await this.#unary('AllocID', S.allocId, (header) => pdpb.AllocIDRequest.fromPartial({ header }), options);
    return res.id;
  }

  async isBootstrapped(options: PdCallOptions = {}): Promise<boolean> {
    const res = await this.#unary('IsBootstrapped', S.isBootstrapped, (header) => pdpb.IsBootstrappedRequest.fromPartial({ header }), options);
    return res.bootstrapped;
  }

  async bootstrap(store: metapb.Store, region: metapb.Region, options: PdCallOptions = {}): Promise<void> {
    await this.#unary('Bootstrap', S.bootstrap, (header) => pdpb.BootstrapRequest.fromPartial({ header, store, region }), options);
  }

  async isSnapshotRecovering(options: PdCallOptions = {}): Promise<boolean> {
    const res = await this.#unary(
      'IsSnapshotRecovering',
      S.isSnapshotRecovering,
      (header) => pdpb.IsSnapshotRecoveringRequest.fromPartial({ header }),
      options,
    );
    return res.marked;
  }

  async getClusterConfig(options: PdCallOptions = {}): Promise<metapb.Cluster> {
    const res = await this.#unary('GetClusterConfig', S.getClusterConfig, (header) => pdpb.GetClusterConfigRequest.fromPartial({ header }), options);
    if (res.cluster === undefined) throw new PdServerError('GetClusterConfig', pdpb.ErrorType.UNKNOWN, 'PD returned no cluster config');
    return res.cluster;
  }

  async putStore(store: metapb.Store, options: PdCallOptions = {}): Promise<void> {
    await this.#unary('PutStore', S.putStore, (header) => pdpb.PutStoreRequest.fromPartial({ header, store }), options);
  }

  async getStore(storeId: bigint, options: PdCallOptions = {}): Promise<metapb.Store> {
    const res = await this.#unary('GetStore', S.getStore, (header) => pdpb.GetStoreRequest.fromPartial({ header, storeId }), options);
    if (res.store === undefined) throw new PdServerError('GetStore', pdpb.ErrorType.UNKNOWN, `invalid store ID ${storeId}, not found`);
    return res.store;
  }

  async getAllStores(options: PdCallOptions & { readonly excludeTombstones?: boolean } = {}): Promise<metapb.Store[]> {
    const res = await this.#unary(
      'GetAllStores',
      S.getAllStores,
      (header) => pdpb.GetAllStoresRequest.fromPartial({ header, excludeTombstoneStores: options.excludeTombstones ?? false }),
      options,
    );
    return res.stores;
  }

  getRegion(key: Uint8Array, options: PdCallOptions = {}): Promise<RegionInfo | undefined> {
    return this.#regionQuery('GetRegion', S.getRegion, (header) => pdpb.GetRegionRequest.fromPartial({ header, regionKey: key }), options);
  }

  getPrevRegion(key: Uint8Array, options: PdCallOptions = {}): Promise<RegionInfo | undefined> {
    return this.#regionQuery('GetPrevRegion', S.getPrevRegion, (header) => pdpb.GetRegionRequest.fromPartial({ header, regionKey: key }), options);
  }

  getRegionById(regionId: bigint, options: PdCallOptions = {}): Promise<RegionInfo | undefined> {
    return this.#regionQuery('GetRegionByID', S.getRegionById, (header) => pdpb.GetRegionByIDRequest.fromPartial({ header, regionId }), options);
  }

  async scanRegions(startKey: Uint8Array, endKey: Uint8Array, options: PdCallOptions & { readonly limit?: number } = {}): Promise<RegionInfo[]> {
    const res = await this.#unary(
      'ScanRegions',
      S.scanRegions,
      (header) => pdpb.ScanRegionsRequest.fromPartial({ header, startKey, endKey, limit: options.limit ?? 0 }),
      options,
    );
    if (res.regions.length > 0) return res.regions.flatMap((r) => regionInfoOf(r) ?? []);
    // Older PDs fill only the deprecated parallel arrays.
    return res.regionMetas.map((region, i) => {
      const leader = res.leaders[i];
      return { region, leader: leader === undefined || leader.id === 0n ? undefined : leader, downPeers: [], pendingPeers: [] };
    });
  }

  async askBatchSplit(region: metapb.Region, count: number, options: PdCallOptions = {}): Promise<pdpb.SplitID[]> {
    const res = await this.#unary(
      'AskBatchSplit',
      S.askBatchSplit,
      (header) => pdpb.AskBatchSplitRequest.fromPartial({ header, region, splitCount: count }),
      options,
    );
    return res.ids;
  }

  async reportBatchSplit(regions: readonly metapb.Region[], options: PdCallOptions = {}): Promise<void> {
    await this.#unary('ReportBatchSplit', S.reportBatchSplit, (header) => pdpb.ReportBatchSplitRequest.fromPartial({ header, regions: [...regions] }), options);
  }

  storeHeartbeat(stats: pdpb.StoreStats, options: PdCallOptions = {}): Promise<pdpb.StoreHeartbeatResponse> {
    return this.#unary('StoreHeartbeat', S.storeHeartbeat, (header) => pdpb.StoreHeartbeatRequest.fromPartial({ header, stats }), options);
  }

  async regionHeartbeat(heartbeat: RegionHeartbeat, options: PdCallOptions = {}): Promise<void> {
    this.#checkOpen();
    const signal = combineSignals(options.signal, this.#closer.signal);
    const leader = await this.#getLeader(signal);
    let hb = this.#hb;
    if (hb === undefined || hb.leader !== leader || hb.stream.destroyed || !hb.stream.writable) {
      hb?.stream.cancel();
      hb = this.#openHeartbeatStream(leader);
    }
    const req = pdpb.RegionHeartbeatRequest.fromPartial({ ...heartbeat, header: this.#header() });
    const stream = hb.stream;
    await raceSignal(
      new Promise<void>((resolve, reject) => {
        stream.write(req, (err: Error | null | undefined) =>
          err === null || err === undefined ? resolve() : reject(new PdUnavailableError('Region heartbeat stream failed', { cause: err })),
        );
      }),
      signal,
    );
  }

  onRegionHeartbeatResponse(listener: (response: pdpb.RegionHeartbeatResponse) => void): Subscription {
    const wrapped = (r: pdpb.RegionHeartbeatResponse): void => listener(r);
    this.#hbListeners.add(wrapped);
    return { cancel: () => this.#hbListeners.delete(wrapped) };
  }

  async getGcSafePoint(options: PdCallOptions = {}): Promise<bigint> {
    const res = await this.#unary('GetGCSafePoint', S.getGcSafePoint, (header) => pdpb.GetGCSafePointRequest.fromPartial({ header }), options);
    return res.safePoint;
  }

  async updateGcSafePoint(safePoint: bigint, options: PdCallOptions = {}): Promise<bigint> {
    const res = await this.#unary(
      'UpdateGCSafePoint',
      S.updateGcSafePoint,
      (header) => pdpb.UpdateGCSafePointRequest.fromPartial({ header, safePoint }),
      options,
    );
    return res.newSafePoint;
  }

  async updateServiceGcSafePoint(
    serviceId: string,
    safePoint: bigint,
    options: PdCallOptions & { readonly ttlSec: bigint },
  ): Promise<ServiceSafePointResult> {
    const res = await this.#unary(
      'UpdateServiceGCSafePoint',
      S.updateServiceGcSafePoint,
      (header) =>
        pdpb.UpdateServiceGCSafePointRequest.fromPartial({ header, serviceId: new TextEncoder().encode(serviceId), TTL: options.ttlSec, safePoint }),
      options,
    );
    return { serviceId: new TextDecoder().decode(res.serviceId), minSafePoint: res.minSafePoint, ttlSec: res.TTL };
  }

  async loadKeyspace(name: string, options: PdCallOptions = {}): Promise<keyspacepb.KeyspaceMeta> {
    const res = await this.#unary(
      'LoadKeyspace',
      keyspacepb.KeyspaceService.loadKeyspace,
      (header) => keyspacepb.LoadKeyspaceRequest.fromPartial({ header, name }),
      options,
    );
    if (res.keyspace === undefined) throw new PdServerError('LoadKeyspace', pdpb.ErrorType.ENTRY_NOT_FOUND, `keyspace ${JSON.stringify(name)} not found`);
    return res.keyspace;
  }

  async close(): Promise<void> {
    if (this.#closer.signal.aborted) return;
    this.#closer.abort(new PdClientClosedError());
    this.#refreshTimer?.cancel();
    this.#tso.close();
    this.#hb?.stream.cancel();
    this.#hb = undefined;
    this.#hbListeners.clear();
    this.#leader?.client.close();
    this.#leader = undefined;
    // A discovery still running notices the abort and closes what it opened.
    await this.#discovery?.catch(() => undefined);
  }

  // ---- internals ----

  #checkOpen(): void {
    if (this.#closer.signal.aborted) throw new PdClientClosedError();
  }

  #header(): pdpb.RequestHeader {
    return { clusterId: this.#clusterId, senderId: this.#senderId };
  }

  async #regionQuery<Req>(
    method: string,
    def: MethodDef<Req, pdpb.GetRegionResponse>,
    build: (header: pdpb.RequestHeader) => Req,
    options: PdCallOptions,
  ): Promise<RegionInfo | undefined> {
    try {
      return regionInfoOf(await this.#unary(method, def, build, options));
    } catch (e: unknown) {
      if (e instanceof PdRegionNotFoundError) return undefined;
      throw e;
    }
  }

  /**
   * One unary RPC to the leader with retries: transport failures and leader changes re-run
   * discovery (first retry at once, later ones after backoff); header errors are thrown typed.
   */
  async #unary<Req, Res extends { header: pdpb.ResponseHeader | undefined }>(
    method: string,
    def: MethodDef<Req, Res>,
    build: (header: pdpb.RequestHeader) => Req,
    options: PdCallOptions,
  ): Promise<Res> {
    this.#checkOpen();
    const signal = combineSignals(options.signal, this.#closer.signal);
    const backoff = new Backoff(this.#backoffOptions);
    let lastError: unknown;
    for (let attempt = 0; attempt <= this.#maxRetries; attempt++) {
      if (attempt > 1) await this.#clock.sleep(backoff.nextDelayMs(), { signal });
      const leader = await this.#getLeader(signal);
      let res: Res;
      try {
        res = await this.#invoke(leader, def, build(this.#header()), signal);
      } catch (e: unknown) {
        if (signal.aborted) throw signal.reason;
        if (!isRetryable(e)) {
          if (isServiceError(e)) throw new PdRpcError(method, e.code, e.details, { cause: e });
          throw e;
        }
        this.#logger?.warn('PD request failed, rediscovering the leader', { method, leader: leader.url, error: (e as Error).message });
        this.#leaderFailed(leader);
        lastError = e;
        continue;
      }
      const err = errorFromHeader(method, res.header);
      if (err === undefined) return res;
      if (err.errorType === pdpb.ErrorType.UNKNOWN && LEADER_CHANGE.test(err.message)) {
        this.#leaderFailed(leader);
        lastError = err;
        continue;
      }
      throw err;
    }
    throw new PdUnavailableError(`PD ${method} failed after ${this.#maxRetries + 1} attempts`, { cause: lastError });
  }

  #invoke<Req, Res>(leader: Leader, def: MethodDef<Req, Res>, req: Req, signal: AbortSignal): Promise<Res> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<Res>((resolve, reject) => {
      let timedOut = false;
      const onAbort = (): void => call.cancel();
      const timer = this.#clock.setTimer(this.#requestTimeoutMs, () => {
        timedOut = true;
        call.cancel();
      });
      const call = leader.client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, req, new grpc.Metadata(), {}, (err, res) => {
        timer.cancel();
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) reject(signal.reason);
        else if (timedOut) reject(new AttemptTimeout(`PD ${def.path} timed out after ${this.#requestTimeoutMs} ms`));
        else if (err !== null || res === undefined) reject(err ?? new Error(`PD ${def.path} returned no response`));
        else resolve(res);
      });
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  #leaderFailed(leader: Leader): void {
    if (this.#leader === leader && !leader.failed) {
      leader.failed = true;
      this.#logger?.info('PD leader marked failed', { leader: leader.url });
    }
  }

  #getLeader(signal: AbortSignal): Promise<Leader> {
    const leader = this.#leader;
    if (leader !== undefined && !leader.failed) return Promise.resolve(leader);
    return this.#discover(signal);
  }

  /** Shared discovery: rounds of GetMembers over all known URLs, backoff between rounds. */
  #discover(signal: AbortSignal): Promise<Leader> {
    if (this.#discovery === undefined) {
      const closer = this.#closer.signal;
      const run = async (): Promise<Leader> => {
        const backoff = new Backoff(this.#backoffOptions);
        for (let round = 0; ; round++) {
          try {
            return await this.#discoverOnce(closer);
          } catch (e: unknown) {
            if (closer.aborted) throw closer.reason;
            if (round >= this.#maxRetries) throw e;
            await this.#clock.sleep(backoff.nextDelayMs(), { signal: closer });
          }
        }
      };
      const p = run().finally(() => {
        if (this.#discovery === p) this.#discovery = undefined;
      });
      this.#discovery = p;
    }
    return raceSignal(this.#discovery, signal);
  }

  async #discoverOnce(signal: AbortSignal): Promise<Leader> {
    const candidates = [...new Set([...this.#memberUrls, ...this.#seedUrls])];
    let lastError: unknown;
    for (const url of candidates) {
      if (signal.aborted) throw signal.reason;
      let res: pdpb.GetMembersResponse;
      try {
        res = await this.#getMembersFrom(url, signal);
      } catch (e: unknown) {
        if (signal.aborted) throw signal.reason;
        lastError = e;
        continue;
      }
      const headerError = errorFromHeader('GetMembers', res.header);
      const clusterId = res.header?.clusterId ?? 0n;
      const leader = res.leader;
      if (headerError !== undefined) {
        lastError = headerError;
      } else if (clusterId === 0n) {
        lastError = new PdUnavailableError(`PD at ${url} answered GetMembers without a cluster id`);
      } else if (this.#clusterId !== 0n && clusterId !== this.#clusterId) {
        lastError = new PdClusterIdMismatchError(this.#clusterId, clusterId, url);
      } else if (leader === undefined || leader.clientUrls.length === 0) {
        lastError = new PdUnavailableError(`PD at ${url} knows no leader`);
      } else {
        this.#clusterId = clusterId;
        const learnt = res.members.flatMap((m) => m.clientUrls).filter((u) => isUsableUrl(u));
        if (learnt.length > 0) this.#memberUrls = learnt;
        return this.#useLeader(leader, signal);
      }
    }
    throw new PdUnavailableError(`No PD member answered GetMembers (tried ${candidates.join(', ')})`, { cause: lastError });
  }

  async #getMembersFrom(url: string, signal: AbortSignal): Promise<pdpb.GetMembersResponse> {
    const current = this.#leader;
    const reuse = current !== undefined && !current.failed && current.url === url;
    const client = reuse ? current.client : new grpc.Client(pdUrlToTarget(url), grpc.credentials.createInsecure(), this.#channelOptions);
    const probe: Leader = { url, client, name: '', failed: false };
    try {
      return await this.#invoke(probe, S.getMembers, pdpb.GetMembersRequest.fromPartial({ header: this.#header() }), signal);
    } finally {
      if (!reuse) client.close();
    }
  }

  #useLeader(member: pdpb.Member, signal: AbortSignal): Leader {
    const current = this.#leader;
    if (current !== undefined && !current.failed && member.clientUrls.includes(current.url)) return current;
    if (signal.aborted) throw signal.reason;
    const url = member.clientUrls.find((u) => isUsableUrl(u));
    if (url === undefined) throw new PdUnavailableError(`PD leader ${member.name} has no usable client URL (${member.clientUrls.join(', ')})`);
    const leader: Leader = {
      url,
      client: new grpc.Client(pdUrlToTarget(url), grpc.credentials.createInsecure(), this.#channelOptions),
      name: member.name,
      failed: false,
    };
    this.#leader = leader;
    this.#leaderChanges++;
    this.#logger?.info('connected to PD leader', { leader: url, name: member.name, 'cluster-id': this.#clusterId.toString() });
    if (current !== undefined) {
      // Streams bound to the old connection are dropped; the next use reopens them on the new one.
      this.#tso.resetStream(`PD leader is now ${url}`);
      this.#hb?.stream.cancel();
      this.#hb = undefined;
      current.client.close();
    }
    return leader;
  }

  #scheduleRefresh(): void {
    if (this.#refreshMs <= 0 || this.#closer.signal.aborted) return;
    this.#refreshTimer = this.#clock.setTimer(this.#refreshMs, () => {
      const refresh = this.#discovery ?? this.#discoverOnce(this.#closer.signal);
      refresh.then(
        () => this.#scheduleRefresh(),
        (e: unknown) => {
          this.#logger?.warn('PD member refresh failed', { error: e instanceof Error ? e.message : String(e) });
          this.#scheduleRefresh();
        },
      );
    });
  }

  async #openTsoStream(handlers: TsoStreamHandlers, signal: AbortSignal): Promise<TsoStream> {
    const leader = await this.#getLeader(signal);
    const stream = leader.client.makeBidiStreamRequest(S.tso.path, S.tso.requestSerialize, S.tso.responseDeserialize, new grpc.Metadata(), {});
    this.#tsoLeader = leader;
    let ended = false;
    const fail = (e: unknown): void => {
      if (ended) return;
      ended = true;
      handlers.onError(e);
    };
    stream.on('data', (res: pdpb.TsoResponse) => handlers.onResponse(res));
    stream.on('error', (e: unknown) => fail(e));
    stream.on('end', () => fail(new PdUnavailableError('PD ended the TSO stream')));
    return {
      send: (count) => {
        stream.write(pdpb.TsoRequest.fromPartial({ header: this.#header(), count }));
      },
      close: () => {
        ended = true;
        stream.cancel();
      },
    };
  }

  #openHeartbeatStream(leader: Leader): HeartbeatStream {
    const d = S.regionHeartbeat;
    const stream = leader.client.makeBidiStreamRequest(d.path, d.requestSerialize, d.responseDeserialize, new grpc.Metadata(), {});
    const hb: HeartbeatStream = { leader, stream };
    this.#hb = hb;
    stream.on('data', (res: pdpb.RegionHeartbeatResponse) => {
      const err = errorFromHeader('RegionHeartbeat', res.header);
      if (err !== undefined) {
        this.#logger?.warn('PD refused a region heartbeat', { 'region-id': res.regionId.toString(), error: err.message });
        return;
      }
      for (const listener of [...this.#hbListeners]) {
        try {
          listener(res);
        } catch (e: unknown) {
          this.#logger?.error('region heartbeat listener threw', { error: e instanceof Error ? e.message : String(e) });
        }
      }
    });
    const drop = (e: unknown): void => {
      if (this.#hb !== hb) return;
      this.#hb = undefined;
      if (this.#closer.signal.aborted) return;
      this.#logger?.warn('region heartbeat stream closed', { error: e instanceof Error ? e.message : String(e) });
      if (isRetryable(e) || e === undefined) this.#leaderFailed(leader);
    };
    stream.on('error', drop);
    stream.on('end', () => drop(undefined));
    return hb;
  }
}

function isUsableUrl(url: string): boolean {
  try {
    pdUrlToTarget(url);
    return true;
  } catch {
    return false;
  }
}
