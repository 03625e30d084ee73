// tikv-server as a real process (started from apps/tikv-server/dist with a real pd-server from
// apps/pd-server/dist) driven through kvproto-generated gRPC clients: raw and transactional round
// trips, unary and BatchCommands, every region error, bad input, status server, restart.
import * as grpc from '@grpc/grpc-js';
import { Key } from '@tikv-ts/codec';
import { kvrpcpb } from '@tikv-ts/proto';
import {
  type PdProc,
  type RegionJson,
  type TikvProc,
  TikvClient,
  cleanupDirs,
  contextOf,
  dec,
  enc,
  eventually,
  regionFor,
  regionsOf,
  startPd,
  startTikv,
} from './harness';

jest.setTimeout(60000);

const CONFIG = `
[server]
max-grpc-recv-msg-len = "1MiB"
graceful-shutdown-timeout = "5s"

[raftstore]
raft-entry-max-size = "64KiB"
pd-heartbeat-tick-interval = "300ms"
pd-store-heartbeat-tick-interval = "300ms"

[log]
level = "info"
`;

let pd: PdProc;
let kv: TikvProc;
let client: TikvClient;

async function region(key = enc('')): Promise<RegionJson> {
  return regionFor(await regionsOf(kv.statusUrl), key);
}
async function ctx(key = enc(''), patch: Partial<kvrpcpb.Context> = {}): Promise<kvrpcpb.Context> {
  return contextOf(await region(key), patch);
}
async function txnCtx(key: Uint8Array): Promise<kvrpcpb.Context> {
  return contextOf(regionFor(await regionsOf(kv.statusUrl), Key.fromRaw(key).asEncoded()));
}

beforeAll(async () => {
  pd = await startPd();
  kv = await startTikv({ pdUrl: pd.url, configToml: CONFIG });
  client = new TikvClient(kv.addr);
});

afterAll(async () => {
  client?.close();
  await kv?.proc.stop();
  await pd?.proc.stop();
  cleanupDirs();
});

