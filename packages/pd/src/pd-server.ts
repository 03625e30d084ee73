import type { Duplex } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { KvEngine } from '@tikv-ts/engine-traits';
import { etcdserverpb, health, keyspacepb, pdpb } from '@tikv-ts/proto';
import type { Clock, Rng, TimerHandle } from '@tikv-ts/util';
import { ClusterState } from './cluster';
import { defaultPdConfig, effectiveClientUrls, effectivePeerUrls, type PdConfig } from './config';
import { createEtcdKvService, createHealthService, createKeyspaceService, createPdService, type PdCore } from './grpc-service';
import { registerDashboard, type DashboardOptions } from './dashboard';
import { createHttpApi, type PdHttpCore } from './http-api';
import { IdAllocator } from './id-allocator';
import type { RegionInfo } from './region-tree';
import { PdStorage } from './storage';
import { TsoAllocator } from './tso';
import { Coordinator, PeerIdPool, clusterViewOf, type ScheduleConfig } from './schedule';

/** Structured log sink of the server (the app passes its logger; default: silent). */
export interface PdLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const SILENT: PdLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Options of {@link PdServer.start}. */
export interface PdServerOptions {
  /** Where PD's state lives; the caller owns it (opens it before, closes it after {@link PdServer.close}). */
  readonly engine: KvEngine;
  /** Time source for the TSO, heartbeats and timers. */
  readonly clock: Clock;
  /** Randomness for the cluster id of a fresh data directory. */
  readonly rng: Rng;
  /** Configuration (missing fields take PD's defaults). */
  readonly config?: Partial<PdConfig>;
  readonly logger?: PdLogger;
  /** Ids reserved per persisted batch (default 1000). */
  readonly idBatchSize?: number;
  /** Hook for a scheduler: called for every accepted region heartbeat; a returned response is sent on the stream. */
  readonly onRegionHeartbeat?: (region: RegionInfo) => pdpb.RegionHeartbeatResponse | undefined;
  /** Hook for the HTTP API's `/operators` (default: none). */
  readonly operators?: () => unknown[];
  /** Hook for the HTTP API's `/schedulers` (default: none). */
  readonly schedulers?: () => string[];
  /**
   * PD's scheduling (replica checker, balance-leader, balance-region; see `schedule/`), run on
   * the clock every `intervalMs` (default 100 ms) unless `false`. Ignored when
   * {@link onRegionHeartbeat} is given: the caller then schedules itself.
   */
  readonly scheduling?: false | { readonly intervalMs?: number; readonly config?: Partial<ScheduleConfig> };
  /** Period of the store check (offline → tombstone), default 10 s. */
  readonly storeCheckIntervalMs?: number;
  /** Serves the dashboard page from this folder under `/dashboard/` (default: no dashboard). */
  readonly dashboard?: DashboardOptions;
}

/** Whether the first bytes of a connection are (the start of) the HTTP/2 connection preface. */
function looksLikeHttp2(chunk: Uint8Array): boolean {
  const preface = 'PRI * HTTP/2.0';
  const n = Math.min(chunk.length, preface.length);
  for (let i = 0; i < n; i++) if (chunk[i] !== preface.charCodeAt(i)) return false;
  return n > 0;
}

/** FNV-1a 64 of a string: a stable member id derived from the member's name and URLs. */
function fnv64(text: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i) & 0xff);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h === 0n ? 1n : h;
}

/**
 * A single-member Placement Driver: the TSO, the id allocator, the cluster state, and its
 * services — `pdpb.PD`, `keyspacepb.Keyspace`, `grpc.health.v1.Health`, etcd `KV` Range/Put —
 * plus PD's HTTP API. This member is always the leader.
 *
 * The server does no socket I/O itself: whoever listens (the pd-server app, a test) passes each
 * accepted connection to {@link handleConnection}, which hands HTTP/2 connections (gRPC) to
 * grpc-js and HTTP/1.1 ones to the HTTP API, so both share the client URL's port as in PD.
 *
 * Lifecycle: {@link start} loads the persisted state (or creates a cluster id on a fresh
 * engine), then serves until {@link close}. The engine stays the caller's.
 */
