import { compareBytes } from '@tikv-ts/codec';
import { MemoryEngine } from '@tikv-ts/engine-memory';
import { metapb, pdpb } from '@tikv-ts/proto';
import { SeededRng } from '@tikv-ts/util';
import { ManualClock } from '@tikv-ts/util/testing';
import { ClusterState } from './cluster';
import {
  PdAlreadyBootstrappedError,
  PdInvalidValueError,
  PdNotBootstrappedError,
  PdRegionNotFoundError,
  PdStaleRegionError,
  PdStoreNotFoundError,
  PdStoreTombstoneError,
} from './errors';
import { PdStorage } from './storage';
import { reopenEngine } from './testdata/reopen-engine';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function region(id: bigint, start: string, end: string, version: bigint, confVer = 1n, storeIds: bigint[] = [1n]): metapb.Region {
  return metapb.Region.fromPartial({
    id,
    startKey: enc(start),
    endKey: enc(end),
    regionEpoch: { version, confVer },
    peers: storeIds.map((s, i) => ({ id: id * 100n + BigInt(i), storeId: s })),
  });
}

async function openCluster(engine = MemoryEngine.open(), clock = new ManualClock()): Promise<{ cluster: ClusterState; engine: MemoryEngine; clock: ManualClock }> {
  const storage = new PdStorage(engine);
  const id = await storage.loadClusterId();
  if (id === undefined) await storage.saveClusterId(42n);
  else storage.setClusterId(id);
  const cluster = await ClusterState.load(storage, clock, { maxStoreDownTimeMs: 60_000 });
  return { cluster, engine, clock };
}

const store = (id: bigint, address = `127.0.0.1:${20160 + Number(id)}`): metapb.Store => metapb.Store.fromPartial({ id, address, version: '8.5.0' });