describe('raw KV', () => {
  it('round-trips put, get, batch, scan, delete, CAS, TTL and checksum (unary)', async () => {
    const c = await ctx();
    await client.call('rawPut', kvrpcpb.RawPutRequest.fromPartial({ context: c, key: enc('r-a'), value: enc('1') }));
    const got = await client.call<kvrpcpb.RawGetResponse>('rawGet', kvrpcpb.RawGetRequest.fromPartial({ context: c, key: enc('r-a') }));
    expect(got.regionError).toBeUndefined();
    expect(got.error).toBe('');
    expect(dec(got.value)).toBe('1');
    const missing = await client.call<kvrpcpb.RawGetResponse>('rawGet', { context: c, key: enc('r-missing') });
    expect(missing.notFound).toBe(true);
    // An empty value is a value (client-go TestEmptyValue).
    await client.call('rawPut', { context: c, key: enc('r-empty'), value: new Uint8Array(0) });
    const empty = await client.call<kvrpcpb.RawGetResponse>('rawGet', { context: c, key: enc('r-empty') });
    expect(empty.notFound).toBe(false);

    await client.call('rawBatchPut', kvrpcpb.RawBatchPutRequest.fromPartial({
      context: c,
      pairs: ['r-b', 'r-c', 'r-d'].map((k, i) => ({ key: enc(k), value: enc(String(i)) })),
    }));
    const bg = await client.call<kvrpcpb.RawBatchGetResponse>('rawBatchGet', { context: c, keys: [enc('r-b'), enc('r-x'), enc('r-d')] });
    expect(bg.pairs.map((p) => [dec(p.key), dec(p.value)])).toEqual([['r-b', '0'], ['r-d', '2']]);
    const scan = await client.call<kvrpcpb.RawScanResponse>('rawScan', { context: c, startKey: enc('r-a'), endKey: enc('r-d'), limit: 10 });
    expect(scan.kvs.map((p) => dec(p.key))).toEqual(['r-a', 'r-b', 'r-c']);
    const rev = await client.call<kvrpcpb.RawScanResponse>('rawScan', { context: c, startKey: enc('r-d'), endKey: enc('r-a'), limit: 2, reverse: true });
    expect(rev.kvs.map((p) => dec(p.key))).toEqual(['r-c', 'r-b']);

    const cas = await client.call<kvrpcpb.RawCASResponse>('rawCompareAndSwap', { context: c, key: enc('r-a'), value: enc('2'), previousValue: enc('1') });
    expect(cas.succeed).toBe(true);
    const casFail = await client.call<kvrpcpb.RawCASResponse>('rawCompareAndSwap', { context: c, key: enc('r-a'), value: enc('3'), previousValue: enc('1') });
    expect(casFail.succeed).toBe(false);
    expect(dec(casFail.previousValue)).toBe('2');

    const ttl = await client.call<kvrpcpb.RawGetKeyTTLResponse>('rawGetKeyTtl', { context: c, key: enc('r-a') });
    expect(ttl).toMatchObject({ error: '', ttl: 0n, notFound: false });
    const sum = await client.call<kvrpcpb.RawChecksumResponse>('rawChecksum', { context: c, ranges: [{ startKey: enc('r-b'), endKey: enc('r-e') }] });
    expect(sum.totalKvs).toBe(3n);

    await client.call('rawDelete', { context: c, key: enc('r-a') });
    await client.call('rawBatchDelete', { context: c, keys: [enc('r-b')] });
    await client.call('rawDeleteRange', { context: c, startKey: enc('r-c'), endKey: enc('r-e') });
    const after = await client.call<kvrpcpb.RawScanResponse>('rawScan', { context: c, startKey: enc('r-'), endKey: enc('r-z'), limit: 10 });
    expect(after.kvs.map((p) => dec(p.key))).toEqual(['r-empty']);
  });

  it('answers BatchCommands with the request ids, probe included, and gzip-compressed messages', async () => {
    const gz = new TikvClient(kv.addr, { 'grpc.default_compression_algorithm': 2 });
    try {
      const c = await ctx();
      const b = gz.batch();
      const [put, probe] = await b.send([
        { $case: 'RawPut', value: kvrpcpb.RawPutRequest.fromPartial({ context: c, key: enc('b-1'), value: enc('v1') }) },
        { $case: 'Empty', value: { testId: 42n, delayTime: 0n } },
      ]);
      expect(put?.$case).toBe('RawPut');
      expect(probe).toEqual({ $case: 'Empty', value: { testId: 42n } });
      const many = await b.send(
        Array.from({ length: 20 }, () => ({ $case: 'RawGet' as const, value: kvrpcpb.RawGetRequest.fromPartial({ context: c, key: enc('b-1') }) })),
      );
      for (const r of many) {
        expect(r?.$case).toBe('RawGet');
        if (r?.$case === 'RawGet') expect(dec(r.value.value)).toBe('v1');
      }
      b.end();
      // Unary with gzip too.
      const g = await gz.call<kvrpcpb.RawGetResponse>('rawGet', { context: c, key: enc('b-1') });
      expect(dec(g.value)).toBe('v1');
    } finally {
      gz.close();
    }
  });
});

