import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { MemoryEngine } from '@tikv-ts/engine-memory';
import { etcdserverpb, health, keyspacepb, metapb, pdpb } from '@tikv-ts/proto';
import { SeededRng } from '@tikv-ts/util';
import { ManualClock } from '@tikv-ts/util/testing';
import { PdServer } from './pd-server';
import { call, type UnaryMethod } from './testdata/grpc-call';
import { reopenEngine } from './testdata/reopen-engine';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

// Serves a PdServer on 127.0.0.1 with an ephemeral port, as the pd-server app does.
export interface Served {
  readonly port: number;
  readonly address: string;
  close(): Promise<void>;
}

export async function serve(pd: PdServer): Promise<Served> {
  const server = net.createServer((socket) => pd.handleConnection(socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    close: async () => {
      await pd.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}


describe('PdServer over gRPC and HTTP on one port', () => {
  let engine: MemoryEngine;
  let clock: ManualClock;
  let pd: PdServer;
  let served: Served;
  let client: pdpb.PDClient;
  let header: pdpb.RequestHeader;

  const unary = <Req, Res>(method: UnaryMethod<Req, Res>, req: Req): Promise<Res> =>
    call(client, method, req);

  beforeAll(async () => {
    engine = MemoryEngine.open();
    clock = new ManualClock();
    pd = await PdServer.start({ engine, clock, rng: new SeededRng(1n), config: { name: 'pd-test' } });
    served = await serve(pd);
    client = new pdpb.PDClient(served.address, grpc.credentials.createInsecure());
    header = { clusterId: pd.clusterId, senderId: 0n };
  });

  afterAll(async () => {
    client.close();
    await served.close();
  });

  it('GetMembers: non-zero cluster id, this member as leader with its client URLs', async () => {
    const res = await unary(client.getMembers, pdpb.GetMembersRequest.fromPartial({}));
    expect(res.header?.clusterId).toBe(pd.clusterId);
    expect(pd.clusterId).not.toBe(0n);
    expect(res.leader?.name).toBe('pd-test');
    expect(res.leader?.clientUrls).toEqual(['http://127.0.0.1:2379']);
    expect(res.members).toHaveLength(1);
  });

  it('Tso: a bidi stream answering count timestamps with the largest, in order', async () => {
    const stream = client.tso();
    const got: pdpb.TsoResponse[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (r: pdpb.TsoResponse) => {
        got.push(r);
        if (got.length === 20) resolve();
      });
      stream.on('error', reject);
    });
    for (let i = 1; i <= 20; i++) stream.write(pdpb.TsoRequest.fromPartial({ header, count: i }));
    await done;
    stream.end();
    let last = 0n;
    got.forEach((r, i) => {
      expect(r.header?.error).toBeUndefined();
      expect(r.count).toBe(i + 1);
      const ts = ((r.timestamp?.physical ?? 0n) << 18n) + (r.timestamp?.logical ?? 0n);
      expect(ts - BigInt(i + 1)).toBeGreaterThanOrEqual(last); // the whole batch is above the previous
      last = ts;
    });
  });

  it('Tso: a bad request (wrong cluster id, count 0) gets an error header and the stream goes on', async () => {
    const stream = client.tso();
    const got: pdpb.TsoResponse[] = [];
    const done = new Promise<void>((resolve) => {
      stream.on('data', (r: pdpb.TsoResponse) => {
        got.push(r);
        if (got.length === 3) resolve();
      });
    });
    stream.write(pdpb.TsoRequest.fromPartial({ header: { clusterId: 1n }, count: 1 }));
    stream.write(pdpb.TsoRequest.fromPartial({ header, count: 0 }));
    stream.write(pdpb.TsoRequest.fromPartial({ header, count: 1 }));
    await done;
    stream.end();
    expect(got[0]?.header?.error?.message).toMatch(/mismatch cluster id/);
    expect(got[1]?.header?.error?.type).toBe(pdpb.ErrorType.INVALID_VALUE);
    expect(got[2]?.header?.error).toBeUndefined();
  });

  it('answers NOT_BOOTSTRAPPED before bootstrap, missing header with an error, and AllocID works', async () => {
    const boot = await unary(client.isBootstrapped, { header });
    expect(boot.bootstrapped).toBe(false);
    const r = await unary(client.getRegion, pdpb.GetRegionRequest.fromPartial({ header, regionKey: enc('a') }));
    expect(r.header?.error?.type).toBe(pdpb.ErrorType.NOT_BOOTSTRAPPED);
    const noHeader = await unary(client.getAllStores, pdpb.GetAllStoresRequest.fromPartial({}));
    expect(noHeader.header?.error?.message).toMatch(/missing request header/);
    const a = await unary(client.allocId, { header });
    const b = await unary(client.allocId, { header });
    expect(b.id).toBeGreaterThan(a.id);
    expect(a.id).toBeGreaterThan(0n);
  });

  it('Bootstrap, PutStore, GetStore, GetAllStores, StoreHeartbeat', async () => {
    const storeId = (await unary(client.allocId, { header })).id;
    const regionId = (await unary(client.allocId, { header })).id;
    const peerId = (await unary(client.allocId, { header })).id;
    const store = metapb.Store.fromPartial({ id: storeId, address: '127.0.0.1:20160', version: '8.5.0', statusAddress: '127.0.0.1:20180' });
    const region = metapb.Region.fromPartial({ id: regionId, regionEpoch: { confVer: 1n, version: 1n }, peers: [{ id: peerId, storeId }] });
    const res = await unary(client.bootstrap, { header, store, region });
    expect(res.header?.error).toBeUndefined();
    const again = await unary(client.bootstrap, { header, store, region });
    expect(again.header?.error?.type).toBe(pdpb.ErrorType.ALREADY_BOOTSTRAPPED);
    expect((await unary(client.isBootstrapped, { header })).bootstrapped).toBe(true);
    expect((await unary(client.putStore, { header, store })).header?.error).toBeUndefined();
    const store2 = metapb.Store.fromPartial({ id: 1000n, address: '127.0.0.1:20161', version: '8.5.1' });
    expect((await unary(client.putStore, { header, store: store2 })).header?.error).toBeUndefined();
    const got = await unary(client.getStore, { header, storeId });
    expect(got.store?.address).toBe('127.0.0.1:20160');
    expect(got.store?.state).toBe(metapb.StoreState.Up);
    const unknown = await unary(client.getStore, { header, storeId: 999_999n });
    expect(unknown.header?.error?.type).toBe(pdpb.ErrorType.UNKNOWN);
    expect(unknown.header?.error?.message).toMatch(/invalid store ID 999999, not found/);
    const all = await unary(client.getAllStores, { header, excludeTombstoneStores: true });
    expect(all.stores.map((s) => s.id).sort()).toEqual([storeId, 1000n].sort());
    const hb = await unary(client.storeHeartbeat, pdpb.StoreHeartbeatRequest.fromPartial({ header, stats: { storeId, capacity: 1000n, available: 500n } }));
    expect(hb.header?.error).toBeUndefined();
    expect(hb.clusterVersion).toBe('8.5.0');
    const hbUnknown = await unary(client.storeHeartbeat, pdpb.StoreHeartbeatRequest.fromPartial({ header, stats: { storeId: 424242n } }));
    expect(hbUnknown.header?.error?.type).toBe(pdpb.ErrorType.UNKNOWN);
    expect((await unary(client.getStore, { header, storeId })).stats?.capacity).toBe(1000n);
  });

  it('RegionHeartbeat stream, AskBatchSplit, ReportBatchSplit, GetRegion, GetPrevRegion, GetRegionByID, ScanRegions, BatchScanRegions', async () => {
    const first = await unary(client.getRegion, pdpb.GetRegionRequest.fromPartial({ header, regionKey: enc('') }));
    const parent = first.region as metapb.Region;
    const storeId = parent.peers[0]?.storeId as bigint;
    expect(first.leader?.storeId).toBe(storeId);
    const ask = await unary(client.askBatchSplit, pdpb.AskBatchSplitRequest.fromPartial({ header, region: parent, splitCount: 2 }));
    expect(ask.header?.error).toBeUndefined();
    expect(ask.ids).toHaveLength(2);
    expect(ask.ids[0]?.newPeerIds).toHaveLength(1);
    const [s1, s2] = ask.ids as [pdpb.SplitID, pdpb.SplitID];
    const v = (parent.regionEpoch?.version ?? 1n) + 2n;
    const epoch = { confVer: parent.regionEpoch?.confVer ?? 1n, version: v };
    const r1 = metapb.Region.fromPartial({ id: s1.newRegionId, endKey: enc('g'), regionEpoch: epoch, peers: [{ id: s1.newPeerIds[0] ?? 0n, storeId }] });
    const r2 = metapb.Region.fromPartial({ id: s2.newRegionId, startKey: enc('g'), endKey: enc('p'), regionEpoch: epoch, peers: [{ id: s2.newPeerIds[0] ?? 0n, storeId }] });
    const r3 = metapb.Region.fromPartial({ ...parent, startKey: enc('p'), regionEpoch: epoch });
    const rep = await unary(client.reportBatchSplit, { header, regions: [r1, r2, r3] });
    expect(rep.header?.error).toBeUndefined();

    // Heartbeats with leaders over the stream; a stale one is answered with an error header.
    const stream = client.regionHeartbeat();
    const responses: pdpb.RegionHeartbeatResponse[] = [];
    const gotError = new Promise<void>((resolve) => {
      stream.on('data', (r: pdpb.RegionHeartbeatResponse) => {
        responses.push(r);
        resolve();
      });
    });
    for (const r of [r1, r2, r3]) {
      stream.write(pdpb.RegionHeartbeatRequest.fromPartial({ header, region: r, leader: r.peers[0], approximateSize: 1n << 20n, term: 6n }));
    }
    stream.write(pdpb.RegionHeartbeatRequest.fromPartial({ header, region: parent, leader: parent.peers[0] }));
    await gotError;
    stream.end();
    expect(responses[0]?.header?.error?.message).toMatch(/stale/);

    const byKey = await unary(client.getRegion, pdpb.GetRegionRequest.fromPartial({ header, regionKey: enc('h') }));
    expect(byKey.region?.id).toBe(r2.id);
    expect(byKey.leader?.id).toBe(r2.peers[0]?.id);
    const prev = await unary(client.getPrevRegion, pdpb.GetRegionRequest.fromPartial({ header, regionKey: enc('h') }));
    expect(prev.region?.id).toBe(r1.id);
    const byId = await unary(client.getRegionById, pdpb.GetRegionByIDRequest.fromPartial({ header, regionId: r3.id }));
    expect(byId.region?.startKey).toEqual(enc('p'));
    const missing = await unary(client.getRegionById, pdpb.GetRegionByIDRequest.fromPartial({ header, regionId: 123456789n }));
    // As PD's leader answers: an OK header and no region.
    expect(missing.header?.error).toBeUndefined();
    expect(missing.region).toBeUndefined();
    const noneScanned = await unary(client.scanRegions, pdpb.ScanRegionsRequest.fromPartial({ header, startKey: enc('a'), endKey: enc('a\u0000'), limit: 0 }));
    expect(noneScanned.header?.error).toBeUndefined(); // region [,g) contains 'a'

    const scan = await unary(client.scanRegions, pdpb.ScanRegionsRequest.fromPartial({ header, startKey: enc('a'), limit: 2 }));
    expect(scan.regions.map((r) => r.region?.id)).toEqual([r1.id, r2.id]);
    expect(scan.regionMetas).toHaveLength(2);
    const batch = await unary(
      client.batchScanRegions,
      pdpb.BatchScanRegionsRequest.fromPartial({
        header,
        ranges: [
          { startKey: enc('a'), endKey: enc('b') },
          { startKey: enc('c'), endKey: enc('h') },
          { startKey: enc('q'), endKey: enc('') },
        ],
        containAllKeyRange: true,
      }),
    );
    expect(batch.header?.error).toBeUndefined();
    expect(batch.regions.map((r) => r.region?.id)).toEqual([r1.id, r2.id, r3.id]);
    const bad = await unary(
      client.batchScanRegions,
      pdpb.BatchScanRegionsRequest.fromPartial({ header, ranges: [{ startKey: enc('z'), endKey: enc('a') }] }),
    );
    expect(bad.header?.error?.type).toBe(pdpb.ErrorType.INVALID_VALUE);
    const staleSplit = await unary(client.askBatchSplit, pdpb.AskBatchSplitRequest.fromPartial({ header, region: parent, splitCount: 1 }));
    expect(staleSplit.header?.error).toBeDefined();
  });

  it('GetClusterConfig, PutClusterConfig, GC safe points', async () => {
    const cfg = await unary(client.getClusterConfig, { header });
    expect(cfg.cluster).toEqual({ id: pd.clusterId, maxPeerCount: 3 });
    await unary(client.putClusterConfig, { header, cluster: { id: pd.clusterId, maxPeerCount: 5 } });
    expect((await unary(client.getClusterConfig, { header })).cluster?.maxPeerCount).toBe(5);
    expect((await unary(client.getGcSafePoint, { header })).safePoint).toBe(0n);
    expect((await unary(client.updateGcSafePoint, { header, safePoint: 500n })).newSafePoint).toBe(500n);
    expect((await unary(client.updateGcSafePoint, { header, safePoint: 400n })).newSafePoint).toBe(500n);
    expect((await unary(client.getGcSafePoint, { header })).safePoint).toBe(500n);
    const sp = await unary(client.updateServiceGcSafePoint, { header, serviceId: enc('br'), TTL: 100n, safePoint: 600n });
    expect(new TextDecoder().decode(sp.serviceId)).toBe('br');
    expect(sp.minSafePoint).toBe(600n);
    expect((await unary(client.updateGcSafePoint, { header, safePoint: 900n })).newSafePoint).toBe(600n);
  });

  it('answers gRPC UNIMPLEMENTED for what it does not serve', async () => {
    await expect(unary(client.getClusterInfo, pdpb.GetClusterInfoRequest.fromPartial({ header }))).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
    await expect(unary(client.getMinTs, pdpb.GetMinTSRequest.fromPartial({ header }))).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
  });

  it('LoadKeyspace DEFAULT, health Check, etcd Range and Put', async () => {
    const ks = new keyspacepb.KeyspaceClient(served.address, grpc.credentials.createInsecure());
    const def = await call(ks, ks.loadKeyspace, { header, name: 'DEFAULT' });
    expect(def.keyspace?.id).toBe(0);
    expect(def.keyspace?.state).toBe(keyspacepb.KeyspaceState.ENABLED);
    const none = await call(ks, ks.loadKeyspace, { header, name: 'nope' });
    expect(none.header?.error?.type).toBe(pdpb.ErrorType.ENTRY_NOT_FOUND);
    ks.close();

    const h = new health.HealthClient(served.address, grpc.credentials.createInsecure());
    expect((await call(h, h.check, { service: '' })).status).toBe(health.HealthCheckResponse_ServingStatus.SERVING);
    h.close();

    const kv = new etcdserverpb.KVClient(served.address, grpc.credentials.createInsecure());
    const key = enc('/tidb/store/gcworker/saved_safe_point');
    const empty = await call(kv, kv.range, etcdserverpb.RangeRequest.fromPartial({ key }));
    expect(empty.kvs).toHaveLength(0);
    expect(empty.header?.clusterId).toBe(pd.clusterId);
    await call(kv, kv.put, etcdserverpb.PutRequest.fromPartial({ key, value: enc('12345') }));
    const put2 = await call(kv, kv.put, etcdserverpb.PutRequest.fromPartial({ key, value: enc('23456'), prevKv: true }));
    expect(new TextDecoder().decode(put2.prevKv?.value)).toBe('12345');
    const got = await call(kv, kv.range, etcdserverpb.RangeRequest.fromPartial({ key }));
    expect(new TextDecoder().decode(got.kvs[0]?.value)).toBe('23456');
    expect(got.kvs[0]?.version).toBe(2n);
    expect(got.count).toBe(1n);
    const prefix = await call(kv, kv.range, etcdserverpb.RangeRequest.fromPartial({ key: enc('/tidb/'), rangeEnd: enc('/tidb0') }));
    expect(prefix.kvs).toHaveLength(1);
    kv.close();
  });

  it('serves the HTTP API on the same port', async () => {
    const base = `http://${served.address}/pd/api/v1`;
    const get = async (path: string): Promise<{ status: number; body: unknown; text: string }> => {
      const res = await fetch(base + path);
      const text = await res.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return { status: res.status, body, text };
    };
    expect((await get('/health')).body).toEqual([expect.objectContaining({ name: 'pd-test', health: true })]);
    expect((await get('/members')).body).toMatchObject({ leader: { name: 'pd-test' } });
    const stores = (await get('/stores')).body as { count: number; stores: { store: { state_name: string } }[] };
    expect(stores.count).toBe(2);
    expect(stores.stores[0]?.store.state_name).toBe('Up');
    const regions = (await get('/regions')).body as { count: number; regions: { id: number; start_key: string }[] };
    expect(regions.count).toBe(3);
    expect(regions.regions[1]?.start_key).toBe('67');
    expect((await get('/region/key/h')).body).toMatchObject({ start_key: '67', end_key: '70' });
    expect((await get('/region/key/67?format=hex')).body).toMatchObject({ start_key: '67' });
    const id = regions.regions[0]?.id as number;
    expect((await get(`/region/id/${id}`)).body).toMatchObject({ id });
    expect((await get('/region/id/987654321')).status).toBe(404);
    expect((await get('/region/id/abc')).status).toBe(400);
    expect((await get('/store/424242')).status).toBe(404);
    const cluster = await get('/cluster');
    expect(cluster.text).toContain(`"id":${pd.clusterId}`);
    expect((await get('/config')).body).toMatchObject({ name: 'pd-test', schedule: { 'max-store-down-time': '30m0s' } });
    expect((await get('/operators')).body).toEqual([]);
    expect((await get('/schedulers')).body).toEqual(['balance-leader-scheduler', 'balance-region-scheduler']);
    const metrics = await fetch(`http://${served.address}/metrics`);
    const text = await metrics.text();
    expect(text).toContain('grpc_server_handling_seconds');
    expect(text).toContain('pd_cluster_status{type="region_count"} 3');
    // gRPC still works after all that HTTP traffic.
    expect((await unary(client.getMembers, pdpb.GetMembersRequest.fromPartial({}))).leader?.name).toBe('pd-test');
  });

  it('survives malformed protobuf, garbage bytes and abrupt disconnects, and keeps serving', async () => {
    // A request body that is not a GetRegionRequest: grpc-js answers a status for that call only.
    const identity = (b: Buffer): Buffer => b;
    const def = {
      getRegion: { path: '/pdpb.PD/GetRegion', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
    };
    const Raw = grpc.makeGenericClientConstructor(def, 'Raw');
    const raw = new Raw(served.address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      getRegion: UnaryMethod<Buffer, Buffer>;
    };
    await expect(call(raw, raw.getRegion, Buffer.from([0x0a, 0xff, 0xff, 0xff]))).rejects.toMatchObject({ code: grpc.status.INTERNAL });
    raw.close();
    // Garbage on a raw TCP connection, and a connection closed after a partial HTTP/2 preface.
    for (const bytes of ['hello there\r\n\r\n', 'PRI * HT']) {
      await new Promise<void>((resolve) => {
        const socket = net.connect(served.port, '127.0.0.1', () => {
          socket.write(bytes);
          socket.end();
        });
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        socket.resume();
      });
    }
    expect((await unary(client.getMembers, pdpb.GetMembersRequest.fromPartial({}))).leader?.name).toBe('pd-test');
    expect((await fetch(`http://${served.address}/pd/api/v1/health`)).status).toBe(200);
  });

  it('keeps everything after a restart on the same engine', async () => {
    const restarted = await PdServer.start({ engine: await reopenEngine(engine), clock, rng: new SeededRng(2n), config: { name: 'pd-test' } });
    try {
      expect(restarted.clusterId).toBe(pd.clusterId);
      expect(restarted.cluster.isBootstrapped).toBe(true);
      expect(restarted.cluster.regionCount).toBe(3);
      expect(restarted.cluster.gcSafePoint).toBe(600n);
      expect(await restarted.ids.alloc()).toBeGreaterThan(pd.ids.current);
      const before = await pd.tso.getTimestamp();
      const after = await restarted.tso.getTimestamp();
      expect(after.physicalMs).toBeGreaterThan(before.physicalMs);
    } finally {
      await restarted.close();
    }
  });
});
