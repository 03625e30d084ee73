import { Key } from '@tikv-ts/codec';
import { metapb } from '@tikv-ts/proto';
import {
  EpochNotMatchError,
  KeyNotInRegionError,
  MismatchPeerIdError,
  RaftEntryTooLargeError,
  RegionNotFoundError,
  StoreNotMatchError,
  toRegionError,
} from './errors';
import { RegionManager } from './region-manager';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function region(id: bigint, start: string | Uint8Array, end: string | Uint8Array, version = 1n, peerId = id * 10n): metapb.Region {
  return metapb.Region.fromPartial({
    id,
    startKey: typeof start === 'string' ? enc(start) : start,
    endKey: typeof end === 'string' ? enc(end) : end,
    regionEpoch: { confVer: 1n, version },
    peers: [{ id: peerId, storeId: 1n }],
  });
}

function ctx(r: metapb.Region, patch: object = {}): { regionId: bigint; regionEpoch: metapb.RegionEpoch | undefined; peer: metapb.Peer | undefined } {
  return { regionId: r.id, regionEpoch: r.regionEpoch, peer: r.peers[0], ...patch };
}

function manager(...regions: metapb.Region[]): RegionManager {
  const m = new RegionManager(1n, { raftEntryMaxSizeBytes: 100 });
  m.upsert(...regions);
  return m;
}