describe('transactional KV', () => {
  it('runs a 2PC transaction, reads through locks as KeyError, resolves and shows MVCC', async () => {
    const key = enc('t-k1');
    const c = await txnCtx(key);
    const startTs = 100n;
    const pw = await client.call<kvrpcpb.PrewriteResponse>('kvPrewrite', kvrpcpb.PrewriteRequest.fromPartial({
      context: c,
      mutations: [{ op: kvrpcpb.Op.Put, key, value: enc('hello') }],
      primaryLock: key,
      startVersion: startTs,
      lockTtl: 3000n,
    }));
    expect(pw.errors).toEqual([]);
    // A read above the lock's ts meets the lock.
    const locked = await client.call<kvrpcpb.GetResponse>('kvGet', { context: c, key, version: 150n });
    expect(locked.error?.locked?.lockVersion).toBe(startTs);
    const scanLock = await client.call<kvrpcpb.ScanLockResponse>('kvScanLock', { context: c, maxVersion: 200n, startKey: enc('t-'), limit: 10 });
    expect(scanLock.locks.map((l) => dec(l.key))).toEqual(['t-k1']);
    const status = await client.call<kvrpcpb.CheckTxnStatusResponse>('kvCheckTxnStatus', {
      context: c,
      primaryKey: key,
      lockTs: startTs,
      callerStartTs: 150n,
      currentTs: 150n,
    });
    expect(status.lockTtl).toBe(3000n);
    const commit = await client.call<kvrpcpb.CommitResponse>('kvCommit', { context: c, keys: [key], startVersion: startTs, commitVersion: 110n });
    expect(commit.error).toBeUndefined();
    const got = await client.call<kvrpcpb.GetResponse>('kvGet', { context: c, key, version: 150n });
    expect(dec(got.value)).toBe('hello');
    const old = await client.call<kvrpcpb.GetResponse>('kvGet', { context: c, key, version: 105n });
    expect(old.notFound).toBe(true);
    const mvcc = await client.call<kvrpcpb.MvccGetByKeyResponse>('mvccGetByKey', { context: c, key });
    expect(mvcc.info?.writes.map((w) => [w.startTs, w.commitTs])).toEqual([[100n, 110n]]);
    const byTs = await client.call<kvrpcpb.MvccGetByStartTsResponse>('mvccGetByStartTs', { context: c, startTs });
    expect(dec(byTs.key)).toBe('t-k1');

    // A conflicting prewrite below the commit: write conflict.
    const conflict = await client.call<kvrpcpb.PrewriteResponse>('kvPrewrite', {
      context: c,
      mutations: [{ op: kvrpcpb.Op.Put, key, value: enc('x') }],
      primaryLock: key,
      startVersion: 105n,
      lockTtl: 3000n,
    });
    expect(conflict.errors[0]?.conflict?.conflictCommitTs).toBe(110n);

    // Roll back, resolve, pessimistic lock and heartbeat.
    const k2 = enc('t-k2');
    await client.call('kvPrewrite', { context: c, mutations: [{ op: kvrpcpb.Op.Put, key: k2, value: enc('y') }], primaryLock: k2, startVersion: 200n, lockTtl: 3000n });
    const hb = await client.call<kvrpcpb.TxnHeartBeatResponse>('kvTxnHeartBeat', { context: c, primaryLock: k2, startVersion: 200n, adviseLockTtl: 5000n });
    expect(hb.lockTtl).toBe(5000n);
    await client.call('kvResolveLock', { context: c, startVersion: 200n, commitVersion: 0n });
    const rolled = await client.call<kvrpcpb.GetResponse>('kvGet', { context: c, key: k2, version: 300n });
    expect(rolled.notFound).toBe(true);
    const pl = await client.call<kvrpcpb.PessimisticLockResponse>('kvPessimisticLock', {
      context: c,
      mutations: [{ op: kvrpcpb.Op.PessimisticLock, key: k2 }],
      primaryLock: k2,
      startVersion: 400n,
      forUpdateTs: 400n,
      lockTtl: 3000n,
      returnValues: true,
    });
    expect(pl.errors).toEqual([]);
    expect(pl.notFounds).toEqual([true]);
    const pr = await client.call<kvrpcpb.PessimisticRollbackResponse>('kvPessimisticRollback', { context: c, keys: [k2], startVersion: 400n, forUpdateTs: 400n });
    expect(pr.errors).toEqual([]);
    await client.call('kvBatchRollback', { context: c, keys: [k2], startVersion: 500n });
  });

  it('runs 2PC through BatchCommands', async () => {
    const key = enc('t-batch');
    const c = await txnCtx(key);
    const b = client.batch();
    const [pw] = await b.send([
      { $case: 'Prewrite', value: kvrpcpb.PrewriteRequest.fromPartial({ context: c, mutations: [{ op: kvrpcpb.Op.Put, key, value: enc('v') }], primaryLock: key, startVersion: 1000n, lockTtl: 3000n }) },
    ]);
    expect(pw?.$case === 'Prewrite' && pw.value.errors).toEqual([]);
    const [cm] = await b.send([{ $case: 'Commit', value: kvrpcpb.CommitRequest.fromPartial({ context: c, keys: [key], startVersion: 1000n, commitVersion: 1001n }) }]);
    expect(cm?.$case === 'Commit' && cm.value.error).toBeUndefined();
    const [get, bget, scan] = await b.send([
      { $case: 'Get', value: kvrpcpb.GetRequest.fromPartial({ context: c, key, version: 1002n }) },
      { $case: 'BatchGet', value: kvrpcpb.BatchGetRequest.fromPartial({ context: c, keys: [key], version: 1002n }) },
      { $case: 'Scan', value: kvrpcpb.ScanRequest.fromPartial({ context: c, startKey: enc('t-batch'), endKey: enc('t-c'), limit: 5, version: 1002n }) },
    ]);
    expect(get?.$case === 'Get' && dec(get.value.value)).toBe('v');
    expect(bget?.$case === 'BatchGet' && bget.value.pairs.length).toBe(1);
    expect(scan?.$case === 'Scan' && scan.value.pairs.map((p) => dec(p.key))).toEqual(['t-batch']);
    b.end();
  });
});

