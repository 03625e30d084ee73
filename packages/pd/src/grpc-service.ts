import * as grpc from '@grpc/grpc-js';
import { compareBytes } from '@tikv-ts/codec';
import { type etcdserverpb, health, keyspacepb, metapb, pdpb } from '@tikv-ts/proto';
import { TikvError } from '@tikv-ts/util';
import type { ClusterState, StoreInfo } from './cluster';
import {
  PdAlreadyBootstrappedError,
  PdClusterIdMismatchError,
  PdEntryNotFoundError,
  PdInvalidValueError,
  PdNotBootstrappedError,
  PdRegionNotFoundError,
  PdRegionsNotContainAllKeyRangeError,
  PdStoreTombstoneError,
} from './errors';
import type { IdAllocator } from './id-allocator';
import type { RegionInfo } from './region-tree';
import type { EtcdEntry, PdStorage } from './storage';
import type { TsoAllocator, TsoTimestamp } from './tso';

/** What the gRPC services need from the server (implemented by {@link PdServer}). */
export interface PdCore {
  readonly clusterId: bigint;
  readonly member: pdpb.Member;
  readonly cluster: ClusterState;
  readonly tso: TsoAllocator;
  readonly ids: IdAllocator;
  readonly storage: PdStorage;
  /** Called for every accepted region heartbeat; may return a response to send on the stream (an operator). */
  readonly onRegionHeartbeat: ((region: RegionInfo) => pdpb.RegionHeartbeatResponse | undefined) | undefined;
  /** Counts a served request (metrics). */
  observe(method: string, ok: boolean, seconds: number): void;
  /** Monotonic ms (for latency metrics). */
  monotonicMs(): number;
  /** Records a region heartbeat stream for pushing operators to the store. */
  registerHeartbeatStream(storeId: bigint, stream: grpc.ServerDuplexStream<pdpb.RegionHeartbeatRequest, pdpb.RegionHeartbeatResponse>): void;
}

/** The one mapping from domain errors to PD's `pdpb.Error` (STYLE.md §5). */
export function toPdError(e: unknown): pdpb.Error {
  const message = e instanceof Error ? e.message : String(e);
  let type = pdpb.ErrorType.UNKNOWN;
  if (e instanceof PdNotBootstrappedError) type = pdpb.ErrorType.NOT_BOOTSTRAPPED;
  else if (e instanceof PdAlreadyBootstrappedError) type = pdpb.ErrorType.ALREADY_BOOTSTRAPPED;
  else if (e instanceof PdStoreTombstoneError) type = pdpb.ErrorType.STORE_TOMBSTONE;
  else if (e instanceof PdRegionNotFoundError) type = pdpb.ErrorType.REGION_NOT_FOUND;
  else if (e instanceof PdInvalidValueError) type = pdpb.ErrorType.INVALID_VALUE;
  else if (e instanceof PdEntryNotFoundError) type = pdpb.ErrorType.ENTRY_NOT_FOUND;
  else if (e instanceof PdRegionsNotContainAllKeyRangeError) type = pdpb.ErrorType.REGIONS_NOT_CONTAIN_ALL_KEY_RANGE;
  else if (e instanceof TikvError) type = pdpb.ErrorType.UNKNOWN;
  return { type, message };
}

function okHeader(core: PdCore): pdpb.ResponseHeader {
  return { clusterId: core.clusterId, error: undefined };
}

function errorHeader(core: PdCore, e: unknown): pdpb.ResponseHeader {
  return { clusterId: core.clusterId, error: toPdError(e) };
}

/** PD refuses requests without a header or for another cluster. */
function checkHeader(core: PdCore, header: pdpb.RequestHeader | undefined): void {
  if (header === undefined) throw new PdClusterIdMismatchError(core.clusterId, undefined);
  if (header.clusterId !== core.clusterId) throw new PdClusterIdMismatchError(core.clusterId, header.clusterId);
}

type Unary<Req, Res> = grpc.handleUnaryCall<Req, Res>;

/**
 * A unary handler: runs `fn`, answers its result, and answers any error as a response with an
 * error header (built by `onError`) so that the server keeps serving; only a failure to build a
 * response at all becomes a gRPC INTERNAL status.
 */
