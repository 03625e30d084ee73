import * as grpc from '@grpc/grpc-js';
import { Key, dataKey, raftStateKey, regionStateKey } from '@tikv-ts/codec';
import { MemoryEngine } from '@tikv-ts/engine-memory';
import { debugpb, kvrpcpb, raft_serverpb, type metapb } from '@tikv-ts/proto';
import { Lock, Write } from '@tikv-ts/storage';
import { Failpoints, MetricsRegistry } from '@tikv-ts/util';
import {
  DebugInvalidArgumentError,
  DebugNotFoundError,
  DebugService,
  DebugUnavailableError,
  debugErrorStatus,
  type MvccEntry,
} from './debug-service';
import { startSingleStore } from './testdata/single-store';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const zKey = (raw: string): Uint8Array => dataKey(Key.fromRaw(enc(raw)).asEncoded());
const zKeyTs = (raw: string, ts: bigint): Uint8Array =>
  dataKey(Key.fromRaw(enc(raw)).appendTs(ts).asEncoded());

async function setup() {
  const { rt, kv, node } = await startSingleStore(7);
  const metrics = new MetricsRegistry();
  metrics.counter('tikv_debug_test_total', 'A test counter').inc(3);
  const failpoints = new Failpoints({ clock: rt.clock, rng: rt.rng });
  const service = new DebugService({ kv, metrics, failpoints, logger: rt.logger });
  // Transactional data: k1 committed twice (one short value, one long value in CF default), k2
  // locked by a prewrite, k3 rolled back; plus raw data in CF default that is not MVCC.
  const wb = kv.writeBatch();
  wb.put(
    'write',
    zKeyTs('k1', 20n),
    new Write({ writeType: 'put', startTs: 10n, shortValue: enc('v1') }).toBytes(),
  );
  wb.put('default', zKeyTs('k1', 30n), enc('x'.repeat(300)));
  wb.put('write', zKeyTs('k1', 40n), new Write({ writeType: 'put', startTs: 30n }).toBytes());
  wb.put(
    'lock',
    zKey('k2'),
    new Lock({
      lockType: 'put',
      primary: enc('k2'),
      ts: 50n,
      ttl: 3000n,
      shortValue: enc('v2'),
    }).toBytes(),
  );
  wb.put('write', zKeyTs('k3', 60n), Write.rollback(60n, true).toBytes());
  wb.put('default', dataKey(enc('raw-a')), enc('raw value'));
  await wb.write();
  const region = node.regions.regions()[0] as metapb.Region;
  return { kv, node, service, failpoints, region, rt };
}

