import { compareBytes } from '@tikv-ts/codec';
import type { metapb } from '@tikv-ts/proto';
import { SeededRng } from '@tikv-ts/util';
import { Backoff } from './backoff';
import type { RegionInfo } from './pd-client';
import { RegionCache, RegionNotLoadedError, type RegionSource } from './region-cache';
import { StoreCache, type StoreSource } from './store-cache';
import { PdStoreTombstoneError } from './errors';
import { makeRegion } from './testdata/fake-pd';
import { metapb as M, pdpb } from '@tikv-ts/proto';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** PD's truth as a sorted list of regions, answering like PD does. */
class TruthSource implements RegionSource {
  regions: metapb.Region[] = [];
  calls: string[] = [];

  set(regions: metapb.Region[]): void {
    this.regions = [...regions].sort((a, b) => compareBytes(a.startKey, b.startKey));
  }

  #info(r: metapb.Region | undefined): RegionInfo | undefined {
    return r === undefined ? undefined : { region: r, leader: r.peers[0], downPeers: [], pendingPeers: [] };
  }

  #indexOf(key: Uint8Array): number {
    return this.regions.findIndex((r) => compareBytes(r.startKey, key) <= 0 && (r.endKey.length === 0 || compareBytes(key, r.endKey) < 0));
  }

  getRegion(key: Uint8Array): Promise<RegionInfo | undefined> {
    this.calls.push(`get:${new TextDecoder().decode(key)}`);
    return Promise.resolve(this.#info(this.regions[this.#indexOf(key)]));
  }

  getPrevRegion(key: Uint8Array): Promise<RegionInfo | undefined> {
    this.calls.push(`prev:${new TextDecoder().decode(key)}`);
    const i = this.#indexOf(key);
    return Promise.resolve(i <= 0 ? undefined : this.#info(this.regions[i - 1]));
  }

  getRegionById(id: bigint): Promise<RegionInfo | undefined> {
    this.calls.push(`id:${id}`);
    return Promise.resolve(this.#info(this.regions.find((r) => r.id === id)));
  }
}

function threeRegions(): metapb.Region[] {
  return [makeRegion(1n, '', 'g', [1n, 2n, 3n]), makeRegion(2n, 'g', 'p', [1n, 2n, 3n]), makeRegion(3n, 'p', '', [1n, 2n, 3n])];
}

describe('RegionCache', () => {
  it('loads on a miss, then answers from the cache for every key of the range', async () => {
    const pd = new TruthSource();
    pd.set(threeRegions());
    const cache = new RegionCache(pd);
    const r = await cache.locateKey(enc('h'));
    expect(r.region.id).toBe(2n);
    expect(r.leader?.storeId).toBe(1n);
    for (const k of ['g', 'h', 'ozzz']) expect((await cache.locateKey(enc(k))).region.id).toBe(2n);
    expect(pd.calls).toEqual(['get:h']);
    expect((await cache.locateKey(enc('p'))).region.id).toBe(3n);
    expect((await cache.locateKey(enc(''))).region.id).toBe(1n);
    expect(cache.size).toBe(3);
    expect(cache.loads).toBe(3);
  });

  it('locateEndKey finds the region a range ending at the key ends in (start < key <= end)', async () => {
    const pd = new TruthSource();
    pd.set(threeRegions());
    const cache = new RegionCache(pd);
    // 'g' is region 2's start: a range ending at 'g' ends in region 1 (via GetPrevRegion).
    expect((await cache.locateEndKey(enc('g'))).region.id).toBe(1n);
    expect(pd.calls).toEqual(['prev:g']);
    // Inside a region: that region (GetPrevRegion answers the one before, so GetRegion follows).
    expect((await cache.locateEndKey(enc('k'))).region.id).toBe(2n);
    // Cached now.
    pd.calls = [];
    expect((await cache.locateEndKey(enc('p'))).region.id).toBe(2n);
    expect((await cache.locateEndKey(enc('h'))).region.id).toBe(2n);
    expect(pd.calls).toEqual([]);
    expect(cache.findByEndKey(enc(''))).toBeUndefined();
    await cache.locateKey(enc('z'));
    expect(cache.findByEndKey(enc(''))?.region.id).toBe(3n);
  });

  it('getRegionById loads by id and shares entries with key lookups', async () => {
    const pd = new TruthSource();
    pd.set(threeRegions());
    const cache = new RegionCache(pd);
    expect((await cache.getRegionById(3n)).region.id).toBe(3n);
    expect((await cache.locateKey(enc('q'))).region.id).toBe(3n);
    expect(pd.calls).toEqual(['id:3']);
    await expect(cache.getRegionById(99n)).rejects.toBeInstanceOf(RegionNotLoadedError);
  });

  it('onNotLeader with a peer of the region moves the leader; otherwise the entry is dropped', async () => {
    const pd = new TruthSource();
    pd.set(threeRegions());
    const cache = new RegionCache(pd);
    await cache.locateKey(enc('a'));
    expect(cache.onNotLeader(1n, { id: 13n, storeId: 3n, role: 0, isWitness: false })).toBe(true);
    expect(cache.findByKey(enc('a'))?.leader?.storeId).toBe(3n);
    expect(cache.findById(1n)?.leader?.id).toBe(13n);
    // A leader outside the cached peers: membership changed, reload.
    expect(cache.onNotLeader(1n, { id: 77n, storeId: 7n, role: 0, isWitness: false })).toBe(false);
    expect(cache.findByKey(enc('a'))).toBeUndefined();
    await cache.locateKey(enc('a'));
    expect(cache.onNotLeader(1n)).toBe(false);
    expect(cache.findById(1n)).toBeUndefined();
  });

  it('onEpochNotMatch replaces the stale region with the current ones (a split) and keeps the leader on its store', async () => {
    const pd = new TruthSource();
    pd.set(threeRegions());
    const cache = new RegionCache(pd);
    await cache.locateKey(enc('h'));
    const left = makeRegion(2n, 'g', 'k', [1n, 2n, 3n], 2n);
    const right = makeRegion(4n, 'k', 'p', [1n, 2n, 3n], 2n);
    cache.onEpochNotMatch(2n, [left, right]);
    expect(cache.findByKey(enc('h'))?.region.regionEpoch?.version).toBe(2n);
    expect(cache.findByKey(enc('h'))?.leader?.storeId).toBe(1n);
    expect(cache.findByKey(enc('m'))?.region.id).toBe(4n);
    expect(cache.findByKey(enc('m'))?.leader).toBeUndefined(); // peer ids differ: leader unknown
    // Without current regions the entry just goes.
    cache.onEpochNotMatch(4n, []);
    expect(cache.findByKey(enc('m'))).toBeUndefined();
  });

  it('a stale load never replaces a newer cached region; a newer one replaces every overlapping entry', () => {
    const cache = new RegionCache(new TruthSource());
    cache.insert(makeRegion(2n, 'g', 'k', [1n], 5n), undefined);
    cache.insert(makeRegion(4n, 'k', 'p', [1n], 5n), undefined);
    cache.insert(makeRegion(2n, 'g', 'p', [1n], 4n), undefined); // stale (before the split)
    expect(cache.entries().map((e) => e.region.id)).toEqual([2n, 4n]);
    cache.insert(makeRegion(2n, 'g', 'p', [1n], 6n), undefined); // merged back
    expect(cache.entries().map((e) => e.region.id)).toEqual([2n]);
    expect(cache.findById(4n)).toBeUndefined();
  });

  it('invalidate and invalidateStore drop entries; locateRange walks the gaps', async () => {
    const pd = new TruthSource();
    pd.set(threeRegions());
    const cache = new RegionCache(pd);
    const all = await cache.locateRange(enc('b'), enc(''));
    expect(all.map((r) => r.region.id)).toEqual([1n, 2n, 3n]);
    expect((await cache.locateRange(enc('b'), enc('h'))).map((r) => r.region.id)).toEqual([1n, 2n]);
    cache.invalidate(2n);
    expect(cache.size).toBe(2);
    cache.invalidateStore(1n);
    expect(cache.size).toBe(0);
    await expect(new RegionCache(new TruthSource()).locateKey(enc('a'))).rejects.toBeInstanceOf(RegionNotLoadedError);
  });

  it('random splits and merges in PD: after following EpochNotMatch hints the cache always agrees with PD (seeded)', async () => {
    const seed = BigInt(process.env['SIM_SEED'] ?? '7');
    try {
      const rng = new SeededRng(seed);
      const pd = new TruthSource();
      let nextId = 10n;
      let version = 1n;
      pd.set([makeRegion(1n, '', '', [1n])]);
      const cache = new RegionCache(pd);
      let hints = 0;
      const keyOf = (n: number): string => String.fromCharCode(97 + (n % 26)) + String.fromCharCode(97 + Math.floor(n / 26));
      for (let step = 0; step < 200; step++) {
        const action = rng.nextInt(3);
        if (action === 0) {
          // Split a random region at a random key inside it.
          const key = keyOf(rng.nextInt(26 * 26));
          const i = pd.regions.findIndex((r) => compareBytes(r.startKey, enc(key)) < 0 && (r.endKey.length === 0 || compareBytes(enc(key), r.endKey) < 0));
          const old = pd.regions[i];
          if (old !== undefined) {
            version++;
            const left = M.Region.fromPartial({ ...old, endKey: enc(key), regionEpoch: { confVer: 1n, version } });
            const right = M.Region.fromPartial({ ...old, id: nextId++, startKey: enc(key), regionEpoch: { confVer: 1n, version } });
            pd.set([...pd.regions.filter((r) => r !== old), left, right]);
          }
        } else if (action === 1 && pd.regions.length > 1) {
          // Merge a region into its right neighbour.
          const i = rng.nextInt(pd.regions.length - 1);
          const a = pd.regions[i] as metapb.Region;
          const b = pd.regions[i + 1] as metapb.Region;
          version++;
          const merged = M.Region.fromPartial({ ...b, startKey: a.startKey, regionEpoch: { confVer: 1n, version } });
          pd.set([...pd.regions.filter((r) => r !== a && r !== b), merged]);
        } else {
          // A request for a random key: locate, then check against PD as TiKV would.
          const key = enc(keyOf(rng.nextInt(26 * 26)));
          for (let attempt = 0; ; attempt++) {
            expect(attempt).toBeLessThan(3);
            const got = await cache.locateKey(key);
            const truth = pd.regions.find((r) => r.id === got.region.id);
            const sameEpoch = truth !== undefined && truth.regionEpoch?.version === got.region.regionEpoch?.version;
            if (sameEpoch) {
              expect(compareBytes(truth.startKey, key) <= 0).toBe(true);
              break;
            }
            // TiKV: EpochNotMatch with the regions now covering the old range (or region not found).
            hints++;
            if (truth === undefined) cache.invalidate(got.region.id);
            else {
              const overlapping = pd.regions.filter(
                (r) =>
                  (r.endKey.length === 0 || compareBytes(r.endKey, got.region.startKey) > 0) &&
                  (got.region.endKey.length === 0 || compareBytes(r.startKey, got.region.endKey) < 0),
              );
              cache.onEpochNotMatch(got.region.id, overlapping);
            }
          }
        }
      }
      expect(hints).toBeGreaterThan(5); // the stale paths were exercised
      // Every cached entry either matches PD or is older (and would be corrected on use), and entries never overlap.
      const entries = cache.entries();
      for (let i = 1; i < entries.length; i++) {
        const prev = (entries[i - 1] as { region: metapb.Region }).region;
        const cur = (entries[i] as { region: metapb.Region }).region;
        expect(prev.endKey.length !== 0 && compareBytes(prev.endKey, cur.startKey) <= 0).toBe(true);
      }
    } catch (e: unknown) {
      console.error(`SIM_SEED=${seed}`);
      throw e;
    }
  });
});

describe('StoreCache', () => {
  const store = (id: bigint, address: string, state = M.StoreState.Up): metapb.Store => M.Store.fromPartial({ id, address, state });

  class Stores implements StoreSource {
    stores = new Map<bigint, metapb.Store>([
      [1n, store(1n, '127.0.0.1:20160')],
      [2n, store(2n, '127.0.0.1:20161')],
      [3n, store(3n, '127.0.0.1:20162', M.StoreState.Tombstone)],
    ]);
    calls = 0;
    getStore(id: bigint): Promise<metapb.Store> {
      this.calls++;
      const s = this.stores.get(id);
      if (s === undefined) return Promise.reject(new Error(`no store ${id}`));
      if (s.state === M.StoreState.Tombstone) return Promise.reject(new PdStoreTombstoneError('GetStore', pdpb.ErrorType.STORE_TOMBSTONE, 'tombstone'));
      return Promise.resolve(s);
    }
    getAllStores(options?: { excludeTombstones?: boolean }): Promise<metapb.Store[]> {
      this.calls++;
      return Promise.resolve([...this.stores.values()].filter((s) => options?.excludeTombstones !== true || s.state !== M.StoreState.Tombstone));
    }
  }

  it('caches addresses, shares concurrent loads, reloads after invalidation, never caches tombstones', async () => {
    const pd = new Stores();
    const cache = new StoreCache(pd);
    const [a, b] = await Promise.all([cache.getStoreAddress(1n), cache.getStoreAddress(1n)]);
    expect([a, b]).toEqual(['127.0.0.1:20160', '127.0.0.1:20160']);
    expect(pd.calls).toBe(1);
    pd.stores.set(1n, store(1n, '127.0.0.1:30160'));
    expect(await cache.getStoreAddress(1n)).toBe('127.0.0.1:20160');
    cache.invalidate(1n);
    expect(await cache.getStoreAddress(1n)).toBe('127.0.0.1:30160');
    await expect(cache.getStore(3n)).rejects.toBeInstanceOf(PdStoreTombstoneError);
    expect(cache.findStore(3n)).toBeUndefined();
    const all = await cache.refreshAll();
    expect(all.map((s) => s.id).sort()).toEqual([1n, 2n]);
    expect(cache.findStore(2n)?.address).toBe('127.0.0.1:20161');
  });
});

describe('Backoff', () => {
  it('doubles from the base up to the cap and starts over after reset', () => {
    const b = new Backoff({ baseMs: 100, capMs: 1000 });
    expect(Array.from({ length: 6 }, () => b.nextDelayMs())).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(b.attempts).toBe(6);
    b.reset();
    expect(b.nextDelayMs()).toBe(100);
    expect(() => new Backoff({ baseMs: 10, capMs: 5 })).toThrow(RangeError);
  });
});
