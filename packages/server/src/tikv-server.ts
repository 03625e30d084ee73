import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { KvEngine } from '@tikv-ts/engine-traits';
import type { PdClient } from '@tikv-ts/pd-client';
import { debugpb, kvrpcpb, tikvpb } from '@tikv-ts/proto';
import { LocalEngine, RawStore, Storage } from '@tikv-ts/storage';
import {
  TikvError,
  describeConfig,
  type Clock,
  type Failpoints,
  type MetricsRegistry,
  type RootLogger,
} from '@tikv-ts/util';
import { tikvConfigSchema, type TikvConfig } from './config';
import { DebugService } from './debug-service';
import { FlowStats } from './flow-stats';
import { KvService } from './kv-service';
import { MeteredEngine } from './metered-engine';
import { createServerMetrics } from './metrics';
import { Node } from './node';
import { PdWorker, regionApproximateStats } from './pd-worker';
import { StatusServer } from './status-server';

/** A listen address could not be bound (port in use, bad host). */
export class ListenError extends TikvError {
  readonly code = 'KV:Server:Listen';
  constructor(
    readonly what: string,
    readonly address: string,
    options?: ErrorOptions,
  ) {
    const cause =
      options?.cause instanceof Error ? options.cause.message : String(options?.cause ?? '');
    const inUse = /EADDRINUSE|address already in use/i.test(cause);
    super(
      `Cannot listen on ${address} (${what}): ${inUse ? 'address already in use' : cause}`,
      options,
    );
  }
}