describe('RegionManager', () => {
  const left = region(2n, '', 'm', 3n);
  const right = region(3n, 'm', '', 3n);

  it('finds regions by id and by key', () => {
    const m = manager(left, right);
    expect(m.regionForKey(enc('a'))?.id).toBe(2n);
    expect(m.regionForKey(enc('m'))?.id).toBe(3n);
    expect(m.regionForKey(enc('zzz'))?.id).toBe(3n);
    expect(m.get(3n)).toBe(right);
    expect(m.regions().map((r) => r.id)).toEqual([2n, 3n]);
  });

  it('refuses overlapping regions and leaves the structure unchanged', () => {
    const m = manager(left, right);
    expect(() => m.upsert(region(9n, 'k', 'p'))).toThrow(RangeError);
    expect(m.size).toBe(2);
  });

  it('checks the store, then the region, the peer, the epoch, the keys and the size, in that order', () => {
    const m = manager(left, right);
    expect(() => m.check(ctx(left, { peer: { id: 20n, storeId: 7n }, regionId: 99n }), { mode: 'raw' })).toThrow(StoreNotMatchError);
    expect(() => m.check(ctx(left, { regionId: 99n }), { mode: 'raw' })).toThrow(RegionNotFoundError);
    expect(() => m.check(undefined, { mode: 'raw' })).toThrow(RegionNotFoundError);
    expect(() => m.check(ctx(left, { peer: { id: 21n, storeId: 1n } }), { mode: 'raw' })).toThrow(MismatchPeerIdError);
    expect(() => m.check(ctx(left, { regionEpoch: { confVer: 1n, version: 2n } }), { mode: 'raw', keys: [enc('z')] })).toThrow(EpochNotMatchError);
    // conf_ver is not checked for reads and writes (TiKV).
    expect(() => m.check(ctx(left, { regionEpoch: { confVer: 5n, version: 3n } }), { mode: 'raw' })).not.toThrow();
    expect(() => m.check(ctx(left), { mode: 'raw', keys: [enc('a'), enc('m')] })).toThrow(KeyNotInRegionError);
    expect(() => m.check(ctx(left), { mode: 'raw', keys: [enc('a')], writeBytes: 101 })).toThrow(RaftEntryTooLargeError);
    expect(m.check(ctx(left), { mode: 'raw', keys: [enc('a')], writeBytes: 100 }).region).toBe(left);
  });

  it('epoch_not_match carries the regions split since the requested version', () => {
    const a = region(4n, '', 'g', 5n);
    const b = region(5n, 'g', 'm', 5n);
    const c = region(2n, 'm', '', 5n);
    const m = manager(a, b, c);
    let err: unknown;
    try {
      m.check(ctx(c, { regionEpoch: { confVer: 1n, version: 3n } }), { mode: 'raw' });
    } catch (e: unknown) {
      err = e;
    }
    expect(err).toBeInstanceOf(EpochNotMatchError);
    expect((err as EpochNotMatchError).currentRegions.map((r) => r.id)).toEqual([2n, 5n, 4n]);
    const pb = toRegionError(err);
    expect(pb?.epochNotMatch?.currentRegions.map((r) => r.id)).toEqual([2n, 5n, 4n]);
  });

  it('compares transactional keys in their encoded form', () => {
    const split = Key.fromRaw(enc('m')).asEncoded();
    const l = region(2n, '', split);
    const r = region(3n, split, '');
    const m = manager(l, r);
    expect(() => m.check(ctx(l), { mode: 'txn', keys: [enc('l')] })).not.toThrow();
    expect(() => m.check(ctx(l), { mode: 'txn', keys: [enc('m')] })).toThrow(KeyNotInRegionError);
    // Scans are clamped to the region, in raw form.
    expect(m.check(ctx(l), { mode: 'txn', range: { start: enc('a'), end: new Uint8Array(0) } }).clampedBound).toEqual(enc('m'));
    expect(m.check(ctx(r), { mode: 'txn', range: { start: enc('z'), end: enc('a'), reverse: true } }).clampedBound).toEqual(enc('m'));
  });

  it('clamps raw scans and checks delete ranges', () => {
    const m = manager(left, right);
    expect(m.check(ctx(left), { mode: 'raw', range: { start: enc('a'), end: enc('x') } }).clampedBound).toEqual(enc('m'));
    expect(m.check(ctx(left), { mode: 'raw', range: { start: enc('a'), end: enc('c') } }).clampedBound).toEqual(enc('c'));
    expect(m.check(ctx(right), { mode: 'raw', range: { start: enc('x'), end: new Uint8Array(0) } }).clampedBound).toEqual(new Uint8Array(0));
    expect(() => m.check(ctx(right), { mode: 'raw', range: { start: enc('a'), end: enc('z') } })).toThrow(KeyNotInRegionError);
    // Reverse: the upper bound must be within (start, end].
    expect(m.check(ctx(left), { mode: 'raw', range: { start: enc('m'), end: new Uint8Array(0), reverse: true } }).clampedBound).toEqual(new Uint8Array(0));
    expect(() => m.check(ctx(left), { mode: 'raw', range: { start: enc('n'), end: enc('a'), reverse: true } })).toThrow(KeyNotInRegionError);
    expect(() => m.check(ctx(left), { mode: 'raw', containedRange: { start: enc('a'), end: enc('m') } })).not.toThrow();
    expect(() => m.check(ctx(left), { mode: 'raw', containedRange: { start: enc('a'), end: enc('n') } })).toThrow(KeyNotInRegionError);
    expect(() => m.check(ctx(left), { mode: 'raw', containedRange: { start: enc('a'), end: new Uint8Array(0) } })).toThrow(KeyNotInRegionError);
  });

  it('maps every region error to its errorpb variant', () => {
    expect(toRegionError(new RegionNotFoundError(5n))?.regionNotFound?.regionId).toBe(5n);
    expect(toRegionError(new StoreNotMatchError(2n, 1n))?.storeNotMatch).toEqual({ requestStoreId: 2n, actualStoreId: 1n });
    expect(toRegionError(new MismatchPeerIdError(2n, 1n))?.mismatchPeerId).toEqual({ requestPeerId: 2n, storePeerId: 1n });
    expect(toRegionError(new RaftEntryTooLargeError(3n, 200, 100))?.raftEntryTooLarge).toEqual({ regionId: 3n, entrySize: 200n });
    const k = toRegionError(new KeyNotInRegionError(enc('z'), left));
    expect(k?.keyNotInRegion).toEqual({ key: enc('z'), regionId: 2n, startKey: new Uint8Array(0), endKey: enc('m') });
    expect(k?.message).toMatch(/Key 7a is not in region 2/);
    expect(toRegionError(new Error('other'))).toBeUndefined();
  });
});