function unary<Req extends { header?: pdpb.RequestHeader | undefined }, Res>(
  core: PdCore,
  method: string,
  fn: (req: Req) => Promise<Res> | Res,
  onError: (header: pdpb.ResponseHeader) => Res,
  options: { skipHeaderCheck?: boolean } = {},
): Unary<Req, Res> {
  return (call, callback) => {
    const started = core.monotonicMs();
    const run = async (): Promise<Res> => {
      if (options.skipHeaderCheck !== true) checkHeader(core, call.request.header);
      return fn(call.request);
    };
    run().then(
      (res) => {
        core.observe(method, true, (core.monotonicMs() - started) / 1000);
        callback(null, res);
      },
      (e: unknown) => {
        core.observe(method, false, (core.monotonicMs() - started) / 1000);
        try {
          callback(null, onError(errorHeader(core, e)));
        } catch (inner: unknown) {
          callback({ code: grpc.status.INTERNAL, details: inner instanceof Error ? inner.message : String(inner) });
        }
      },
    );
  };
}

function storeStatsOf(s: StoreInfo): pdpb.StoreStats | undefined {
  return s.stats;
}

/** The store as clients see it: persisted metadata with the in-memory last heartbeat (ns). */
function storeMetaOf(s: StoreInfo): metapb.Store {
  return { ...s.meta, lastHeartbeat: BigInt(s.lastHeartbeatMs) * 1_000_000n };
}

function regionResponse(core: PdCore, r: RegionInfo): pdpb.GetRegionResponse {
  return pdpb.GetRegionResponse.fromPartial({
    header: okHeader(core),
    region: r.meta,
    leader: r.leader,
    downPeers: [...r.downPeers],
    pendingPeers: [...r.pendingPeers],
  });
}

/**
 * A region lookup answered as PD's leader does: a region that does not exist is an OK header with
 * no region (clients treat a missing region as "not found" and retry); other errors go in the header.
 */
function regionOrEmpty(core: PdCore, lookup: () => RegionInfo): pdpb.GetRegionResponse {
  try {
    return regionResponse(core, lookup());
  } catch (e: unknown) {
    if (e instanceof PdRegionNotFoundError) return pdpb.GetRegionResponse.fromPartial({ header: okHeader(core) });
    throw e;
  }
}

function regionMessage(r: RegionInfo): pdpb.Region {
  return pdpb.Region.fromPartial({ region: r.meta, leader: r.leader, downPeers: [...r.downPeers], pendingPeers: [...r.pendingPeers] });
}

