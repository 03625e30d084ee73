// pd-client against the REAL PD (packages/pd's PdServer, in process, on 127.0.0.1 with an
// ephemeral port): the RPC sequences tikv-server and clients run, over real gRPC.
import * as net from 'node:net';
import { MemoryEngine } from '@tikv-ts/engine-memory';
import { PdServer } from '@tikv-ts/pd';
import {
  PdAlreadyBootstrappedError,
  PdEntryNotFoundError,
  PdNotBootstrappedError,
  RegionCache,
  RpcPdClient,
  StoreCache,
  composeTs,
} from '@tikv-ts/pd-client';
import { runPdClientSuite } from '@tikv-ts/pd-client/testing';
import { metapb, pdpb } from '@tikv-ts/proto';
import { SeededRng } from '@tikv-ts/util';
import { SystemClock } from '@tikv-ts/util/node';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Waits for an I/O-driven condition with a deadline (no fixed sleeps). */
async function eventually(cond: () => boolean, what: string, limitMs = 5000): Promise<void> {
  for (let waited = 0; !cond(); waited += 5) {
    if (waited > limitMs) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** One PD member on a listening socket; `restart()` replaces the server on the same port and engine. */
class PdHarness {
  readonly clock = new SystemClock({ unrefTimers: true });
  readonly engine = MemoryEngine.open();
  readonly operators: pdpb.RegionHeartbeatResponse[] = [];
  pd!: PdServer;
  #listener!: net.Server;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.#listener = net.createServer((socket) => this.pd.handleConnection(socket));
    await new Promise<void>((resolve, reject) => {
      this.#listener.once('error', reject);
      this.#listener.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.#listener.address() as net.AddressInfo).port;
    await this.#startPd();
  }

  async #startPd(): Promise<void> {
    this.pd = await PdServer.start({
      engine: this.engine,
      clock: this.clock,
      rng: new SeededRng(11n),
      config: { name: 'pd-it', clientUrls: [this.url] },
      storeCheckIntervalMs: 3_600_000,
      // A scheduler stand-in: a region with one peer is asked to add a peer on store 2.
      onRegionHeartbeat: (region) =>
        region.meta.peers.length === 1
          ? pdpb.RegionHeartbeatResponse.fromPartial({
              header: { clusterId: this.pd.clusterId },
              regionId: region.meta.id,
              regionEpoch: region.meta.regionEpoch,
              changePeer: { peer: { id: 9000n, storeId: 2n }, changeType: 0 },
            })
          : undefined,
    });
  }

  /** Stops PD (open connections and streams break) and starts it again on the same data. */
  async restart(): Promise<void> {
    await this.pd.close();
    await this.#startPd();
  }

  async stop(): Promise<void> {
    await this.pd.close();
    await new Promise<void>((resolve) => this.#listener.close(() => resolve()));
    await this.engine.close();
  }
}

describe('pd-client against the real PD server', () => {
  let h: PdHarness;
  let client: RpcPdClient;

  beforeAll(async () => {
    h = new PdHarness();
    await h.start();
    client = await RpcPdClient.connect([h.url], {
      clock: h.clock,
      backoff: { baseMs: 20, capMs: 200 },
      requestTimeoutMs: 3000,
      memberRefreshIntervalMs: 0,
    });
  });

  afterAll(async () => {
    await client.close();
    await h.stop();
  });

  it('connects through GetMembers: cluster id from the header, the leader from its client URL', () => {
    expect(client.getClusterId()).toBe(h.pd.clusterId);
    expect(client.getClusterId()).not.toBe(0n);
    expect(client.leaderUrl).toBe(h.url);
  });

  it('bootstraps the cluster as the first tikv-server does', async () => {
    expect(await client.isBootstrapped()).toBe(false);
    await expect(client.getRegion(enc('a'))).rejects.toBeInstanceOf(PdNotBootstrappedError);
    const storeId = await client.allocId();
    const regionId = await client.allocId();
    const peerId = await client.allocId();
    expect(new Set([storeId, regionId, peerId]).size).toBe(3);
    const store = metapb.Store.fromPartial({ id: storeId, address: '127.0.0.1:20160', version: '8.5.0' });
    const region = metapb.Region.fromPartial({ id: regionId, regionEpoch: { confVer: 1n, version: 1n }, peers: [{ id: peerId, storeId }] });
    await client.bootstrap(store, region);
    await expect(client.bootstrap(store, region)).rejects.toBeInstanceOf(PdAlreadyBootstrappedError);
    expect(await client.isBootstrapped()).toBe(true);
    await client.putStore(metapb.Store.fromPartial({ id: 2n, address: '127.0.0.1:20161', version: '8.5.0' }));
    expect((await client.getStore(storeId)).address).toBe('127.0.0.1:20160');
    expect((await client.getAllStores()).map((s) => s.id).sort()).toEqual([2n, storeId].sort());
    const stores = new StoreCache(client);
    expect(await stores.getStoreAddress(2n)).toBe('127.0.0.1:20161');
    const found = await client.getRegion(enc('anything'));
    expect(found?.region.id).toBe(regionId);
    expect((await client.getRegionById(regionId))?.region.peers[0]?.id).toBe(peerId);
    const res = await client.storeHeartbeat(pdpb.StoreStats.fromPartial({ storeId, capacity: 1n << 30n, available: 1n << 29n, regionCount: 1 }));
    expect(res.header?.error).toBeUndefined();
  });

  it('TSO: 300 concurrent callers get unique, increasing timestamps near the wall clock from few requests', async () => {
    const before = client.tsoRequestsSent;
    const all = await Promise.all(Array.from({ length: 300 }, () => client.getTimestamp()));
    for (let i = 1; i < all.length; i++) expect((all[i] as bigint) > (all[i - 1] as bigint)).toBe(true);
    expect(client.tsoRequestsSent - before).toBeLessThan(300);
    const physical = Number((all[0] as bigint) >> 18n);
    expect(Math.abs(physical - h.clock.nowMs())).toBeLessThan(10_000);
    expect(composeTs(BigInt(physical), 0n) <= (all[0] as bigint)).toBe(true);
  });

  it('split flow: AskBatchSplit ids, ReportBatchSplit, then the region cache follows EpochNotMatch', async () => {
    const first = (await client.getRegion(enc('')))?.region as metapb.Region;
    const cache = new RegionCache(client);
    expect((await cache.locateKey(enc('m'))).region.id).toBe(first.id);

    const [split] = await client.askBatchSplit(first, 1);
    if (split === undefined) throw new Error('AskBatchSplit returned no ids');
    expect(split.newPeerIds).toHaveLength(first.peers.length);
    const version = (first.regionEpoch?.version ?? 0n) + 1n;
    const left = metapb.Region.fromPartial({ ...first, endKey: enc('k'), regionEpoch: { confVer: 1n, version } });
    const right = metapb.Region.fromPartial({
      id: split.newRegionId,
      startKey: enc('k'),
      endKey: new Uint8Array(),
      regionEpoch: { confVer: 1n, version },
      peers: first.peers.map((p, i) => ({ id: split.newPeerIds[i] ?? 0n, storeId: p.storeId })),
    });
    await client.reportBatchSplit([left, right]);
    const scanned = await client.scanRegions(enc(''), enc(''));
    expect(scanned.map((r) => r.region.id)).toEqual([left.id, right.id]);
    expect((await client.scanRegions(enc(''), enc(''), { limit: 1 })).map((r) => r.region.id)).toEqual([left.id]);
    expect((await client.getPrevRegion(enc('k')))?.region.id).toBe(left.id);

    // The cache still routes 'm' to the old range until TiKV says EpochNotMatch.
    expect((await cache.locateKey(enc('m'))).region.id).toBe(first.id);
    cache.onEpochNotMatch(first.id, [left, right]);
    expect((await cache.locateKey(enc('m'))).region.id).toBe(right.id);
    expect((await cache.locateEndKey(enc('k'))).region.id).toBe(left.id);
  });

  it('region heartbeats: one stream, PD operators reach the listener', async () => {
    const got: pdpb.RegionHeartbeatResponse[] = [];
    const sub = client.onRegionHeartbeatResponse((r) => got.push(r));
    const left = (await client.getRegion(enc('a')))?.region as metapb.Region;
    await client.regionHeartbeat({ region: left, leader: left.peers[0], approximateSize: 1024n, term: 6n });
    await eventually(() => got.length === 1, 'the operator for a single-peer region');
    expect(got[0]?.regionId).toBe(left.id);
    expect(got[0]?.changePeer?.peer?.storeId).toBe(2n);
    expect((await client.getRegion(enc('a')))?.leader?.id).toBe(left.peers[0]?.id);
    // PD pushes on its own to the store's stream.
    expect(h.pd.sendRegionHeartbeatResponse(left.peers[0]?.storeId ?? 0n, pdpb.RegionHeartbeatResponse.fromPartial({ regionId: 777n }))).toBe(true);
    await eventually(() => got.length === 2, 'the pushed response');
    expect(got[1]?.regionId).toBe(777n);
    sub.cancel();
  });

  it('GC safe points and keyspaces', async () => {
    expect(await client.getGcSafePoint()).toBe(0n);
    expect(await client.updateGcSafePoint(400n)).toBe(400n);
    expect(await client.getGcSafePoint()).toBe(400n);
    const sp = await client.updateServiceGcSafePoint('it-service', 500n, { ttlSec: 3600n });
    expect(sp.ttlSec).toBe(3600n);
    expect((await client.loadKeyspace('DEFAULT')).name).toBe('DEFAULT');
    await expect(client.loadKeyspace('missing')).rejects.toBeInstanceOf(PdEntryNotFoundError);
  });

  it('survives a PD restart on the same port: calls retry, TSO keeps increasing', async () => {
    const before = await client.getTimestamp();
    await h.restart();
    const id = await client.allocId();
    expect(id).toBeGreaterThan(0n);
    let after: bigint | undefined;
    for (let i = 0; i < 5 && after === undefined; i++) {
      // The batch in flight when the stream broke fails (retryable); a later call succeeds.
      after = await client.getTimestamp().catch(() => undefined);
    }
    expect(after).toBeDefined();
    expect((after as bigint) > before).toBe(true);
    expect(await client.isBootstrapped()).toBe(true);
  });
});

describe('RpcPdClient + real PD', () => {
  // Each test gets a fresh PD (fresh engine, not bootstrapped) and a client connected to it.
  const harnesses = new Map<RpcPdClient, PdHarness>();
  runPdClientSuite({
    pause: () => new Promise((resolve) => setTimeout(resolve, 5)),
    factory: {
      create: async () => {
        const h = new PdHarness();
        await h.start();
        const c = await RpcPdClient.connect([h.url], { clock: h.clock, backoff: { baseMs: 20, capMs: 200 }, memberRefreshIntervalMs: 0 });
        harnesses.set(c, h);
        return c;
      },
      destroy: async (c) => {
        const h = harnesses.get(c as RpcPdClient);
        harnesses.delete(c as RpcPdClient);
        await h?.stop();
      },
    },
  });
});