export class PdServer implements PdCore, PdHttpCore {
  readonly clusterId: bigint;
  readonly member: pdpb.Member;
  readonly cluster: ClusterState;
  readonly tso: TsoAllocator;
  readonly ids: IdAllocator;
  readonly storage: PdStorage;
  readonly config: PdConfig;
  onRegionHeartbeat: ((region: RegionInfo) => pdpb.RegionHeartbeatResponse | undefined) | undefined;
  readonly metricsContentType: string;
  /** The scheduling coordinator, when PD schedules itself (see {@link PdServerOptions.scheduling}). */
  coordinator: Coordinator | undefined;
  readonly #clock: Clock;
  readonly #logger: PdLogger;
  readonly #registry: Registry;
  readonly #grpcDuration: Histogram;
  readonly #grpcErrors: Counter;
  readonly #grpc: grpc.Server;
  readonly #injector: grpc.ConnectionInjector;
  #http: FastifyInstance | undefined;
  readonly #sockets = new Set<Duplex>();
  readonly #heartbeatStreams = new Map<bigint, grpc.ServerDuplexStream<pdpb.RegionHeartbeatRequest, pdpb.RegionHeartbeatResponse>>();
  #operators: () => unknown[];
  #schedulers: () => string[];
  readonly #storeCheckIntervalMs: number;
  #storeCheckTimer: TimerHandle | undefined;
  #closed = false;