describe('ClusterState', () => {
  it('refuses everything but bootstrap before bootstrap, and a second bootstrap', async () => {
    const { cluster } = await openCluster();
    expect(() => cluster.getStore(1n)).toThrow(PdNotBootstrappedError);
    await expect(cluster.putStore(store(1n))).rejects.toBeInstanceOf(PdNotBootstrappedError);
    await expect(cluster.bootstrap(undefined, undefined)).rejects.toBeInstanceOf(PdInvalidValueError);
    await cluster.bootstrap(store(1n), region(2n, '', '', 1n));
    expect(cluster.isBootstrapped).toBe(true);
    await expect(cluster.bootstrap(store(1n), region(2n, '', '', 1n))).rejects.toBeInstanceOf(PdAlreadyBootstrappedError);
    expect(cluster.getRegionByKey(enc('anything')).meta.id).toBe(2n);
    expect(cluster.getRegionByKey(enc('anything')).leader?.storeId).toBe(1n);
  });

  it('registers stores, refuses duplicate addresses and tombstones, and reports missing heartbeats as down', async () => {
    const { cluster, clock } = await openCluster();
    await cluster.bootstrap(store(1n), region(2n, '', '', 1n));
    await cluster.putStore(store(3n));
    await expect(cluster.putStore(store(4n, '127.0.0.1:20161'))).rejects.toBeInstanceOf(PdInvalidValueError);
    await expect(cluster.putStore(store(5n, ''))).rejects.toBeInstanceOf(PdInvalidValueError);
    expect(cluster.getAllStores().map((s) => s.meta.id)).toEqual([1n, 3n]);
    await expect(cluster.storeHeartbeat(pdpb.StoreStats.fromPartial({ storeId: 99n }))).rejects.toBeInstanceOf(PdStoreNotFoundError);
    await cluster.storeHeartbeat(pdpb.StoreStats.fromPartial({ storeId: 3n, capacity: 100n, available: 50n }));
    expect(cluster.getStore(3n).stats?.capacity).toBe(100n);
    expect(cluster.storeStateName(cluster.getStore(3n))).toBe('Up');
    await clock.advanceAsync(30_000);
    expect(cluster.storeStateName(cluster.getStore(3n))).toBe('Disconnected');
    await clock.advanceAsync(31_000);
    expect(cluster.isStoreDown(cluster.getStore(3n))).toBe(true);
    expect(cluster.storeStateName(cluster.getStore(3n))).toBe('Down');
    await cluster.storeHeartbeat(pdpb.StoreStats.fromPartial({ storeId: 3n }));
    expect(cluster.storeStateName(cluster.getStore(3n))).toBe('Up');
    // Offline → Tombstone once it holds no region.
    await cluster.setStoreState(3n, metapb.StoreState.Offline);
    expect(await cluster.checkStores()).toEqual([3n]);
    expect(cluster.getStore(3n).meta.state).toBe(metapb.StoreState.Tombstone);
    await expect(cluster.storeHeartbeat(pdpb.StoreStats.fromPartial({ storeId: 3n }))).rejects.toBeInstanceOf(PdStoreTombstoneError);
    await expect(cluster.putStore(store(3n))).rejects.toBeInstanceOf(PdStoreTombstoneError);
    expect(cluster.getAllStores(true).map((s) => s.meta.id)).toEqual([1n]);
    // Store 1 holds the region: it cannot become a tombstone.
    await cluster.setStoreState(1n, metapb.StoreState.Offline);
    expect(await cluster.checkStores()).toEqual([]);
  });

  it('applies splits, refuses stale epochs, and loads everything back after a restart', async () => {
    const { cluster, engine } = await openCluster();
    await cluster.bootstrap(store(1n), region(2n, '', '', 1n));
    // Split [,) into [,m) id 3 and [m,) id 2.
    await cluster.handleRegionHeartbeat({ region: region(2n, 'm', '', 2n), leader: { id: 200n, storeId: 1n, role: 0, isWitness: false } });
    expect(() => cluster.getRegionByKey(enc('a'))).toThrow(PdRegionNotFoundError);
    await cluster.handleRegionHeartbeat({ region: region(3n, '', 'm', 2n), leader: undefined });
    expect(cluster.getRegionByKey(enc('a')).meta.id).toBe(3n);
    expect(cluster.getPrevRegion(enc('x')).meta.id).toBe(3n);
    // The pre-split region again: stale by its own epoch.
    await expect(cluster.handleRegionHeartbeat({ region: region(2n, '', '', 1n), leader: undefined })).rejects.toBeInstanceOf(PdStaleRegionError);
    // An unknown region overlapping a newer one: stale by overlap.
    await expect(cluster.handleRegionHeartbeat({ region: region(9n, 'a', 'z', 1n), leader: undefined })).rejects.toBeInstanceOf(PdStaleRegionError);
    // conf change of region 3 (conf_ver 2), then a heartbeat with the old conf_ver is stale.
    await cluster.handleRegionHeartbeat({ region: region(3n, '', 'm', 2n, 2n, [1n, 4n]), leader: undefined });
    await expect(cluster.handleRegionHeartbeat({ region: region(3n, '', 'm', 2n, 1n), leader: undefined })).rejects.toBeInstanceOf(PdStaleRegionError);
    // Bad input.
    await expect(cluster.handleRegionHeartbeat({ region: region(0n, '', '', 1n), leader: undefined })).rejects.toBeInstanceOf(PdInvalidValueError);
    await expect(cluster.handleRegionHeartbeat({ region: region(5n, 'z', 'a', 9n), leader: undefined })).rejects.toBeInstanceOf(PdInvalidValueError);

    const { cluster: again } = await openCluster(await reopenEngine(engine));
    expect(again.isBootstrapped).toBe(true);
    expect(again.allRegions().map((r) => [r.meta.id, r.meta.regionEpoch?.version, r.meta.regionEpoch?.confVer])).toEqual([
      [3n, 2n, 2n],
      [2n, 2n, 1n],
    ]);
    expect(again.getStore(1n).meta.address).toBe('127.0.0.1:20161');
  });

  it('moves the GC safe point forward only, bounded by the minimum service safe point with TTLs', async () => {
    const { cluster, clock, engine } = await openCluster();
    await cluster.bootstrap(store(1n), region(2n, '', '', 1n));
    expect(await cluster.updateGcSafePoint(100n)).toBe(100n);
    expect(await cluster.updateGcSafePoint(50n)).toBe(100n);
    let r = await cluster.updateServiceSafePoint('br', 60n, 150n);
    expect(r).toEqual({ serviceId: 'br', ttlSec: 60n, minSafePoint: 150n });
    r = await cluster.updateServiceSafePoint('cdc', 600n, 120n); // below the min of others: refused, min returned
    expect(r.serviceId).toBe('br');
    expect(r.minSafePoint).toBe(150n);
    r = await cluster.updateServiceSafePoint('cdc', 600n, 200n);
    expect(r.minSafePoint).toBe(150n);
    expect(await cluster.updateGcSafePoint(1000n)).toBe(150n); // bounded by br
    await clock.advanceAsync(61_000); // br expires
    expect(await cluster.updateGcSafePoint(1000n)).toBe(200n); // bounded by cdc
    r = await cluster.updateServiceSafePoint('cdc', 0n, 0n); // removed
    expect(r.serviceId).toBe('');
    expect(await cluster.updateGcSafePoint(1000n)).toBe(1000n);
    const { cluster: again } = await openCluster(await reopenEngine(engine), clock);
    expect(again.gcSafePoint).toBe(1000n);
  });

  it('keeps the region tree equal to the truth under random splits, conf changes and stale heartbeats', async () => {
    const seeds = process.env['SIM_SEED'] !== undefined ? [BigInt(process.env['SIM_SEED'])] : [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n];
    for (const seed of seeds) {
      try {
        await runRandomSplits(seed);
      } catch (e: unknown) {
        throw new Error(`SIM_SEED=${seed}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
    }
  });
});

async function runRandomSplits(seed: bigint): Promise<void> {
  const rng = new SeededRng(seed);
  const { cluster, engine } = await openCluster();
  await cluster.bootstrap(store(1n), region(1n, '', '', 1n));
  // The truth: current region metadata by id, plus every version ever sent (for stale replays).
  const truth = new Map<bigint, metapb.Region>([[1n, region(1n, '', '', 1n)]]);
  const history: metapb.Region[] = [];
  let nextId = 2n;
  const keyOf = (n: number): string => n.toString().padStart(6, '0');
  for (let step = 0; step < 300; step++) {
    const ids = [...truth.keys()];
    const id = ids[rng.nextInt(ids.length)] as bigint;
    const cur = truth.get(id) as metapb.Region;
    const op = rng.nextInt(10);
    if (op < 5) {
      // Split at a random key strictly inside the region: the left part gets a new id.
      const lo = cur.startKey.length === 0 ? 0 : Number(new TextDecoder().decode(cur.startKey));
      const hi = cur.endKey.length === 0 ? 1_000_000 : Number(new TextDecoder().decode(cur.endKey));
      if (hi - lo < 2) continue;
      const at = keyOf(lo + 1 + rng.nextInt(hi - lo - 1));
      const v = (cur.regionEpoch?.version ?? 0n) + 1n;
      const c = cur.regionEpoch?.confVer ?? 1n;
      const left = metapb.Region.fromPartial({ ...cur, id: nextId++, endKey: enc(at), regionEpoch: { version: v, confVer: c } });
      const right = metapb.Region.fromPartial({ ...cur, startKey: enc(at), regionEpoch: { version: v, confVer: c } });
      history.push(cur);
      truth.set(left.id, left);
      truth.set(right.id, right);
      // Report one of the two (or both) now, in random order; the other comes later.
      const send = rng.chance(0.5) ? [right, left] : [left, right];
      for (const r of send) if (rng.chance(0.7)) await cluster.handleRegionHeartbeat({ region: r, leader: r.peers[0] });
    } else if (op < 7) {
      // Conf change.
      const next = metapb.Region.fromPartial({
        ...cur,
        regionEpoch: { version: cur.regionEpoch?.version ?? 1n, confVer: (cur.regionEpoch?.confVer ?? 1n) + 1n },
      });
      history.push(cur);
      truth.set(id, next);
      await cluster.handleRegionHeartbeat({ region: next, leader: next.peers[0] });
    } else if (history.length > 0) {
      // Replay an old version: must be refused unless nothing newer overlapping it is known yet.
      const old = history[rng.nextInt(history.length)] as metapb.Region;
      try {
        await cluster.handleRegionHeartbeat({ region: old, leader: undefined });
        // Accepted: then nothing PD knew overlapping it was newer. It is legal but must be
        // superseded later by the final round.
      } catch (e: unknown) {
        if (!(e instanceof PdStaleRegionError)) throw e;
      }
    }
    checkNoOverlap(cluster);
  }
  // Every leader reports its current state: PD must then equal the truth exactly.
  const current = [...truth.values()];
  for (let i = current.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [current[i], current[j]] = [current[j] as metapb.Region, current[i] as metapb.Region];
  }
  for (const r of current) await cluster.handleRegionHeartbeat({ region: r, leader: r.peers[0] });
  // Stale replays after that are all refused.
  for (const old of history.slice(0, 50)) {
    await expect(cluster.handleRegionHeartbeat({ region: old, leader: undefined })).rejects.toBeInstanceOf(PdStaleRegionError);
  }
  const expected = [...truth.values()].sort((a, b) => compareBytes(a.startKey, b.startKey));
  const got = cluster.allRegions().map((r) => r.meta);
  expect(got.map((r) => r.id)).toEqual(expected.map((r) => r.id));
  expect(got.map((r) => r.regionEpoch)).toEqual(expected.map((r) => r.regionEpoch));
  // The ranges tile the key space.
  for (let i = 1; i < got.length; i++) expect(compareBytes((got[i - 1] as metapb.Region).endKey, (got[i] as metapb.Region).startKey)).toBe(0);
  // Random point lookups agree with the truth.
  for (let i = 0; i < 200; i++) {
    const k = enc(keyOf(rng.nextInt(1_000_000)));
    const want = expected.find((r) => compareBytes(r.startKey, k) <= 0 && (r.endKey.length === 0 || compareBytes(k, r.endKey) < 0));
    expect(cluster.getRegionByKey(k).meta.id).toBe(want?.id);
  }
  // And a restart loads the same tree.
  const { cluster: again } = await openCluster(await reopenEngine(engine));
  expect(again.allRegions().map((r) => r.meta.id)).toEqual(expected.map((r) => r.id));
}

function checkNoOverlap(cluster: ClusterState): void {
  const all = cluster.allRegions();
  for (let i = 1; i < all.length; i++) {
    const a = (all[i - 1] as { meta: metapb.Region }).meta;
    const b = (all[i] as { meta: metapb.Region }).meta;
    if (a.endKey.length === 0 || compareBytes(a.endKey, b.startKey) > 0) throw new Error(`regions ${a.id} and ${b.id} overlap`);
  }
}
