import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { toHex } from '@tikv-ts/codec';
import { metapb } from '@tikv-ts/proto';
import type { ClusterState, StoreInfo } from './cluster';
import { pdConfigJson, type PdConfig } from './config';
import { PdInvalidValueError, PdRegionNotFoundError, PdStoreNotFoundError, PdStoreTombstoneError } from './errors';
import type { RegionInfo } from './region-tree';

/** What the HTTP API reads (implemented by {@link PdServer}). */
export interface PdHttpCore {
  readonly clusterId: bigint;
  readonly member: { name: string; memberId: bigint; peerUrls: string[]; clientUrls: string[] };
  readonly cluster: ClusterState;
  readonly config: PdConfig;
  /** Prometheus text exposition of the server's metrics. */
  metricsText(): Promise<string>;
  readonly metricsContentType: string;
  /** Operators in flight (the scheduler's), as JSON values. */
  operators(): unknown[];
  /** Names of the running schedulers. */
  schedulers(): string[];
  /** Wall-clock ms. */
  nowMs(): number;
}

/** JSON text where bigints are written as exact integers (PD's uint64 fields). */
export function toJsonText(value: unknown): string {
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `__u64__${v.toString()}__` : v));
  return text.replace(/"__u64__(-?\d+)__"/g, '$1');
}

function sendJson(reply: FastifyReply, value: unknown, code = 200): FastifyReply {
  return reply.code(code).type('application/json; charset=UTF-8').send(toJsonText(value));
}

/** A key as PD prints it in JSON: upper-case hex. */
function hexKey(key: Uint8Array): string {
  return toHex(key).toUpperCase();
}

const ROLE_NAMES: Record<number, string> = {
  [metapb.PeerRole.Voter]: 'Voter',
  [metapb.PeerRole.Learner]: 'Learner',
  [metapb.PeerRole.IncomingVoter]: 'IncomingVoter',
  [metapb.PeerRole.DemotingVoter]: 'DemotingVoter',
};

function peerJson(p: metapb.Peer): Record<string, unknown> {
  return { id: p.id, store_id: p.storeId, role: p.role, role_name: ROLE_NAMES[p.role] ?? 'Voter', is_learner: p.role === metapb.PeerRole.Learner };
}

/** A region as PD's `/pd/api/v1/region…` JSON shows it. */
export function regionJson(r: RegionInfo): Record<string, unknown> {
  return {
    id: r.meta.id,
    start_key: hexKey(r.meta.startKey),
    end_key: hexKey(r.meta.endKey),
    epoch: { conf_ver: r.meta.regionEpoch?.confVer ?? 0n, version: r.meta.regionEpoch?.version ?? 0n },
    peers: r.meta.peers.map(peerJson),
    leader: r.leader === undefined ? {} : peerJson(r.leader),
    down_peers: r.downPeers.map((d) => ({ peer: d.peer === undefined ? {} : peerJson(d.peer), down_seconds: d.downSeconds })),
    pending_peers: r.pendingPeers.map(peerJson),
    written_bytes: r.stats.bytesWritten,
    read_bytes: r.stats.bytesRead,
    written_keys: r.stats.keysWritten,
    read_keys: r.stats.keysRead,
    approximate_size: r.stats.approximateSize / (1024n * 1024n),
    approximate_keys: r.stats.approximateKeys,
  };
}

function formatTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** A store as PD's `/pd/api/v1/store…` JSON shows it. */
function storeJson(core: PdHttpCore, s: StoreInfo): Record<string, unknown> {
  const m = s.meta;
  const stats = s.stats;
  const nowMs = core.nowMs();
  const startMs = stats !== undefined && stats.startTime > 0 ? stats.startTime * 1000 : undefined;
  return {
    store: {
      id: m.id,
      address: m.address,
      labels: m.labels.map((l) => ({ key: l.key, value: l.value })),
      version: m.version,
      peer_address: m.peerAddress,
      status_address: m.statusAddress,
      git_hash: m.gitHash,
      start_timestamp: m.startTimestamp,
      deploy_path: m.deployPath,
      last_heartbeat: BigInt(s.lastHeartbeatMs) * 1_000_000n,
      state: m.state,
      node_state: m.nodeState,
      state_name: core.cluster.storeStateName(s),
    },
    status: {
      capacity: stats?.capacity ?? 0n,
      available: stats?.available ?? 0n,
      used_size: stats?.usedSize ?? 0n,
      leader_count: core.cluster.leaderCountOfStore(m.id),
      leader_weight: 1,
      region_count: core.cluster.regionCountOfStore(m.id),
      region_weight: 1,
      sending_snap_count: stats?.sendingSnapCount ?? 0,
      receiving_snap_count: stats?.receivingSnapCount ?? 0,
      is_busy: stats?.isBusy ?? false,
      ...(startMs !== undefined ? { start_ts: formatTime(startMs), uptime: `${Math.max(0, Math.floor((nowMs - startMs) / 1000))}s` } : {}),
      last_heartbeat_ts: formatTime(s.lastHeartbeatMs),
    },
  };
}

