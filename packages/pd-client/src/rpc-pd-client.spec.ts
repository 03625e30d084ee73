import { metapb, pdpb } from '@tikv-ts/proto';
import { ManualClock } from '@tikv-ts/util/testing';
import {
  PdAlreadyBootstrappedError,
  PdClientClosedError,
  PdEntryNotFoundError,
  PdNotBootstrappedError,
  type PdServerError,
  PdStoreTombstoneError,
  PdTsoStreamError,
  PdUnavailableError,
} from './errors';
import { RegionCache } from './region-cache';
import { RpcPdClient, pdUrlToTarget, type RpcPdClientOptions } from './rpc-pd-client';
import { FakeCluster, FakePd, makeRegion } from './testdata/fake-pd';
import { composeTs } from './tso-dispatcher';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Waits (real time, for gRPC I/O only) until `cond` holds; fails after `limitMs`. */
async function eventually(cond: () => boolean, what: string, limitMs = 5000): Promise<void> {
  for (let waited = 0; !cond(); waited += 5) {
    if (waited > limitMs) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function track<T>(p: Promise<T>): { value?: T; error?: unknown; done: boolean } {
  const t: { value?: T; error?: unknown; done: boolean } = { done: false };
  p.then(
    (v) => {
      t.value = v;
      t.done = true;
    },
    (e: unknown) => {
      t.error = e;
      t.done = true;
    },
  );
  return t;
}

/** A port nothing listens on (bound once, then released). */
async function deadUrl(): Promise<string> {
  const pd = new FakePd('dead', new FakeCluster());
  await pd.start();
  const url = pd.url;
  pd.stop();
  return url;
}

describe('pdUrlToTarget', () => {
  it('accepts http URLs and host:port, refuses TLS and junk', () => {
    expect(pdUrlToTarget('http://127.0.0.1:2379')).toBe('127.0.0.1:2379');
    expect(pdUrlToTarget('127.0.0.1:2379')).toBe('127.0.0.1:2379');
    expect(pdUrlToTarget('http://pd-0.local:2379/')).toBe('pd-0.local:2379');
    expect(() => pdUrlToTarget('https://127.0.0.1:2379')).toThrow(TypeError);
    expect(() => pdUrlToTarget('http://127.0.0.1')).toThrow(TypeError);
    expect(() => pdUrlToTarget('')).toThrow(TypeError);
  });
});

describe('RpcPdClient against a fake PD over gRPC', () => {
  let cluster: FakeCluster;
  let a: FakePd;
  let b: FakePd;
  let clock: ManualClock;
  const clients: RpcPdClient[] = [];

  const connect = async (urls: string[], options: Partial<RpcPdClientOptions> = {}): Promise<RpcPdClient> => {
    const c = await RpcPdClient.connect(urls, { clock, memberRefreshIntervalMs: 0, ...options });
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    clock = new ManualClock();
    cluster = new FakeCluster(4242n);
    a = new FakePd('pd-a', cluster);
    b = new FakePd('pd-b', cluster);
    await a.start();
    await b.start();
    cluster.leaderName = 'pd-b';
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    a.stop();
    b.stop();
  });

  it('connect: skips a dead URL, asks a follower, follows to the leader; every request carries the cluster id', async () => {
    const pd = await connect([await deadUrl(), a.url]);
    expect(pd.getClusterId()).toBe(4242n);
    expect(pd.leaderUrl).toBe(b.url);
    expect(a.count('GetMembers')).toBe(1);
    expect(await pd.isBootstrapped()).toBe(false);
    expect(b.count('IsBootstrapped')).toBe(1);
    expect(a.count('IsBootstrapped')).toBe(0);
    expect(b.headers.every((h) => h?.clusterId === 4242n)).toBe(true);
  });

  it('serves every RPC and turns header errors into typed errors', async () => {
    const pd = await connect([b.url]);
    await expect(pd.putStore(metapb.Store.fromPartial({ id: 1n, address: 'x:1' }))).rejects.toBeInstanceOf(PdNotBootstrappedError);
    const err = await pd.putStore(metapb.Store.fromPartial({ id: 1n })).catch((e: unknown) => e);
    expect((err as PdServerError).code).toBe('KV:PD:ClusterNotBootstrapped');
    expect((err as PdServerError).errorType).toBe(pdpb.ErrorType.NOT_BOOTSTRAPPED);

    const storeId = await pd.allocId();
    const regionId = await pd.allocId();
    expect(regionId).toBe(storeId + 1n);
    const store = metapb.Store.fromPartial({ id: storeId, address: '127.0.0.1:20160' });
    const first = metapb.Region.fromPartial({ id: regionId, regionEpoch: { confVer: 1n, version: 1n }, peers: [{ id: 5n, storeId }] });
    expect(await pd.isSnapshotRecovering()).toBe(false);
    await expect(pd.getClusterConfig()).rejects.toBeInstanceOf(PdNotBootstrappedError);
    await pd.bootstrap(store, first);
    expect((await pd.getClusterConfig()).maxPeerCount).toBe(3);
    await expect(pd.bootstrap(store, first)).rejects.toBeInstanceOf(PdAlreadyBootstrappedError);
    expect(await pd.isBootstrapped()).toBe(true);

    await pd.putStore(metapb.Store.fromPartial({ id: 2n, address: '127.0.0.1:20161' }));
    await pd.putStore(metapb.Store.fromPartial({ id: 3n, address: '127.0.0.1:20162', state: metapb.StoreState.Tombstone }));
    expect((await pd.getStore(2n)).address).toBe('127.0.0.1:20161');
    await expect(pd.getStore(3n)).rejects.toBeInstanceOf(PdStoreTombstoneError);
    await expect(pd.getStore(99n)).rejects.toThrow(/not found/);
    expect((await pd.getAllStores()).map((s) => s.id)).toEqual([storeId, 2n, 3n]);
    expect((await pd.getAllStores({ excludeTombstones: true })).map((s) => s.id)).toEqual([storeId, 2n]);

    const r = await pd.getRegion(enc('anything'));
    expect(r?.region.id).toBe(regionId);
    expect(r?.leader?.id).toBe(5n);
    expect((await pd.getRegionById(regionId))?.region.id).toBe(regionId);
    expect(await pd.getRegionById(12345n)).toBeUndefined(); // REGION_NOT_FOUND → undefined
    expect(await pd.getPrevRegion(enc('a'))).toBeUndefined();

    const ids = await pd.askBatchSplit(first, 2);
    expect(ids).toHaveLength(2);
    expect(ids[0]?.newPeerIds).toHaveLength(1);
    const left = makeRegion(regionId, '', 'm', [storeId], 2n);
    const right = makeRegion(ids[0]?.newRegionId ?? 0n, 'm', '', [storeId], 2n);
    await pd.reportBatchSplit([left, right]);
    expect((await pd.scanRegions(enc(''), enc(''))).map((x) => x.region.id)).toEqual([left.id, right.id]);
    expect((await pd.scanRegions(enc(''), enc(''), { limit: 1 })).map((x) => x.region.id)).toEqual([left.id]);
    expect((await pd.getPrevRegion(enc('n')))?.region.id).toBe(left.id);

    const hb = await pd.storeHeartbeat(pdpb.StoreStats.fromPartial({ storeId, capacity: 100n, available: 50n }));
    expect(hb.clusterVersion).toBe('8.5.0');
    expect(b.storeHeartbeats[0]?.capacity).toBe(100n);

    expect(await pd.getGcSafePoint()).toBe(0n);
    expect(await pd.updateGcSafePoint(100n)).toBe(100n);
    expect(await pd.updateGcSafePoint(50n)).toBe(100n);
    expect(await pd.getGcSafePoint()).toBe(100n);
    expect(await pd.updateServiceGcSafePoint('br', 30n, { ttlSec: 60n })).toEqual({ serviceId: 'br', minSafePoint: 30n, ttlSec: 60n });

    expect((await pd.loadKeyspace('DEFAULT')).id).toBe(0);
    await expect(pd.loadKeyspace('nope')).rejects.toBeInstanceOf(PdEntryNotFoundError);
  });

  it('TSO over a real stream: callers arriving during a round trip share the next request', async () => {
    const pd = await connect([b.url]);
    b.behaviour.holdTso = true;
    const firstCall = pd.getTimestamp();
    await eventually(() => b.heldTso === 1, 'the first TSO request');
    const rest = Array.from({ length: 50 }, () => pd.getTimestamp());
    b.behaviour.holdTso = false;
    b.releaseTso();
    const all = [await firstCall, ...(await Promise.all(rest))];
    expect(b.tsoCounts).toEqual([1, 50]);
    expect(pd.tsoRequestsSent).toBe(2);
    for (let i = 1; i < all.length; i++) expect((all[i] as bigint) > (all[i - 1] as bigint)).toBe(true);
    // PD's answer was the largest of the 50: the last caller got exactly it.
    expect(all[50]).toBe(composeTs(cluster.physical, cluster.logical));
  });

  it('TSO: a broken stream fails the batch in flight with a retryable error, then the client reconnects', async () => {
    const pd = await connect([b.url]);
    expect(await pd.getTimestamp()).toBeGreaterThan(0n);
    b.behaviour.holdTso = true;
    const p = pd.getTimestamp();
    await eventually(() => b.heldTso === 1, 'a held request');
    b.breakTsoStreams();
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PdTsoStreamError);
    expect((err as PdTsoStreamError).retryable).toBe(true);
    b.behaviour.holdTso = false;
    const again = track(pd.getTimestamp());
    // The reopen waits for the dispatcher's backoff on the injected clock.
    await eventually(() => clock.pendingTimers() > 0, 'the reconnect backoff');
    await clock.advanceAsync(1000);
    await eventually(() => again.done, 'a timestamp after reconnecting');
    expect(again.value).toBeGreaterThan(0n);
  });

  it('follows a leader change: the old leader dies, discovery finds the new one, the call and TSO succeed', async () => {
    const pd = await connect([a.url, b.url]);
    expect(pd.leaderUrl).toBe(b.url);
    await pd.getTimestamp();
    b.stop();
    cluster.leaderName = 'pd-a';
    const id = await pd.allocId();
    expect(id).toBeGreaterThan(0n);
    expect(pd.leaderUrl).toBe(a.url);
    expect(a.count('AllocID')).toBe(1);
    expect(pd.leaderChanges).toBe(2);
    const ts = track(pd.getTimestamp());
    await eventually(() => ts.done || clock.pendingTimers() > 0, 'TSO or its backoff');
    if (!ts.done) await clock.advanceAsync(1000);
    await eventually(() => ts.done, 'a timestamp from the new leader');
    expect(ts.value).toBeGreaterThan(0n);
  });

  it('an answer "not leader" from a live member makes the client rediscover', async () => {
    const pd = await connect([b.url]);
    cluster.leaderName = 'pd-a'; // b now answers UNAVAILABLE "not leader"
    expect(await pd.isBootstrapped()).toBe(false);
    expect(b.count('IsBootstrapped')).toBe(1);
    expect(a.count('IsBootstrapped')).toBe(1);
    expect(pd.leaderUrl).toBe(a.url);
  });

  it('the periodic member refresh follows a new leader without any failure', async () => {
    const pd = await connect([b.url], { memberRefreshIntervalMs: 60_000 });
    cluster.leaderName = 'pd-a';
    await clock.advanceAsync(59_999);
    expect(pd.leaderUrl).toBe(b.url);
    await clock.advanceAsync(1);
    await eventually(() => pd.leaderUrl === a.url, 'the refresh to switch leaders');
    expect(await pd.isBootstrapped()).toBe(false);
    expect(b.count('IsBootstrapped')).toBe(0);
  });

  it('all members down: retries with capped backoff on the clock, succeeds when a member is back', async () => {
    const pd = await connect([a.url, b.url], { backoff: { baseMs: 100, capMs: 400 } });
    const port = a.port;
    a.stop();
    b.stop();
    const p = track(pd.allocId());
    await eventually(() => clock.pendingTimers() > 0, 'the first backoff');
    expect(p.done).toBe(false);
    await clock.advanceAsync(100);
    await eventually(() => clock.pendingTimers() > 0, 'the second backoff');
    // Bring pd-a back on its port as leader.
    cluster.leaderName = 'pd-a';
    await a.start(port);
    for (let i = 0; i < 20 && !p.done; i++) {
      await clock.advanceAsync(400);
      await eventually(() => p.done || clock.pendingTimers() > 0, 'progress');
    }
    await eventually(() => p.done, 'allocId to succeed');
    expect(p.error).toBeUndefined();
    expect(pd.leaderUrl).toBe(a.url);
  });

  it('gives up with PdUnavailableError after maxRetries; connect is abortable', async () => {
    const pd = await connect([b.url], { maxRetries: 2, backoff: { baseMs: 10, capMs: 10 } });
    a.stop();
    b.stop();
    const p = track(pd.allocId());
    for (let i = 0; i < 50 && !p.done; i++) {
      await eventually(() => p.done || clock.pendingTimers() > 0, 'a backoff');
      await clock.advanceAsync(10);
    }
    await eventually(() => p.done, 'the call to give up');
    expect(p.error).toBeInstanceOf(PdUnavailableError);

    const ac = new AbortController();
    const c = track(RpcPdClient.connect([await deadUrl()], { clock, signal: ac.signal }));
    await eventually(() => c.done || clock.pendingTimers() > 0, 'a connect backoff');
    ac.abort(new Error('operator gave up'));
    await eventually(() => c.done, 'connect to stop');
    expect(String(c.error)).toMatch(/operator gave up/);
  });

  it('region heartbeats go on one stream; PD operators reach the listener', async () => {
    const pd = await connect([b.url]);
    const got: pdpb.RegionHeartbeatResponse[] = [];
    const sub = pd.onRegionHeartbeatResponse((r) => got.push(r));
    const region = makeRegion(10n, 'a', 'b', [1n]);
    await pd.regionHeartbeat({ region, leader: region.peers[0], approximateSize: 96n });
    await pd.regionHeartbeat({ region: makeRegion(11n, 'b', 'c', [1n, 2n]), leader: { id: 111n, storeId: 1n, role: 0, isWitness: false } });
    await eventually(() => got.length === 1 && b.heartbeats.length === 2, 'the operator');
    expect(got[0]?.regionId).toBe(10n);
    expect(got[0]?.changePeer?.peer?.storeId).toBe(2n);
    expect(b.heartbeats[0]?.header?.clusterId).toBe(4242n);
    expect(b.heartbeats[0]?.approximateSize).toBe(96n);
    expect(b.count('RegionHeartbeat')).toBe(2);
    // PD may push on its own.
    expect(b.pushHeartbeatResponse(pdpb.RegionHeartbeatResponse.fromPartial({ header: { clusterId: 4242n }, regionId: 11n }))).toBe(1);
    await eventually(() => got.length === 2, 'the pushed operator');
    sub.cancel();
    b.pushHeartbeatResponse(pdpb.RegionHeartbeatResponse.fromPartial({ header: { clusterId: 4242n }, regionId: 12n }));
    await pd.regionHeartbeat({ region });
    await eventually(() => b.heartbeats.length === 3, 'the third heartbeat');
    expect(got).toHaveLength(2);
  });

  it('a region cache over the client loads through GetRegion once per region', async () => {
    cluster.bootstrapped = true;
    cluster.setRegions([
      { region: makeRegion(1n, '', 'm', [1n]), leader: undefined },
      { region: makeRegion(2n, 'm', '', [1n]), leader: { id: 21n, storeId: 1n, role: 0, isWitness: false } },
    ]);
    const pd = await connect([b.url]);
    const cache = new RegionCache(pd);
    expect((await cache.locateKey(enc('x'))).leader?.id).toBe(21n);
    expect((await cache.locateKey(enc('q'))).region.id).toBe(2n);
    expect((await cache.locateKey(enc('a'))).leader).toBeUndefined();
    expect(b.count('GetRegion')).toBe(2);
  });

  it('close fails pending calls and later ones with PdClientClosedError', async () => {
    const pd = await connect([b.url]);
    b.behaviour.holdTso = true;
    const p = pd.getTimestamp();
    await eventually(() => b.heldTso === 1, 'a held request');
    await pd.close();
    await expect(p).rejects.toBeInstanceOf(PdClientClosedError);
    await expect(pd.allocId()).rejects.toBeInstanceOf(PdClientClosedError);
    await expect(pd.getTimestamp()).rejects.toBeInstanceOf(PdClientClosedError);
  });
});