/** `host:port` split; throws TypeError on a malformed address. */
export function parseHostPort(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr.replace(/^[a-z]+:\/\//, ''));
  if (m === null)
    throw new TypeError(`Invalid address ${JSON.stringify(addr)}: expected host:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new TypeError(`Invalid port in ${JSON.stringify(addr)}`);
  return { host: m[1] ?? m[2] ?? '', port };
}

/**
 * Checks the listen and advertised addresses of `[server]`: each must be `host:port`, and an
 * address listening on all interfaces needs an advertised one (PD and clients cannot reach
 * 0.0.0.0).
 * @throws TypeError naming the key
 */
export function checkServerAddresses(config: TikvConfig): void {
  const srv = config.server;
  for (const [name, addr, adv] of [
    ['addr', srv.addr, srv.advertiseAddr],
    ['status-addr', srv.statusAddr, srv.advertiseStatusAddr],
  ] as const) {
    if (addr === '') {
      if (name === 'addr') throw new TypeError('server.addr must be set');
      continue;
    }
    const { host } = parseHostPort(addr);
    if (adv === '' && /^(0\.0\.0\.0|::|)$/.test(host)) {
      throw new TypeError(
        `server.${name} ${addr} listens on all interfaces: set server.advertise-${name} to an address clients can reach`,
      );
    }
    if (adv !== '') parseHostPort(adv);
  }
}

/** The capabilities a {@link TikvServer} uses (a `NodeRuntime` fits). */
export interface TikvServerRuntime {
  readonly clock: Clock;
  readonly logger: RootLogger;
  readonly metrics: MetricsRegistry;
  /** Failpoints the `debugpb.Debug` service sets and lists (absent: those RPCs answer UNAVAILABLE). */
  readonly failpoints?: Failpoints;
}

/** Options of {@link TikvServer.start}. */
export interface TikvServerOptions {
  readonly config: TikvConfig;
  readonly runtime: TikvServerRuntime;
  /** The store's KV engine (RocksDB in the app); owned by the caller, who closes it after `stop`. */
  readonly kv: KvEngine;
  /** A connected PD client; owned by the caller. */
  readonly pd: PdClient;
  /** Version reported to PD and on `/status`. */
  readonly version: string;
}

const COMPRESSION: Record<TikvConfig['server']['grpcCompressionType'], number> = {
  none: 0,
  deflate: 1,
  gzip: 2,
};

/**
 * A running tikv-server without replication: the gRPC `tikvpb.Tikv` service over storage on a
 * `LocalEngine`, the store registered with PD (bootstrapping the cluster when needed), store and
 * region heartbeats, and the status HTTP server. `RaftKv` will replace `LocalEngine` behind
 * storage's `Engine` interface.
 *
 * Start order: bind the gRPC port (fails fast when taken), start the node with PD (store id,
 * bootstrap, PutStore with the bound addresses), listen on the status address, then serve.
 */
export class TikvServer {
  readonly #grpc: grpc.Server;
  readonly #listener: net.Server;
  readonly #service: KvService;
  readonly #status: StatusServer | undefined;
  readonly #worker: PdWorker;
  readonly #node: Node;
  readonly #storage: Storage;
  readonly #logger: RootLogger;
  readonly #config: TikvConfig;
  readonly #address: string;
  readonly #statusAddress: string;
  #stopping: Promise<void> | undefined;

  private constructor(p: {
    grpc: grpc.Server;
    listener: net.Server;
    service: KvService;
    status: StatusServer | undefined;
    worker: PdWorker;
    node: Node;
    storage: Storage;
    logger: RootLogger;
    config: TikvConfig;
    address: string;
    statusAddress: string;
  }) {
    this.#grpc = p.grpc;
    this.#listener = p.listener;
    this.#service = p.service;
    this.#status = p.status;
    this.#worker = p.worker;
    this.#node = p.node;
    this.#storage = p.storage;
    this.#logger = p.logger;
    this.#config = p.config;
    this.#address = p.address;
    this.#statusAddress = p.statusAddress;
  }

  /**
   * Starts serving.
   * @throws ListenError when an address cannot be bound; ClusterIdMismatchError when the data
   *   directory belongs to another cluster; PD errors during bootstrap
   */
  static async start(options: TikvServerOptions): Promise<TikvServer> {
    const { config, runtime, kv, pd } = options;
    const { clock, logger } = runtime;
    const metrics = createServerMetrics(runtime.metrics);
    const srv = config.server;

    const server = new grpc.Server({
      'grpc.max_receive_message_length': srv.maxGrpcRecvMsgLen,
      'grpc.max_send_message_length': srv.maxGrpcSendMsgLen,
      'grpc.default_compression_algorithm': COMPRESSION[srv.grpcCompressionType],
      'grpc.keepalive_permit_without_calls': 1,
      // grpc-js's channelz bookkeeping (per-call counters and timestamps) costs ~10% of the
      // server's CPU per unary call; nothing here reads channelz (TiKV has no channelz either).
      'grpc.enable_channelz': 0,
    });
    const listen = parseHostPort(srv.addr);
    checkServerAddresses(config);
    // Our own listener hands connections to grpc-js: it sets TCP_NODELAY on accepted sockets,
    // which grpc-js's own listener does not (small unary responses would wait for delayed ACKs).
    const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    const listener = net.createServer({ noDelay: true }, (socket) =>
      injector.injectConnection(socket),
    );
    const port = await new Promise<number>((resolve, reject) => {
      listener.once('error', (err) => reject(new ListenError('gRPC', srv.addr, { cause: err })));
      listener.listen(listen.port, listen.host, () =>
        resolve((listener.address() as net.AddressInfo).port),
      );
    });
    const address = srv.advertiseAddr !== '' ? srv.advertiseAddr : `${listen.host}:${port}`;
    let status: StatusServer | undefined;
    let worker: PdWorker | undefined;
    try {
      let statusAddress = srv.advertiseStatusAddr;
      let statusListen: { host: string; port: number } | undefined;
      if (srv.statusAddr !== '') {
        statusListen = parseHostPort(srv.statusAddr);
        if (statusAddress === '') statusAddress = srv.statusAddr;
      }
      const startTimeSec = Math.floor(clock.nowMs() / 1000);
      const node = await Node.start({
        kv,
        pd,
        logger,
        apiVersion: config.storage.enableTtl ? kvrpcpb.APIVersion.V1TTL : kvrpcpb.APIVersion.V1,
        raftEntryMaxSizeBytes: config.raftstore.raftEntryMaxSize,
        store: {
          address,
          statusAddress,
          version: options.version,
          deployPath: config.storage.dataDir,
          startTimestampSec: BigInt(startTimeSec),
        },
      });
      const engine = new MeteredEngine(
        new LocalEngine(kv, { sync: true }),
        clock,
        metrics.engineAsyncRequestDuration,
      );
      const storage = new Storage({
        engine,
        clock,
        pendingWriteThresholdBytes: config.storage.schedulerPendingWriteThreshold,
        waitForLockTimeoutMs: config.pessimisticTxn.waitForLockTimeout,
        wakeUpDelayMs: config.pessimisticTxn.wakeUpDelayDuration,
      });
      const raw = new RawStore({
        engine,
        clock,
        apiVersion: kvrpcpb.APIVersion.V1,
        enableTtl: config.storage.enableTtl,
        maxKeySizeBytes: config.storage.maxKeySize,
      });
      const flow = new FlowStats();
      worker = new PdWorker({
        pd,
        kv,
        regions: node.regions,
        flow,
        metrics,
        clock,
        logger,
        dataDir: config.storage.dataDir,
        capacityBytes: config.raftstore.capacity,
        storeHeartbeatIntervalMs: config.raftstore.pdStoreHeartbeatTickInterval,
        regionHeartbeatIntervalMs: config.raftstore.pdHeartbeatTickInterval,
        startTimeSec,
        isBusy: () =>
          storage.scheduler.pendingWriteBytes >= config.storage.schedulerPendingWriteThreshold,
      });
      const w = worker;
      const splitter = {
        splitRegion: async (regionId: bigint, keys: readonly Uint8Array[]) => {
          const regions = await node.splitRegion(regionId, keys);
          await w.regionHeartbeats(regions);
          return regions;
        },
      };
      const service = new KvService({
        storage,
        raw,
        regions: node.regions,
        splitter,
        flow,
        metrics,
        clock,
        logger,
        ...(runtime.failpoints === undefined ? {} : { failpoints: runtime.failpoints }),
      });
      if (statusListen !== undefined) {
        status = await StatusServer.create({
          metrics: runtime.metrics,
          logger,
          regions: node.regions,
          describeConfig: () => describeConfig(tikvConfigSchema, config),
          regionStats: (region) => regionApproximateStats(kv, region),
          info: () => ({
            store_id: node.storeId.toString(),
            cluster_id: node.clusterId.toString(),
            address,
            status_address: statusAddress,
            version: options.version,
            start_time: startTimeSec,
            region_count: node.regions.size,
            data_dir: config.storage.dataDir,
            scheduler_pending_write_bytes: storage.scheduler.pendingWriteBytes,
            pd_endpoints: config.pd.endpoints,
          }),
        });
        try {
          const bound = await status.listen(statusListen.host, statusListen.port);
          if (srv.advertiseStatusAddr === '') statusAddress = `${statusListen.host}:${bound.port}`;
        } catch (e: unknown) {
          throw new ListenError('status', srv.statusAddr, { cause: e });
        }
      }
      server.addService(tikvpb.TikvService, service.implementation());
      const debug = new DebugService({
        kv,
        metrics: runtime.metrics,
        logger,
        ...(runtime.failpoints === undefined ? {} : { failpoints: runtime.failpoints }),
      });
      server.addService(debugpb.DebugService, debug.implementation());
      worker.start();
      logger.info('TiKV is ready to serve', {
        addr: address,
        'status-addr': statusAddress,
        'store-id': node.storeId.toString(),
      });
      return new TikvServer({
        grpc: server,
        listener,
        service,
        status,
        worker,
        node,
        storage,
        logger,
        config,
        address,
        statusAddress,
      });
    } catch (e: unknown) {
      await worker?.stop();
      await status?.close().catch(() => undefined);
      listener.close();
      server.forceShutdown();
      throw e;
    }
  }

  /** The gRPC address announced to PD. */
  get address(): string {
    return this.#address;
  }

  /** The status address announced to PD ('' without a status server). */
  get statusAddress(): string {
    return this.#statusAddress;
  }

  get node(): Node {
    return this.#node;
  }

  get storage(): Storage {
    return this.#storage;
  }

  /**
   * Graceful stop: stops accepting calls, lets requests in flight finish (up to
   * `server.graceful-shutdown-timeout`, then cancels the rest), ends BatchCommands streams, stops
   * heartbeats and the status server. The engine and PD client stay open (the caller closes them).
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#logger.info('TiKV is stopping', { 'in-flight': this.#service.inFlight });
    const listenerClosed = new Promise<void>((resolve) => this.#listener.close(() => resolve()));
    const shutdown = new Promise<void>((resolve) => this.#grpc.tryShutdown(() => resolve()));
    const timeoutMs = this.#config.server.gracefulShutdownTimeout;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const drained = await Promise.race([
      this.#service
        .drain()
        .then(() => shutdown)
        .then(() => 'done' as const),
      timedOut,
    ]);
    clearTimeout(timer);
    if (drained === 'timeout') {
      this.#logger.warn('graceful shutdown timed out, cancelling the remaining calls', {
        'in-flight': this.#service.inFlight,
      });
      this.#grpc.forceShutdown();
    }
    await listenerClosed;
    await this.#worker.stop();
    await this.#status?.close();
    this.#logger.info('TiKV is stopped');
  }
}