  private constructor(
    options: PdServerOptions,
    parts: { clusterId: bigint; storage: PdStorage; cluster: ClusterState; tso: TsoAllocator; ids: IdAllocator; config: PdConfig },
  ) {
    this.clusterId = parts.clusterId;
    this.storage = parts.storage;
    this.cluster = parts.cluster;
    this.tso = parts.tso;
    this.ids = parts.ids;
    this.config = parts.config;
    this.#clock = options.clock;
    this.#logger = options.logger ?? SILENT;
    this.onRegionHeartbeat = options.onRegionHeartbeat;
    this.#operators = options.operators ?? (() => []);
    this.#schedulers = options.schedulers ?? (() => []);
    this.#storeCheckIntervalMs = options.storeCheckIntervalMs ?? 10_000;
    const clientUrls = [...effectiveClientUrls(this.config)];
    const peerUrls = [...effectivePeerUrls(this.config)];
    this.member = pdpb.Member.fromPartial({
      name: this.config.name,
      memberId: fnv64(`${this.config.name}|${peerUrls.join(',')}`),
      peerUrls,
      clientUrls,
      binaryVersion: '8.5.0',
      gitHash: 'tikv-ts',
      deployPath: this.config.dataDir,
    });

    this.#registry = new Registry();
    this.metricsContentType = this.#registry.contentType;
    this.#grpcDuration = new Histogram({
      name: 'grpc_server_handling_seconds',
      help: 'Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.',
      labelNames: ['grpc_method', 'grpc_service', 'grpc_type'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.#registry],
    });
    this.#grpcErrors = new Counter({
      name: 'pd_server_request_error_total',
      help: 'Requests answered with an error header, by method.',
      labelNames: ['method'],
      registers: [this.#registry],
    });
    const cluster = this.cluster;
    new Gauge({
      name: 'pd_cluster_status',
      help: 'Status of the cluster: store counts by state, region count.',
      labelNames: ['type'],
      registers: [this.#registry],
      collect() {
        const counts: Record<string, number> = { store_up_count: 0, store_disconnected_count: 0, store_down_count: 0, store_offline_count: 0, store_tombstone_count: 0 };
        if (cluster.isBootstrapped) {
          for (const s of cluster.getAllStores()) {
            const key = `store_${cluster.storeStateName(s).toLowerCase()}_count`;
            counts[key] = (counts[key] ?? 0) + 1;
          }
        }
        for (const [k, v] of Object.entries(counts)) this.set({ type: k }, v);
        this.set({ type: 'region_count' }, cluster.isBootstrapped ? cluster.regionCount : 0);
      },
    });
    const tso = this.tso;
    new Gauge({
      name: 'pd_tso_window_saves',
      help: 'Number of synced writes of the TSO window since start.',
      registers: [this.#registry],
      collect() {
        this.set(tso.windowSaves);
      },
    });

    // No channelz: its per-call bookkeeping cost ~10% of tikv-server's CPU per unary call, and
    // nothing reads it.
    this.#grpc = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc.enable_channelz': 0 });
    this.#grpc.addService(pdpb.PDService, createPdService(this) as grpc.UntypedServiceImplementation);
    this.#grpc.addService(keyspacepb.KeyspaceService, createKeyspaceService(this) as grpc.UntypedServiceImplementation);
    this.#grpc.addService(health.HealthService, createHealthService(() => !this.#closed) as unknown as grpc.UntypedServiceImplementation);
    this.#grpc.addService(etcdserverpb.KVService, createEtcdKvService(this) as grpc.UntypedServiceImplementation);
    this.#injector = this.#grpc.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  }

  /**
   * Opens PD on `options.engine`: loads or creates the cluster id (from the clock's seconds and
   * 32 random bits, as PD does), the id allocator, the TSO window, the cluster state, and
   * builds the services.
   */
  static async start(options: PdServerOptions): Promise<PdServer> {
    const config: PdConfig = { ...defaultPdConfig(), ...options.config };
    const storage = new PdStorage(options.engine);
    let clusterId = await storage.loadClusterId();
    if (clusterId === undefined) {
      const seconds = BigInt(Math.floor(options.clock.nowMs() / 1000));
      clusterId = (seconds << 32n) | BigInt(options.rng.nextInt(2 ** 32));
      if (clusterId === 0n) clusterId = 1n;
      await storage.saveClusterId(clusterId);
    } else {
      storage.setClusterId(clusterId);
    }
    const ids = new IdAllocator(storage, options.idBatchSize === undefined ? {} : { step: options.idBatchSize });
    await ids.initialize();
    const tso = new TsoAllocator(options.clock, storage, { saveIntervalMs: config.tsoSaveIntervalMs, updateIntervalMs: config.tsoUpdateIntervalMs });
    await tso.initialize();
    const cluster = await ClusterState.load(storage, options.clock, { maxStoreDownTimeMs: config.maxStoreDownTimeMs, maxReplicas: config.maxReplicas });
    const server = new PdServer(options, { clusterId, storage, cluster, tso, ids, config });
    if (options.onRegionHeartbeat === undefined && options.scheduling !== false) {
      server.#startScheduling(options.rng, options.scheduling ?? {});
    }
    const dashboard = options.dashboard;
    server.#http = await createHttpApi(server, dashboard === undefined ? undefined : (app) => registerDashboard(app, server, dashboard));
    server.#scheduleStoreCheck();
    server.#logger.info('PD started', { 'cluster-id': clusterId.toString(), name: config.name, bootstrapped: cluster.isBootstrapped });
    return server;
  }

  /** Whether {@link close} has been called. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * Serves one accepted connection: HTTP/2 (gRPC) or HTTP/1.1 (the HTTP API), told apart by
   * the first bytes (the HTTP/2 connection preface). The socket belongs to the server from now
   * on; it is destroyed on {@link close}.
   */
  handleConnection(socket: Duplex): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      socket.unshift(chunk);
      if (this.#closed || this.#http === undefined) {
        socket.destroy();
      } else if (looksLikeHttp2(chunk)) {
        // Node's HTTP/2 session reads what is buffered in the socket (the unshifted preface)
        // itself on its next tick; resuming here would hand those bytes to no one.
        this.#injector.injectConnection(socket);
      } else {
        this.#http.server.emit('connection', socket);
        socket.resume();
      }
    });
  }

  /** Sends a heartbeat response (an operator) on the region heartbeat stream of a store; false if none is open. */
  sendRegionHeartbeatResponse(storeId: bigint, response: pdpb.RegionHeartbeatResponse): boolean {
    const stream = this.#heartbeatStreams.get(storeId);
    if (stream === undefined || stream.destroyed || !stream.writable) return false;
    stream.write(pdpb.RegionHeartbeatResponse.fromPartial({ ...response, header: { clusterId: this.clusterId, error: undefined } }));
    return true;
  }

  /** @internal (PdCore) */
  registerHeartbeatStream(storeId: bigint, stream: grpc.ServerDuplexStream<pdpb.RegionHeartbeatRequest, pdpb.RegionHeartbeatResponse>): void {
    if (this.#heartbeatStreams.get(storeId) === stream) return;
    this.#heartbeatStreams.set(storeId, stream);
    stream.on('close', () => {
      if (this.#heartbeatStreams.get(storeId) === stream) this.#heartbeatStreams.delete(storeId);
    });
  }

  /** @internal (PdCore) */
  observe(method: string, ok: boolean, seconds: number): void {
    this.#grpcDuration.observe({ grpc_method: method, grpc_service: 'pdpb.PD', grpc_type: 'unary' }, seconds);
    if (!ok) this.#grpcErrors.inc({ method });
  }

  /** @internal (PdCore) */
  monotonicMs(): number {
    return this.#clock.monotonicMs();
  }

  /** @internal (PdHttpCore) */
  nowMs(): number {
    return this.#clock.nowMs();
  }

  /** Prometheus text of the server's metrics. */
  metricsText(): Promise<string> {
    return this.#registry.metrics();
  }

  /** @internal (PdHttpCore) */
  operators(): unknown[] {
    return this.#operators();
  }

  /** @internal (PdHttpCore) */
  schedulers(): string[] {
    return this.#schedulers();
  }

  #startScheduling(rng: Rng, options: { readonly intervalMs?: number; readonly config?: Partial<ScheduleConfig> }): void {
    const warn = (what: string) => (e: unknown) =>
      this.#logger.warn(what, { error: e instanceof Error ? e.message : String(e) });
    const pool = new PeerIdPool((n) => this.ids.allocMany(n), { onError: warn('peer id refill failed') });
    const coordinator = new Coordinator({
      cluster: clusterViewOf(this.cluster),
      clock: this.#clock,
      rng: rng.fork('schedule'),
      allocPeerId: () => pool.take(),
      config: { maxStoreDownTimeMs: this.config.maxStoreDownTimeMs, ...options.config },
      clusterId: this.clusterId,
    });
    this.coordinator = coordinator;
    this.onRegionHeartbeat = (region) => coordinator.onRegionHeartbeat(region);
    this.#operators = () => coordinator.listOperators();
    this.#schedulers = () => coordinator.listSchedulers();
    coordinator.start(
      options.intervalMs ?? 100,
      (d) => this.sendRegionHeartbeatResponse(d.storeId, d.response),
      warn('scheduling tick failed'),
    );
  }

  #scheduleStoreCheck(): void {
    if (this.#closed) return;
    this.#storeCheckTimer = this.#clock.setTimer(this.#storeCheckIntervalMs, () => {
      this.cluster.checkStores().then(
        (changed) => {
          for (const id of changed) this.#logger.info('store is tombstone now', { 'store-id': id.toString() });
          this.#scheduleStoreCheck();
        },
        (e: unknown) => {
          this.#logger.warn('store check failed', { error: e instanceof Error ? e.message : String(e) });
          this.#scheduleStoreCheck();
        },
      );
    });
  }

  /**
   * Stops serving: refuses new connections, ends gRPC calls and HTTP connections, stops the TSO
   * and background checks. Writes already acknowledged are durable; the engine stays open
   * (the caller closes it). Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#storeCheckTimer?.cancel();
    this.coordinator?.stop();
    this.tso.close();
    this.#injector.destroy();
    this.#grpc.forceShutdown();
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    if (this.#http !== undefined) await this.#http.close();
    this.#logger.info('PD stopped', { 'cluster-id': this.clusterId.toString() });
  }
}