async function collect(it: AsyncIterable<MvccEntry>): Promise<MvccEntry[]> {
  const out: MvccEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

describe('DebugService (typed methods)', () => {
  it('Get reads a raw engine key of a CF and answers NotFound when absent', async () => {
    const { service } = await setup();
    const r = await service.get(
      debugpb.GetRequest.fromPartial({
        db: debugpb.DB.KV,
        cf: 'default',
        key: dataKey(enc('raw-a')),
      }),
    );
    expect(dec(r.value)).toBe('raw value');
    await expect(
      service.get(
        debugpb.GetRequest.fromPartial({ db: debugpb.DB.KV, cf: 'default', key: enc('zmissing') }),
      ),
    ).rejects.toBeInstanceOf(DebugNotFoundError);
    await expect(
      service.get(debugpb.GetRequest.fromPartial({ db: debugpb.DB.KV, cf: 'nope', key: enc('z') })),
    ).rejects.toThrow(/Unknown column family "nope"/);
    await expect(
      service.get(
        debugpb.GetRequest.fromPartial({ db: debugpb.DB.INVALID, cf: 'default', key: enc('z') }),
      ),
    ).rejects.toBeInstanceOf(DebugInvalidArgumentError);
    await expect(
      service.get(
        debugpb.GetRequest.fromPartial({
          db: debugpb.DB.KV,
          cf: 'default',
          key: new Uint8Array(0),
        }),
      ),
    ).rejects.toThrow(/needs a key/);
  });

  it('Get on db RAFT reads the raft CF (region state)', async () => {
    const { service, region } = await setup();
    const r = await service.get(
      debugpb.GetRequest.fromPartial({
        db: debugpb.DB.RAFT,
        cf: 'default',
        key: regionStateKey(region.id),
      }),
    );
    expect(raft_serverpb.RegionLocalState.decode(r.value).region?.id).toBe(region.id);
  });

  it('RegionInfo returns the region local state and leaves the raft states unset', async () => {
    const { service, region } = await setup();
    const r = await service.regionInfo(
      debugpb.RegionInfoRequest.fromPartial({ regionId: region.id }),
    );
    expect(r.regionLocalState?.region?.id).toBe(region.id);
    expect(r.regionLocalState?.state).toBe(raft_serverpb.PeerState.Normal);
    expect(r.raftLocalState).toBeUndefined();
    expect(r.raftApplyState).toBeUndefined();
    await expect(
      service.regionInfo(debugpb.RegionInfoRequest.fromPartial({ regionId: 999n })),
    ).rejects.toThrow('Region 999 not found on this store');
  });

  it('RegionInfo returns a persisted raft local state when there is one', async () => {
    const { service, region, kv } = await setup();
    const state = raft_serverpb.RaftLocalState.fromPartial({
      lastIndex: 7n,
      hardState: { term: 2n, vote: 1n, commit: 7n },
    });
    await kv.put(
      'raft',
      raftStateKey(region.id),
      raft_serverpb.RaftLocalState.encode(state).finish(),
    );
    const r = await service.regionInfo(
      debugpb.RegionInfoRequest.fromPartial({ regionId: region.id }),
    );
    expect(r.raftLocalState?.lastIndex).toBe(7n);
    expect(r.raftApplyState).toBeUndefined();
  });

  it('RegionSize gives per-CF approximate sizes of the region range', async () => {
    const { service, region } = await setup();
    const r = await service.regionSize(
      debugpb.RegionSizeRequest.fromPartial({
        regionId: region.id,
        cfs: ['default', 'write', 'lock'],
      }),
    );
    expect(r.entries.map((e) => e.cf)).toEqual(['default', 'write', 'lock']);
    const def = r.entries[0] as debugpb.RegionSizeResponse_Entry;
    expect(def.size).toBeGreaterThan(300n);
    const all = await service.regionSize(
      debugpb.RegionSizeRequest.fromPartial({ regionId: region.id }),
    );
    expect(all.entries).toHaveLength(3);
    await expect(
      service.regionSize(debugpb.RegionSizeRequest.fromPartial({ regionId: 999n })),
    ).rejects.toBeInstanceOf(DebugNotFoundError);
    await expect(
      service.regionSize(
        debugpb.RegionSizeRequest.fromPartial({ regionId: region.id, cfs: ['bogus'] }),
      ),
    ).rejects.toBeInstanceOf(DebugInvalidArgumentError);
  });

  it('ScanMvcc merges lock, write and default CFs per key, newest first, skipping raw data', async () => {
    const { service } = await setup();
    const all = await collect(
      service.scanMvcc(debugpb.ScanMvccRequest.fromPartial({ fromKey: enc('z'), limit: 100n })),
    );
    expect(all.map((e) => Key.fromEncoded(e.key.subarray(1)).toRaw()).map(dec)).toEqual([
      'k1',
      'k2',
      'k3',
    ]);
    const [k1, k2, k3] = all as [MvccEntry, MvccEntry, MvccEntry];
    expect(k1.info.writes.map((w) => [w.commitTs, w.startTs])).toEqual([
      [40n, 30n],
      [20n, 10n],
    ]);
    expect(dec((k1.info.writes[1] as kvrpcpb.MvccWrite).shortValue)).toBe('v1');
    expect(k1.info.values.map((v) => v.startTs)).toEqual([30n]);
    expect(k1.info.lock).toBeUndefined();
    expect(k2.info.lock?.startTs).toBe(50n);
    expect(k2.info.lock?.type).toBe(kvrpcpb.Op.Put);
    expect(dec(k2.info.lock?.shortValue ?? new Uint8Array(0))).toBe('v2');
    expect(k3.info.writes[0]?.type).toBe(kvrpcpb.Op.Rollback);
  });

  it('ScanMvcc honours [from, to) and limit', async () => {
    const { service } = await setup();
    const one = await collect(
      service.scanMvcc(
        debugpb.ScanMvccRequest.fromPartial({ fromKey: zKey('k1'), toKey: zKey('k2') }),
      ),
    );
    expect(one).toHaveLength(1);
    const lim = await collect(
      service.scanMvcc(debugpb.ScanMvccRequest.fromPartial({ fromKey: zKey('k2'), limit: 1n })),
    );
    expect(lim.map((e) => dec(Key.fromEncoded(e.key.subarray(1)).toRaw()))).toEqual(['k2']);
    const none = await collect(
      service.scanMvcc(debugpb.ScanMvccRequest.fromPartial({ fromKey: zKey('k9'), limit: 10n })),
    );
    expect(none).toEqual([]);
  });

  it('ScanMvcc rejects bad ranges', async () => {
    const { service } = await setup();
    await expect(
      collect(service.scanMvcc(debugpb.ScanMvccRequest.fromPartial({ fromKey: enc('z') }))),
    ).rejects.toThrow(/limit or an end key/);
    await expect(
      collect(
        service.scanMvcc(debugpb.ScanMvccRequest.fromPartial({ fromKey: enc('a'), limit: 1n })),
      ),
    ).rejects.toThrow(/not a data key/);
    await expect(
      collect(
        service.scanMvcc(
          debugpb.ScanMvccRequest.fromPartial({ fromKey: enc('zb'), toKey: enc('za') }),
        ),
      ),
    ).rejects.toThrow(/above end key/);
  });

  it('Compact compacts a CF range and checks its input', async () => {
    const { service } = await setup();
    await expect(
      service.compact(debugpb.CompactRequest.fromPartial({ db: debugpb.DB.KV, cf: 'write' })),
    ).resolves.toEqual(debugpb.CompactResponse.create());
    await expect(
      service.compact(
        debugpb.CompactRequest.fromPartial({
          db: debugpb.DB.KV,
          cf: 'write',
          fromKey: enc('zb'),
          toKey: enc('za'),
        }),
      ),
    ).rejects.toBeInstanceOf(DebugInvalidArgumentError);
    await expect(
      service.compact(debugpb.CompactRequest.fromPartial({ db: debugpb.DB.KV, cf: 'x' })),
    ).rejects.toBeInstanceOf(DebugInvalidArgumentError);
  });

  it('injects, lists and recovers failpoints in the registry', async () => {
    const { service, failpoints } = await setup();
    await service.injectFailPoint(
      debugpb.InjectFailPointRequest.fromPartial({
        name: 'server::debug::test',
        actions: 'return(5)',
      }),
    );
    expect(failpoints.enabled).toBe(true);
    await expect(failpoints.eval('server::debug::test')).resolves.toBe('5');
    const list = await service.listFailPoints({});
    expect(list.entries).toEqual([{ name: 'server::debug::test', actions: 'return(5)' }]);
    await service.recoverFailPoint({ name: 'server::debug::test' });
    expect((await service.listFailPoints({})).entries).toEqual([]);
    expect(failpoints.enabled).toBe(false);
    await expect(
      service.injectFailPoint({ name: 'x', actions: 'explode(' }),
    ).rejects.toBeInstanceOf(DebugInvalidArgumentError);
    await expect(service.injectFailPoint({ name: '', actions: 'off' })).rejects.toBeInstanceOf(
      DebugInvalidArgumentError,
    );
  });

  it('reports metrics, store and cluster identity and regions', async () => {
    const { service, node, region } = await setup();
    const m = await service.getMetrics({ all: false });
    expect(m.prometheus).toContain('tikv_debug_test_total 3');
    expect(m.storeId).toBe(node.storeId);
    expect((await service.getStoreInfo({})).storeId).toBe(node.storeId);
    expect((await service.getStoreInfo({})).apiVersion).toBe(kvrpcpb.APIVersion.V1);
    expect((await service.getClusterInfo({})).clusterId).toBe(node.clusterId);
    expect((await service.getAllRegionsInStore({})).regions).toEqual([region.id]);
  });

  it('without metrics and failpoints (local mode) those RPCs are unavailable; an empty store has no identity', async () => {
    const service = new DebugService({ kv: MemoryEngine.open() });
    await expect(service.getMetrics({ all: true })).rejects.toBeInstanceOf(DebugUnavailableError);
    await expect(service.listFailPoints({})).rejects.toBeInstanceOf(DebugUnavailableError);
    await expect(service.getStoreInfo({})).rejects.toBeInstanceOf(DebugNotFoundError);
    expect((await service.getAllRegionsInStore({})).regions).toEqual([]);
  });

  it('maps errors to gRPC status codes in one place', () => {
    expect(debugErrorStatus(new DebugNotFoundError('x')).code).toBe(grpc.status.NOT_FOUND);
    expect(debugErrorStatus(new DebugInvalidArgumentError('x')).code).toBe(
      grpc.status.INVALID_ARGUMENT,
    );
    expect(debugErrorStatus(new DebugUnavailableError('x')).code).toBe(grpc.status.UNAVAILABLE);
    expect(debugErrorStatus(new Error('boom'))).toEqual({
      code: grpc.status.INTERNAL,
      details: 'boom',
    });
  });
});

describe('DebugService over grpc-js', () => {
  let server: grpc.Server;
  let client: debugpb.DebugClient;
  let ctx: Awaited<ReturnType<typeof setup>>;

  beforeAll(async () => {
    ctx = await setup();
    server = new grpc.Server();
    server.addService(debugpb.DebugService, ctx.service.implementation());
    const port = await new Promise<number>((res, rej) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e !== null ? rej(e) : res(p),
      ),
    );
    client = new debugpb.DebugClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  const unary = <Res>(
    start: (cb: (e: grpc.ServiceError | null, r: Res) => void) => unknown,
  ): Promise<Res> =>
    new Promise((res, rej) => {
      start((e, r) => (e !== null ? rej(e) : res(r)));
    });

  it('serves unary RPCs with kvproto status codes', async () => {
    const info = await unary<debugpb.GetStoreInfoResponse>((cb) => client.getStoreInfo({}, cb));
    expect(info.storeId).toBe(ctx.node.storeId);
    await expect(
      unary((cb) =>
        client.regionInfo(debugpb.RegionInfoRequest.fromPartial({ regionId: 12345n }), cb),
      ),
    ).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(
      unary((cb) =>
        client.get(
          debugpb.GetRequest.fromPartial({ db: debugpb.DB.KV, cf: 'bad', key: enc('z') }),
          cb,
        ),
      ),
    ).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('Unknown column family') as unknown,
    });
  });

  it('streams ScanMvcc and reports a bad request as INVALID_ARGUMENT', async () => {
    const read = (req: debugpb.ScanMvccRequest): Promise<debugpb.ScanMvccResponse[]> =>
      new Promise((res, rej) => {
        const out: debugpb.ScanMvccResponse[] = [];
        const s = client.scanMvcc(req);
        s.on('data', (m: debugpb.ScanMvccResponse) => out.push(m));
        s.on('error', rej);
        s.on('end', () => res(out));
      });
    const got = await read(debugpb.ScanMvccRequest.fromPartial({ fromKey: enc('z'), limit: 10n }));
    expect(got).toHaveLength(3);
    expect(got[1]?.info?.lock?.startTs).toBe(50n);
    await expect(
      read(debugpb.ScanMvccRequest.fromPartial({ fromKey: enc('z') })),
    ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });

  it('answers UNIMPLEMENTED for RPCs without a handler', async () => {
    await expect(
      unary((cb) =>
        client.raftLog(debugpb.RaftLogRequest.fromPartial({ regionId: 1n, logIndex: 1n }), cb),
      ),
    ).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
  });
});