describe('bad input', () => {
  it('answers malformed bytes, oversized messages, empty keys and unknown enums with errors and keeps serving', async () => {
    const c = await ctx();
    // Malformed protobuf bytes on RawGet.
    const garbage = await new Promise<grpc.ServiceError | null>((resolve) => {
      client.client.makeUnaryRequest(
        '/tikvpb.Tikv/RawGet',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]),
        (e) => resolve(e),
      );
    });
    expect(garbage?.code).toBe(grpc.status.INTERNAL);
    // Over max-grpc-recv-msg-len (1 MiB).
    const big = await client.call('rawPut', { context: c, key: enc('big'), value: new Uint8Array(2 * 1024 * 1024) }).catch((e: grpc.ServiceError) => e);
    expect((big as grpc.ServiceError).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    // Empty keys.
    const emptyPut = await client.call<kvrpcpb.RawPutResponse>('rawPut', { context: c, key: new Uint8Array(0), value: enc('v') });
    expect(emptyPut.error).toMatch(/empty/i);
    const emptyGet = await client.call<kvrpcpb.GetResponse>('kvGet', { context: c, key: new Uint8Array(0), version: 1n });
    expect(emptyGet.error?.abort).toMatch(/empty/i);
    // Unknown enum values.
    const badOp = await client.call<kvrpcpb.PrewriteResponse>('kvPrewrite', { context: c, mutations: [{ op: 99, key: enc('e-1'), value: enc('v') }], primaryLock: enc('e-1'), startVersion: 7n, lockTtl: 10n });
    expect(badOp.errors[0]?.abort).toMatch(/99/);
    const badApi = await client.call<kvrpcpb.RawGetResponse>('rawGet', { context: { ...c, apiVersion: 77 }, key: enc('e-1') });
    expect(badApi.error).not.toBe('');
    const badPri = await client.call<kvrpcpb.CommitResponse>('kvCommit', { context: { ...c, priority: 42 }, keys: [enc('e-1')], startVersion: 7n, commitVersion: 8n });
    expect(badPri.error).toBeDefined();
    // RPCs we do not serve: UNIMPLEMENTED.
    const cop = await client.call('coprocessor', {}).catch((e: grpc.ServiceError) => e);
    expect((cop as grpc.ServiceError).code).toBe(grpc.status.UNIMPLEMENTED);
    // Still serving.
    await client.call('rawPut', { context: c, key: enc('alive'), value: enc('yes') });
    const alive = await client.call<kvrpcpb.RawGetResponse>('rawGet', { context: c, key: enc('alive') });
    expect(dec(alive.value)).toBe('yes');
    expect(kv.proc.isRunning).toBe(true);
  });
});