function parseId(text: string): bigint {
  if (!/^\d{1,20}$/.test(text)) throw new PdInvalidValueError(`invalid id ${JSON.stringify(text)}`);
  const v = BigInt(text);
  if (v >= 1n << 64n) throw new PdInvalidValueError(`invalid id ${JSON.stringify(text)}`);
  return v;
}

function errorStatus(e: unknown): number {
  if (e instanceof PdInvalidValueError) return 400;
  if (e instanceof PdStoreNotFoundError || e instanceof PdRegionNotFoundError) return 404;
  if (e instanceof PdStoreTombstoneError) return 410;
  return 500;
}

/**
 * Builds PD's HTTP API (fastify) without listening: the server hands it HTTP/1.1 connections.
 * Routes (PD's paths and JSON shapes): `/pd/api/v1/health`, `/members`, `/leader`, `/stores`,
 * `/store/{id}` (GET, DELETE to take it offline, POST `/store/{id}/state?state=Up|Offline|Tombstone`),
 * `/regions` (`{count, regions}`, optional `limit`), `/regions/count`, `/region/id/{id}`,
 * `/region/key/{key}` (`?format=hex` for a hex key), `/config`, `/cluster`, `/operators`,
 * `/schedulers`, `/gc/safepoint`, and `/metrics` (Prometheus text). Errors answer a JSON
 * string with the message and 400/404/410/500, as PD does; the server keeps serving.
 * `extend` adds routes (the dashboard) before the app is made ready.
 */