/** The implementation of `pdpb.PD`. Methods we do not serve are left out: grpc-js answers them UNIMPLEMENTED. */
export function createPdService(core: PdCore): Partial<pdpb.PDServer> {
  const { cluster } = core;
  return {
    getMembers: unary(
      core,
      'GetMembers',
      () =>
        pdpb.GetMembersResponse.fromPartial({
          header: okHeader(core),
          members: [core.member],
          leader: core.member,
          etcdLeader: core.member,
        }),
      (header) => pdpb.GetMembersResponse.fromPartial({ header }),
      { skipHeaderCheck: true },
    ),

    tso: (call) => {
      // Responses leave in request order. Most requests are answered synchronously from memory;
      // one that must wait for a window write (and every request behind it on this stream) goes
      // through `pending`, a chain in arrival order.
      let pending: Promise<void> | undefined;
      const ok = (req: pdpb.TsoRequest, ts: TsoTimestamp): pdpb.TsoResponse => ({
        header: { clusterId: core.clusterId, error: undefined },
        count: req.count,
        timestamp: { physical: BigInt(ts.physicalMs), logical: BigInt(ts.logical), suffixBits: 0 },
      });
      const failed = (e: unknown): pdpb.TsoResponse => ({ header: errorHeader(core, e), count: 0, timestamp: undefined });
      const send = (res: pdpb.TsoResponse, started: number): void => {
        core.observe('Tso', res.header?.error === undefined, (core.monotonicMs() - started) / 1000);
        if (!call.destroyed && call.writable) call.write(res);
      };
      call.on('data', (req: pdpb.TsoRequest) => {
        const started = core.monotonicMs();
        if (pending === undefined) {
          try {
            checkHeader(core, req.header);
            const ts = core.tso.tryGetTimestamp(req.count);
            if (ts !== undefined) {
              send(ok(req, ts), started);
              return;
            }
          } catch (e: unknown) {
            send(failed(e), started);
            return;
          }
        }
        const run: Promise<void> = (pending ?? Promise.resolve()).then(async () => {
          let res: pdpb.TsoResponse;
          try {
            checkHeader(core, req.header);
            res = ok(req, await core.tso.getTimestamp(req.count));
          } catch (e: unknown) {
            res = failed(e);
          }
          send(res, started);
          if (pending === run) pending = undefined;
        });
        pending = run;
      });
      call.on('end', () => {
        if (pending === undefined) call.end();
        else void pending.then(() => call.end());
      });
      call.on('error', () => undefined);
    },

    bootstrap: unary(
      core,
      'Bootstrap',
      async (req) => {
        await cluster.bootstrap(req.store, req.region);
        return pdpb.BootstrapResponse.fromPartial({ header: okHeader(core) });
      },
      (header) => pdpb.BootstrapResponse.fromPartial({ header }),
    ),

    isBootstrapped: unary(
      core,
      'IsBootstrapped',
      () => pdpb.IsBootstrappedResponse.fromPartial({ header: okHeader(core), bootstrapped: cluster.isBootstrapped }),
      (header) => pdpb.IsBootstrappedResponse.fromPartial({ header }),
    ),

    allocId: unary(
      core,
      'AllocID',
      async () => pdpb.AllocIDResponse.fromPartial({ header: okHeader(core), id: await core.ids.alloc() }),
      (header) => pdpb.AllocIDResponse.fromPartial({ header }),
    ),

    isSnapshotRecovering: unary(
      core,
      'IsSnapshotRecovering',
      () => pdpb.IsSnapshotRecoveringResponse.fromPartial({ header: okHeader(core), marked: false }),
      (header) => pdpb.IsSnapshotRecoveringResponse.fromPartial({ header }),
    ),

    getStore: unary(
      core,
      'GetStore',
      (req) => {
        const s = cluster.getStore(req.storeId);
        return pdpb.GetStoreResponse.fromPartial({ header: okHeader(core), store: storeMetaOf(s), stats: storeStatsOf(s) });
      },
      (header) => pdpb.GetStoreResponse.fromPartial({ header }),
    ),

    putStore: unary(
      core,
      'PutStore',
      async (req) => {
        await cluster.putStore(req.store);
        return pdpb.PutStoreResponse.fromPartial({ header: okHeader(core) });
      },
      (header) => pdpb.PutStoreResponse.fromPartial({ header }),
    ),

    getAllStores: unary(
      core,
      'GetAllStores',
      (req) =>
        pdpb.GetAllStoresResponse.fromPartial({
          header: okHeader(core),
          stores: cluster.getAllStores(req.excludeTombstoneStores).map(storeMetaOf),
        }),
      (header) => pdpb.GetAllStoresResponse.fromPartial({ header }),
    ),

    storeHeartbeat: unary(
      core,
      'StoreHeartbeat',
      async (req) => {
        const info = await cluster.storeHeartbeat(req.stats);
        return pdpb.StoreHeartbeatResponse.fromPartial({
          header: okHeader(core),
          clusterVersion: clusterVersion(cluster),
          state: info.meta.nodeState,
        });
      },
      (header) => pdpb.StoreHeartbeatResponse.fromPartial({ header }),
    ),

    regionHeartbeat: (call) => {
      let chain: Promise<void> = Promise.resolve();
      call.on('data', (req: pdpb.RegionHeartbeatRequest) => {
        chain = chain.then(async () => {
          const started = core.monotonicMs();
          try {
            checkHeader(core, req.header);
            if (req.region === undefined) throw new PdInvalidValueError('invalid request region: missing region');
            if (req.leader !== undefined && req.leader.storeId !== 0n) core.registerHeartbeatStream(req.leader.storeId, call);
            const info = await cluster.handleRegionHeartbeat({
              region: req.region,
              leader: req.leader,
              downPeers: req.downPeers,
              pendingPeers: req.pendingPeers,
              term: req.term,
              stats: {
                bytesWritten: req.bytesWritten,
                bytesRead: req.bytesRead,
                keysWritten: req.keysWritten,
                keysRead: req.keysRead,
                approximateSize: req.approximateSize,
                approximateKeys: req.approximateKeys,
              },
            });
            core.observe('RegionHeartbeat', true, (core.monotonicMs() - started) / 1000);
            const op = core.onRegionHeartbeat?.(info);
            if (op !== undefined && !call.destroyed && call.writable) call.write(op);
          } catch (e: unknown) {
            core.observe('RegionHeartbeat', false, (core.monotonicMs() - started) / 1000);
            if (!call.destroyed && call.writable) {
              call.write(pdpb.RegionHeartbeatResponse.fromPartial({ header: errorHeader(core, e), regionId: req.region?.id ?? 0n }));
            }
          }
        });
      });
      call.on('end', () => {
        void chain.then(() => call.end());
      });
      call.on('error', () => undefined);
    },

    getRegion: unary(
      core,
      'GetRegion',
      (req) => regionOrEmpty(core, () => cluster.getRegionByKey(req.regionKey)),
      (header) => pdpb.GetRegionResponse.fromPartial({ header }),
    ),

    getPrevRegion: unary(
      core,
      'GetPrevRegion',
      (req) => regionOrEmpty(core, () => cluster.getPrevRegion(req.regionKey)),
      (header) => pdpb.GetRegionResponse.fromPartial({ header }),
    ),

    getRegionById: unary(
      core,
      'GetRegionByID',
      (req) => regionOrEmpty(core, () => cluster.getRegionById(req.regionId)),
      (header) => pdpb.GetRegionResponse.fromPartial({ header }),
    ),

    scanRegions: unary(
      core,
      'ScanRegions',
      (req) => {
        const regions = cluster.scanRegions(req.startKey, req.endKey, req.limit);
        if (regions.length === 0) throw new PdRegionNotFoundError('no region in the scanned range');
        return pdpb.ScanRegionsResponse.fromPartial({
          header: okHeader(core),
          regionMetas: regions.map((r) => r.meta),
          leaders: regions.map((r) => r.leader ?? metapb.Peer.create()),
          regions: regions.map(regionMessage),
        });
      },
      (header) => pdpb.ScanRegionsResponse.fromPartial({ header }),
    ),

    batchScanRegions: unary(
      core,
      'BatchScanRegions',
      (req) => {
        // Ranges must be valid and sorted without overlap (PD checks the same).
        let prevEnd: Uint8Array | undefined;
        for (const r of req.ranges) {
          if (r.endKey.length !== 0 && compareBytes(r.startKey, r.endKey) >= 0) {
            throw new PdInvalidValueError(`invalid key range, start key > end key`);
          }
          if (prevEnd !== undefined && (prevEnd.length === 0 || compareBytes(prevEnd, r.startKey) > 0)) {
            throw new PdInvalidValueError('invalid key range, ranges overlapped or not sorted');
          }
          prevEnd = r.endKey;
        }
        const limit = req.limit > 0 ? req.limit : Number.POSITIVE_INFINITY;
        const out: RegionInfo[] = [];
        for (const range of req.ranges) {
          if (out.length >= limit) break;
          const found = cluster.scanRegions(range.startKey, range.endKey, Number.isFinite(limit) ? limit - out.length + 1 : 0);
          if (req.containAllKeyRange) checkCovers(range, found);
          for (const r of found) {
            if (out.length >= limit) break;
            if (out.length > 0 && out[out.length - 1]?.meta.id === r.meta.id) continue;
            out.push(r);
          }
        }
        return pdpb.BatchScanRegionsResponse.fromPartial({ header: okHeader(core), regions: out.map(regionMessage) });
      },
      (header) => pdpb.BatchScanRegionsResponse.fromPartial({ header }),
    ),

    askBatchSplit: unary(
      core,
      'AskBatchSplit',
      async (req) => {
        if (!cluster.isBootstrapped) throw new PdNotBootstrappedError();
        if (req.region === undefined) throw new PdInvalidValueError('missing region for split');
        if (req.splitCount < 1 || req.splitCount > 1000) throw new PdInvalidValueError(`invalid split count ${req.splitCount}`);
        const known = cluster.getRegionById(req.region.id);
        const ke = known.meta.regionEpoch;
        const re = req.region.regionEpoch;
        if (re === undefined || ke === undefined || re.version < ke.version || re.confVer < ke.confVer) {
          throw new PdInvalidValueError(`invalid region epoch for split of region ${req.region.id}: the request is stale`);
        }
        const ids: pdpb.SplitID[] = [];
        const perSplit = req.region.peers.length + 1;
        const all = await core.ids.allocMany(req.splitCount * perSplit);
        for (let i = 0; i < req.splitCount; i++) {
          const chunk = all.slice(i * perSplit, (i + 1) * perSplit);
          ids.push({ newRegionId: chunk[0] ?? 0n, newPeerIds: chunk.slice(1) });
        }
        return pdpb.AskBatchSplitResponse.fromPartial({ header: okHeader(core), ids });
      },
      (header) => pdpb.AskBatchSplitResponse.fromPartial({ header }),
    ),

    reportBatchSplit: unary(
      core,
      'ReportBatchSplit',
      async (req) => {
        if (!cluster.isBootstrapped) throw new PdNotBootstrappedError();
        if (req.regions.length < 2) throw new PdInvalidValueError('a batch split report needs at least two regions');
        for (let i = 1; i < req.regions.length; i++) {
          const a = req.regions[i - 1];
          const b = req.regions[i];
          if (a === undefined || b === undefined || compareBytes(a.endKey, b.startKey) !== 0) {
            throw new PdInvalidValueError('invalid split report: regions are not adjacent');
          }
        }
        // PD learns the new ranges early; a later heartbeat from each leader completes them.
        for (const region of req.regions) {
          try {
            await cluster.handleRegionHeartbeat({ region, leader: undefined });
          } catch (e: unknown) {
            if (!(e instanceof TikvError && e.code === 'PD:Cluster:RegionIsStale')) throw e;
          }
        }
        return pdpb.ReportBatchSplitResponse.fromPartial({ header: okHeader(core) });
      },
      (header) => pdpb.ReportBatchSplitResponse.fromPartial({ header }),
    ),

    getClusterConfig: unary(
      core,
      'GetClusterConfig',
      () => pdpb.GetClusterConfigResponse.fromPartial({ header: okHeader(core), cluster: cluster.clusterConfig() }),
      (header) => pdpb.GetClusterConfigResponse.fromPartial({ header }),
    ),

    putClusterConfig: unary(
      core,
      'PutClusterConfig',
      async (req) => {
        await cluster.putClusterConfig(req.cluster);
        return pdpb.PutClusterConfigResponse.fromPartial({ header: okHeader(core) });
      },
      (header) => pdpb.PutClusterConfigResponse.fromPartial({ header }),
    ),

    getGcSafePoint: unary(
      core,
      'GetGCSafePoint',
      () => {
        if (!cluster.isBootstrapped) throw new PdNotBootstrappedError();
        return pdpb.GetGCSafePointResponse.fromPartial({ header: okHeader(core), safePoint: cluster.gcSafePoint });
      },
      (header) => pdpb.GetGCSafePointResponse.fromPartial({ header }),
    ),

    updateGcSafePoint: unary(
      core,
      'UpdateGCSafePoint',
      async (req) =>
        pdpb.UpdateGCSafePointResponse.fromPartial({ header: okHeader(core), newSafePoint: await cluster.updateGcSafePoint(req.safePoint) }),
      (header) => pdpb.UpdateGCSafePointResponse.fromPartial({ header }),
    ),

    updateServiceGcSafePoint: unary(
      core,
      'UpdateServiceGCSafePoint',
      async (req) => {
        const r = await cluster.updateServiceSafePoint(new TextDecoder().decode(req.serviceId), req.TTL, req.safePoint);
        return pdpb.UpdateServiceGCSafePointResponse.fromPartial({
          header: okHeader(core),
          serviceId: new TextEncoder().encode(r.serviceId),
          TTL: r.ttlSec,
          minSafePoint: r.minSafePoint,
        });
      },
      (header) => pdpb.UpdateServiceGCSafePointResponse.fromPartial({ header }),
    ),
  };
}