describe('status server and PD', () => {
  it('serves metrics, status, config, log level, region, engine type and the dashboard', async () => {
    const metrics = await (await fetch(`${kv.statusUrl}/metrics`)).text();
    expect(metrics).toMatch(/tikv_grpc_msg_duration_seconds_count\{type="raw_get"\}/);
    expect(metrics).toMatch(/tikv_scheduler_command_duration_seconds_count\{type="prewrite"\}/);
    expect(metrics).toMatch(/tikv_storage_engine_async_request_duration_seconds_count\{type="write"\}/);
    const config = (await (await fetch(`${kv.statusUrl}/config`)).json()) as { storage: Record<string, unknown>; raftstore: Record<string, unknown> };
    expect(config.storage['api-version']).toBe(1);
    expect(config.raftstore['raft-entry-max-size']).toBe('64KiB');
    const status = await fetch(`${kv.statusUrl}/status`);
    expect(status.status).toBe(200);
    // The node page links back to the PD dashboard through the PD endpoints in /status.
    const endpoints = ((await status.json()) as { pd_endpoints: string[] }).pd_endpoints;
    expect(endpoints).toHaveLength(1);
    expect(endpoints[0]).toContain(`127.0.0.1:${pd.port}`);
    const lvl = await fetch(`${kv.statusUrl}/log-level`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ log_level: 'debug' }) });
    expect(lvl.status).toBe(200);
    const badLvl = await fetch(`${kv.statusUrl}/log-level`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ log_level: 'loud' }) });
    expect(badLvl.status).toBe(400);
    const r = await region();
    const reg = (await (await fetch(`${kv.statusUrl}/region/${r.id}`)).json()) as { id: string; approximate_size: number };
    expect(reg.id).toBe(r.id);
    expect((await fetch(`${kv.statusUrl}/region/999999`)).status).toBe(404);
    expect(await (await fetch(`${kv.statusUrl}/engine_type`)).text()).toBe('raft-kv');
    const page = await (await fetch(`${kv.statusUrl}/dashboard/`)).text();
    expect(page).toMatch(/tikv-server node/);
    expect(page).toMatch(/id="pd-dashboard"/);
  });

  it('registers the store with PD and heartbeats real stats', async () => {
    const store = await eventually(async () => {
      const j = (await (await fetch(`${pd.url}/pd/api/v1/stores`)).json()) as {
        stores: { store: { address: string; status_address: string }; status: { capacity: string | number; available: string | number; region_count: number } }[];
      };
      const s = j.stores[0];
      return s !== undefined && BigInt(s.status.capacity) > 0n ? s : undefined;
    }, 'a store heartbeat');
    expect(store.store.address).toBe(kv.addr);
    expect(store.store.status_address).toBe(kv.statusUrl.replace('http://', ''));
    expect(BigInt(store.status.available)).toBeGreaterThan(0n);
    expect(store.status.region_count).toBeGreaterThanOrEqual(1);
  });
});

