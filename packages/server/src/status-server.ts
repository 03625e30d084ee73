import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance } from 'fastify';
import { toHex } from '@tikv-ts/codec';
import type { metapb } from '@tikv-ts/proto';
import { parseLogLevel, type MetricsRegistry, type RootLogger } from '@tikv-ts/util';
import type { RegionManager } from './region-manager';

/** Options of {@link StatusServer}. */
export interface StatusServerOptions {
  readonly metrics: MetricsRegistry;
  readonly logger: RootLogger;
  readonly regions: RegionManager;
  /** The configuration as `/config` shows it (TiKV's kebab-case JSON, with `storage.api-version`). */
  readonly describeConfig: () => Record<string, unknown>;
  /** Approximate size and keys of a region, for `/region/{id}`. */
  readonly regionStats: (region: metapb.Region) => Promise<{ sizeBytes: number; keys: number }>;
  /** Facts shown on `/status` and the dashboard page. */
  readonly info: () => Record<string, unknown>;
  /** Folder of the dashboard's static files (default: the package's `static/`). */
  readonly staticRoot?: string;
}

function regionJson(region: metapb.Region): Record<string, unknown> {
  return {
    id: region.id.toString(),
    start_key: toHex(region.startKey),
    end_key: toHex(region.endKey),
    region_epoch: {
      conf_ver: (region.regionEpoch?.confVer ?? 0n).toString(),
      version: (region.regionEpoch?.version ?? 0n).toString(),
    },
    peers: region.peers.map((p) => ({ id: p.id.toString(), store_id: p.storeId.toString(), role: p.role })),
  };
}

/**
 * TiKV's status HTTP server on fastify: `GET /metrics` (Prometheus text), `GET /status`,
 * `GET /config` (JSON), `PUT /log-level` (`{"log_level": "debug"}`), `GET /region/{id}`,
 * `GET /engine_type`, and the node's dashboard page under `/dashboard/` (static files).
 */
export class StatusServer {
  readonly #app: FastifyInstance;

  private constructor(app: FastifyInstance) {
    this.#app = app;
  }

  /** Builds the routes (not listening yet; see {@link listen}). */
  static async create(options: StatusServerOptions): Promise<StatusServer> {
    const app = Fastify({ logger: false });
    await app.register(fastifyStatic, {
      root: options.staticRoot ?? join(__dirname, '..', 'static'),
      prefix: '/dashboard/',
    });
    app.get('/', async (_req, reply) => reply.redirect('/dashboard/'));
    app.get('/metrics', async (_req, reply) => {
      const text = await options.metrics.exposition();
      return reply.header('content-type', options.metrics.contentType).send(text);
    });
    app.get('/status', async () => options.info());
    app.get('/config', async () => options.describeConfig());
    app.get('/engine_type', async (_req, reply) => reply.type('text/plain').send('raft-kv'));
    app.put('/log-level', async (req, reply) => {
      const body = req.body as { log_level?: unknown } | undefined;
      const level = body?.log_level;
      if (typeof level !== 'string') return reply.code(400).send({ error: 'Body must be {"log_level": "<level>"}' });
      try {
        options.logger.setLevel(parseLogLevel(level));
      } catch (e: unknown) {
        return reply.code(400).send({ error: e instanceof Error ? e.message : String(e) });
      }
      return reply.code(200).send({});
    });
    app.get('/region/:id', async (req, reply) => {
      const { id } = req.params as { id: string };
      if (!/^\d+$/.test(id)) return reply.code(400).send({ error: `Invalid region id ${JSON.stringify(id)}` });
      const region = options.regions.get(BigInt(id));
      if (region === undefined) return reply.code(404).send({ error: `Region ${id} not found` });
      const stats = await options.regionStats(region);
      return { ...regionJson(region), approximate_size: stats.sizeBytes, approximate_keys: stats.keys };
    });
    app.get('/regions', async () => ({ count: options.regions.size, regions: options.regions.regions().map(regionJson) }));
    return new StatusServer(app);
  }

  /** Listens on `host:port` (port 0 picks a free port); resolves to the bound address. */
  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    await this.#app.listen({ host, port });
    const addr = this.#app.server.address();
    if (addr === null || typeof addr === 'string') return { host, port };
    return { host: addr.address, port: addr.port };
  }

  /** Stops listening and closes connections. */
  async close(): Promise<void> {
    await this.#app.close();
  }
}