/** The cluster version PD reports to stores: the lowest version among live stores. */
function clusterVersion(cluster: ClusterState): string {
  let min: number[] | undefined;
  let text = '';
  for (const s of cluster.getAllStores(true)) {
    const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(s.meta.version);
    if (m === null) continue;
    const v = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (min === undefined || (v[0] ?? 0) * 1e8 + (v[1] ?? 0) * 1e4 + (v[2] ?? 0) < (min[0] ?? 0) * 1e8 + (min[1] ?? 0) * 1e4 + (min[2] ?? 0)) {
      min = v;
      text = v.join('.');
    }
  }
  return text;
}

function checkCovers(range: pdpb.KeyRange, regions: readonly RegionInfo[]): void {
  let cursor = range.startKey;
  for (const r of regions) {
    if (compareBytes(r.meta.startKey, cursor) > 0) break;
    if (r.meta.endKey.length === 0) return;
    cursor = r.meta.endKey;
    if (range.endKey.length !== 0 && compareBytes(cursor, range.endKey) >= 0) return;
  }
  throw new PdRegionsNotContainAllKeyRangeError('regions do not cover the whole key range');
}

/** The implementation of `keyspacepb.Keyspace`: only the DEFAULT keyspace (id 0) exists. */
export function createKeyspaceService(core: PdCore): Partial<keyspacepb.KeyspaceServer> {
  return {
    loadKeyspace: unary(
      core,
      'LoadKeyspace',
      (req) => {
        if (req.name !== 'DEFAULT') throw new PdEntryNotFoundError(`keyspace ${JSON.stringify(req.name)} does not exist`);
        const createdAt = core.clusterId >> 32n;
        return keyspacepb.LoadKeyspaceResponse.fromPartial({
          header: okHeader(core),
          keyspace: { id: 0, name: 'DEFAULT', state: keyspacepb.KeyspaceState.ENABLED, createdAt, stateChangedAt: createdAt, config: {} },
        });
      },
      (header) => keyspacepb.LoadKeyspaceResponse.fromPartial({ header }),
    ),
  };
}