describe('region errors', () => {
  it('answers region_not_found, store_not_match, raft_entry_too_large, then key_not_in_region and epoch_not_match after a split', async () => {
    const c = await ctx();
    const notFound = await client.call<kvrpcpb.RawGetResponse>('rawGet', { context: { ...c, regionId: 424242n }, key: enc('a') });
    expect(notFound.regionError?.regionNotFound?.regionId).toBe(424242n);
    const wrongStore = await client.call<kvrpcpb.RawGetResponse>('rawGet', { context: { ...c, peer: { id: c.peer?.id ?? 0n, storeId: 999n } }, key: enc('a') });
    expect(wrongStore.regionError?.storeNotMatch).toMatchObject({ requestStoreId: 999n });
    const tooLarge = await client.call<kvrpcpb.RawPutResponse>('rawPut', { context: c, key: enc('large'), value: new Uint8Array(100 * 1024) });
    expect(tooLarge.regionError?.raftEntryTooLarge?.entrySize).toBeGreaterThan(64n * 1024n);
    const tooLargeTxn = await client.call<kvrpcpb.PrewriteResponse>('kvPrewrite', { context: c, mutations: [{ op: kvrpcpb.Op.Put, key: enc('large'), value: new Uint8Array(100 * 1024) }], primaryLock: enc('large'), startVersion: 9n, lockTtl: 10n });
    expect(tooLargeTxn.regionError?.raftEntryTooLarge).toBeDefined();

    // Split the (only) region at raw key "m".
    const before = await region(enc('a'));
    const split = await client.call<kvrpcpb.SplitRegionResponse>('splitRegion', { context: contextOf(before), splitKeys: [enc('m')], isRawKv: true });
    expect(split.regionError).toBeUndefined();
    expect(split.regions.map((r) => dec(r.endKey))).toEqual(['m', '']);
    const left = regionFor(await regionsOf(kv.statusUrl), enc('a'));
    const right = regionFor(await regionsOf(kv.statusUrl), enc('z'));
    expect(left.id).not.toBe(right.id);

    // Stale epoch: the old context.
    const stale = await client.call<kvrpcpb.RawGetResponse>('rawGet', { context: contextOf(before), key: enc('a') });
    const current = stale.regionError?.epochNotMatch?.currentRegions ?? [];
    expect(current.map((r) => r.id.toString())).toEqual(expect.arrayContaining([left.id, right.id]));
    // A key outside the region.
    const outside = await client.call<kvrpcpb.RawPutResponse>('rawPut', { context: contextOf(left), key: enc('z'), value: enc('1') });
    expect(outside.regionError?.keyNotInRegion).toMatchObject({ key: Buffer.from('z'), regionId: BigInt(left.id) });
    // BatchCommands carries region errors too.
    const b = client.batch();
    const [be] = await b.send([{ $case: 'RawGet', value: kvrpcpb.RawGetRequest.fromPartial({ context: contextOf(left), key: enc('z') }) }]);
    expect(be?.$case === 'RawGet' && be.value.regionError?.keyNotInRegion).toBeDefined();
    b.end();
    // Right routing works: scans stop at the region's end.
    await client.call('rawPut', { context: contextOf(right), key: enc('z'), value: enc('zz') });
    await client.call('rawPut', { context: contextOf(left), key: enc('a'), value: enc('aa') });
    const leftScan = await client.call<kvrpcpb.RawScanResponse>('rawScan', { context: contextOf(left), startKey: enc('a'), limit: 100 });
    expect(leftScan.kvs.every((p) => dec(p.key) < 'm')).toBe(true);
    // PD learns the split.
    await eventually(async () => ((await (await fetch(`${pd.url}/pd/api/v1/regions/count`)).json()) as { count: number }).count === 2 || undefined, 'PD to see 2 regions');
  });

  it('restarts gracefully on SIGTERM and reloads the store identity, regions and data', async () => {
    const before = await regionsOf(kv.statusUrl);
    const storeId = ((await (await fetch(`${kv.statusUrl}/status`)).json()) as { store_id: string }).store_id;
    client.close();
    const exit = await kv.proc.stop('SIGTERM');
    expect(exit.code).toBe(0);
    expect(kv.proc.out).toMatch(/TiKV has exited/);
    kv = await startTikv({ pdUrl: pd.url, dataDir: kv.dataDir, configToml: CONFIG });
    client = new TikvClient(kv.addr);
    expect(((await (await fetch(`${kv.statusUrl}/status`)).json()) as { store_id: string }).store_id).toBe(storeId);
    expect(await regionsOf(kv.statusUrl)).toEqual(before);
    const z = await client.call<kvrpcpb.RawGetResponse>('rawGet', { context: contextOf(regionFor(before, enc('z'))), key: enc('z') });
    expect(dec(z.value)).toBe('zz');
  });
});