export async function createHttpApi(core: PdHttpCore, extend?: (app: FastifyInstance) => Promise<void>): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  const cluster = core.cluster;

  app.setErrorHandler((error: unknown, _req, reply) => {
    const status = errorStatus(error);
    const code = typeof (error as { statusCode?: unknown }).statusCode === 'number' ? (error as { statusCode: number }).statusCode : status;
    void sendJson(reply, error instanceof Error ? error.message : String(error), code);
  });
  app.setNotFoundHandler((req, reply) => {
    void sendJson(reply, `404 page not found: ${req.url}`, 404);
  });

  const member = (): Record<string, unknown> => ({
    name: core.member.name,
    member_id: core.member.memberId,
    peer_urls: core.member.peerUrls,
    client_urls: core.member.clientUrls,
  });

  app.get('/pd/api/v1/health', (_req, reply) => sendJson(reply, [{ ...member(), health: true }]));
  app.get('/pd/api/v1/ping', (_req, reply) => reply.send(''));
  app.get('/pd/api/v1/members', (_req, reply) =>
    sendJson(reply, { header: { cluster_id: core.clusterId }, members: [member()], leader: member(), etcd_leader: member() }),
  );
  app.get('/pd/api/v1/leader', (_req, reply) => sendJson(reply, member()));
  app.get('/pd/api/v1/cluster', (_req, reply) => {
    const c = cluster.isBootstrapped ? cluster.clusterConfig() : { id: core.clusterId, maxPeerCount: core.config.maxReplicas };
    return sendJson(reply, { id: c.id, max_peer_count: c.maxPeerCount });
  });
  app.get('/pd/api/v1/cluster/status', (_req, reply) =>
    sendJson(reply, { raft_bootstrap_time: cluster.isBootstrapped ? formatTime(Number(core.clusterId >> 32n) * 1000) : '0001-01-01T00:00:00Z', is_initialized: cluster.isBootstrapped }),
  );
  app.get('/pd/api/v1/config', (_req, reply) =>
    sendJson(reply, pdConfigJson(core.config, cluster.isBootstrapped ? cluster.clusterConfig().maxPeerCount : core.config.maxReplicas)),
  );
  app.get('/pd/api/v1/config/schedule', (_req, reply) => sendJson(reply, pdConfigJson(core.config, core.config.maxReplicas)['schedule']));
  app.get('/pd/api/v1/config/replicate', (_req, reply) =>
    sendJson(reply, pdConfigJson(core.config, cluster.isBootstrapped ? cluster.clusterConfig().maxPeerCount : core.config.maxReplicas)['replication']),
  );

  app.get('/pd/api/v1/stores', (_req, reply) => {
    const stores = cluster.isBootstrapped ? cluster.getAllStores(true) : [];
    return sendJson(reply, { count: stores.length, stores: stores.map((s) => storeJson(core, s)) });
  });
  app.get<{ Params: { id: string } }>('/pd/api/v1/store/:id', (req, reply) => sendJson(reply, storeJson(core, cluster.getStore(parseId(req.params.id)))));
  app.delete<{ Params: { id: string } }>('/pd/api/v1/store/:id', async (req, reply) => {
    const id = parseId(req.params.id);
    await cluster.setStoreState(id, metapb.StoreState.Offline);
    return sendJson(reply, 'The store is set as Offline.');
  });
  app.post<{ Params: { id: string }; Querystring: { state?: string } }>('/pd/api/v1/store/:id/state', async (req, reply) => {
    const id = parseId(req.params.id);
    const name = req.query.state ?? '';
    const state =
      name === 'Up' ? metapb.StoreState.Up : name === 'Offline' ? metapb.StoreState.Offline : name === 'Tombstone' ? metapb.StoreState.Tombstone : undefined;
    if (state === undefined) throw new PdInvalidValueError(`invalid state ${JSON.stringify(name)}`);
    await cluster.setStoreState(id, state);
    return sendJson(reply, `The store's state is updated to ${name}.`);
  });

  app.get<{ Querystring: { limit?: string } }>('/pd/api/v1/regions', (req, reply) => {
    let regions = cluster.isBootstrapped ? cluster.allRegions() : [];
    if (req.query.limit !== undefined) {
      const n = Number(req.query.limit);
      if (!Number.isInteger(n) || n < 0) throw new PdInvalidValueError(`invalid limit ${JSON.stringify(req.query.limit)}`);
      if (n > 0) regions = regions.slice(0, n);
    }
    return sendJson(reply, { count: regions.length, regions: regions.map(regionJson) });
  });
  app.get('/pd/api/v1/regions/count', (_req, reply) => sendJson(reply, { count: cluster.isBootstrapped ? cluster.regionCount : 0 }));
  app.get<{ Params: { id: string } }>('/pd/api/v1/region/id/:id', (req, reply) =>
    sendJson(reply, regionJson(cluster.getRegionById(parseId(req.params.id)))),
  );
  app.get<{ Params: { key: string }; Querystring: { format?: string } }>('/pd/api/v1/region/key/:key', (req, reply) => {
    let key: Uint8Array;
    if (req.query.format === 'hex') {
      if (!/^([0-9a-fA-F]{2})*$/.test(req.params.key)) throw new PdInvalidValueError(`invalid hex key ${JSON.stringify(req.params.key)}`);
      key = Uint8Array.from(Buffer.from(req.params.key, 'hex'));
    } else {
      key = new TextEncoder().encode(req.params.key);
    }
    return sendJson(reply, regionJson(cluster.getRegionByKey(key)));
  });

  app.get('/pd/api/v1/operators', (_req, reply) => sendJson(reply, core.operators()));
  app.get('/pd/api/v1/schedulers', (_req, reply) => sendJson(reply, core.schedulers()));
  app.get('/pd/api/v1/gc/safepoint', (_req, reply) =>
    sendJson(reply, {
      service_gc_safe_points: cluster.serviceSafePoints().map((sp) => ({ service_id: sp.serviceId, expired_at: sp.expiredAtSec, safe_point: sp.safePoint })),
      gc_safe_point: cluster.gcSafePoint,
    }),
  );
  app.get('/metrics', async (_req, reply) => reply.type(core.metricsContentType).send(await core.metricsText()));
  app.get('/pd/api/v1/metrics', async (_req, reply) => reply.type(core.metricsContentType).send(await core.metricsText()));

  if (extend !== undefined) await extend(app);
  await app.ready();
  return app;
}