/** The gRPC health service: SERVING while the server is open. */
export function createHealthService(isServing: () => boolean): health.HealthServer {
  const statusNow = (): health.HealthCheckResponse_ServingStatus =>
    isServing() ? health.HealthCheckResponse_ServingStatus.SERVING : health.HealthCheckResponse_ServingStatus.NOT_SERVING;
  return {
    check: (call, callback) => {
      if (call.request.service !== '' && call.request.service !== 'pdpb.PD') {
        callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${call.request.service}` });
        return;
      }
      callback(null, { status: statusNow() });
    },
    watch: (call) => {
      // One answer now; the stream stays open until the client cancels or the server closes.
      call.write({ status: statusNow() });
      call.on('cancelled', () => call.end());
    },
  };
}

/** etcd's v3 KV `Range` and `Put` over PD's etcd key space (what client-go's safe point checker needs). */
export function createEtcdKvService(core: PdCore): Partial<etcdserverpb.KVServer> {
  let revision: bigint | undefined;
  let chain: Promise<unknown> = Promise.resolve();
  const header = (rev: bigint): etcdserverpb.ResponseHeader => ({ clusterId: core.clusterId, memberId: core.member.memberId, revision: rev, raftTerm: 1n });
  const currentRevision = async (): Promise<bigint> => {
    revision ??= await core.storage.loadEtcdRevision();
    return revision;
  };
  const kv = (e: EtcdEntry, keysOnly: boolean): etcdserverpb.KeyValue => ({
    key: e.key,
    value: keysOnly ? new Uint8Array(0) : e.value,
    createRevision: e.createRevision,
    modRevision: e.modRevision,
    version: e.version,
    lease: 0n,
  });
  const fail = (callback: (err: grpc.ServiceError | null) => void, e: unknown): void => {
    callback(Object.assign(new Error(e instanceof Error ? e.message : String(e)), { code: grpc.status.UNKNOWN, details: String(e), metadata: new grpc.Metadata() }));
  };
  return {
    range: (call, callback) => {
      const req = call.request;
      const end = req.rangeEnd.length === 0 ? undefined : req.rangeEnd.length === 1 && req.rangeEnd[0] === 0 ? new Uint8Array(0) : req.rangeEnd;
      const limit = Number(req.limit);
      Promise.all([currentRevision(), core.storage.etcdRange(req.key, end, 0)]).then(
        ([rev, all]) => {
          const shown = limit > 0 ? all.slice(0, limit) : all;
          callback(null, {
            header: header(rev),
            kvs: req.countOnly ? [] : shown.map((e) => kv(e, req.keysOnly)),
            more: shown.length < all.length,
            count: BigInt(all.length),
          });
        },
        (e: unknown) => fail(callback, e),
      );
    },
    put: (call, callback) => {
      const req = call.request;
      const run = chain.then(async () => {
        const rev = (await currentRevision()) + 1n;
        const [prev] = await core.storage.etcdRange(req.key, undefined, 1);
        await core.storage.etcdPut(req.key, req.value, rev, prev);
        revision = rev;
        return { header: header(rev), prevKv: req.prevKv && prev !== undefined ? kv(prev, false) : undefined };
      });
      chain = run.catch(() => undefined);
      run.then(
        (res) => callback(null, res),
        (e: unknown) => fail(callback, e),
      );
    },
  };
}
