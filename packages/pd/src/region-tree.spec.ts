import { compareBytes } from '@tikv-ts/codec';
import { metapb } from '@tikv-ts/proto';
import { SeededRng } from '@tikv-ts/util';
import { EMPTY_REGION_STATS, RegionTree, type RegionInfo } from './region-tree';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function info(id: number, start: string, end: string): RegionInfo {
  return {
    meta: metapb.Region.fromPartial({ id: BigInt(id), startKey: enc(start), endKey: enc(end), regionEpoch: { version: 1n, confVer: 1n } }),
    leader: undefined,
    downPeers: [],
    pendingPeers: [],
    term: 0n,
    stats: EMPTY_REGION_STATS,
  };
}

describe('RegionTree', () => {
  it('searches, finds the previous adjacent region, scans and replaces overlaps', () => {
    const t = new RegionTree();
    t.update(info(1, '', 'c'));
    t.update(info(2, 'c', 'f'));
    t.update(info(3, 'h', '')); // hole [f, h)
    expect(t.search(enc('a'))?.meta.id).toBe(1n);
    expect(t.search(enc('c'))?.meta.id).toBe(2n);
    expect(t.search(enc('g'))).toBeUndefined();
    expect(t.search(enc('zzz'))?.meta.id).toBe(3n);
    expect(t.searchPrev(enc('d'))?.meta.id).toBe(1n);
    expect(t.searchPrev(enc('a'))).toBeUndefined(); // first region has no previous
    expect(t.searchPrev(enc('g'))).toBeUndefined(); // no region contains g
    expect(t.searchPrev(enc('h'))).toBeUndefined(); // previous region is not adjacent
    expect(t.scan(enc('b'), enc(''), 0).map((r) => r.meta.id)).toEqual([1n, 2n, 3n]);
    expect(t.scan(enc('g'), enc(''), 0).map((r) => r.meta.id)).toEqual([3n]);
    expect(t.scan(enc(''), enc('c'), 0).map((r) => r.meta.id)).toEqual([1n]);
    expect(t.scan(enc(''), enc(''), 2).map((r) => r.meta.id)).toEqual([1n, 2n]);
    // A merged region replaces both it overlaps.
    const removed = t.update(info(4, 'b', 'g'));
    expect(removed.map((r) => r.meta.id)).toEqual([1n, 2n]);
    expect(t.all().map((r) => r.meta.id)).toEqual([4n, 3n]);
    expect(t.overlaps(enc('a'), enc('b'))).toEqual([]);
  });

  it('agrees with a brute-force model under random updates (SIM_SEED)', () => {
    const seeds = process.env['SIM_SEED'] !== undefined ? [BigInt(process.env['SIM_SEED'])] : [11n, 12n, 13n, 14n, 15n];
    for (const seed of seeds) {
      const rng = new SeededRng(seed);
      const t = new RegionTree();
      let model: RegionInfo[] = [];
      const key = (): string => String.fromCharCode(97 + rng.nextInt(26)) + (rng.chance(0.5) ? String.fromCharCode(97 + rng.nextInt(26)) : '');
      const overlapsModel = (r: RegionInfo, s: Uint8Array, e: Uint8Array): boolean =>
        (e.length === 0 || compareBytes(r.meta.startKey, e) < 0) && (r.meta.endKey.length === 0 || compareBytes(s, r.meta.endKey) < 0);
      try {
        for (let i = 0; i < 500; i++) {
          let a = key();
          let b = rng.chance(0.1) ? '' : key();
          if (b !== '' && a > b) [a, b] = [b, a];
          if (a === b) continue;
          if (rng.chance(0.1)) a = '';
          const r = info(i + 1, a, b);
          t.update(r);
          model = model.filter((m) => !overlapsModel(m, r.meta.startKey, r.meta.endKey)).concat([r]);
          model.sort((x, y) => compareBytes(x.meta.startKey, y.meta.startKey));
          expect(t.all().map((x) => x.meta.id)).toEqual(model.map((x) => x.meta.id));
          const k = enc(key());
          const want = model.find((m) => overlapsModel(m, k, new Uint8Array([...k, 0])));
          expect(t.search(k)?.meta.id).toBe(want?.meta.id);
        }
      } catch (e: unknown) {
        throw new Error(`SIM_SEED=${seed}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
    }
  });
});
