import { compareBytes, toHex } from '@tikv-ts/codec';
import type { metapb } from '@tikv-ts/proto';
import { TikvError } from '@tikv-ts/util';
import type { PdCallOptions, PdClient } from './pd-client';

/** A cached region with the peer believed to lead it. */
export interface CachedRegion {
  readonly region: metapb.Region;
  /** Undefined when the leader is unknown (send to any peer and follow NotLeader hints). */
  readonly leader: metapb.Peer | undefined;
}

/** The part of {@link PdClient} a {@link RegionCache} loads through. */
export type RegionSource = Pick<PdClient, 'getRegion' | 'getPrevRegion' | 'getRegionById'>;

/** PD knows no region for the key or id asked for (a cluster not bootstrapped, or a region gone). */
export class RegionNotLoadedError extends TikvError {
  readonly code = 'KV:PD:RegionNotFound';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Whether `key` lies in `[start, end)` (an empty end is +∞). */
function containsKey(region: metapb.Region, key: Uint8Array): boolean {
  return compareBytes(region.startKey, key) <= 0 && (region.endKey.length === 0 || compareBytes(key, region.endKey) < 0);
}

/** Whether `key` lies in `(start, end]` (an empty end is +∞): the region a range ending at `key` ends in. */
function containsEndKey(region: metapb.Region, key: Uint8Array): boolean {
  if (key.length === 0) return region.endKey.length === 0;
  return compareBytes(region.startKey, key) < 0 && (region.endKey.length === 0 || compareBytes(key, region.endKey) <= 0);
}

function overlaps(a: metapb.Region, b: metapb.Region): boolean {
  const aEndsBeforeB = a.endKey.length !== 0 && compareBytes(a.endKey, b.startKey) <= 0;
  const bEndsBeforeA = b.endKey.length !== 0 && compareBytes(b.endKey, a.startKey) <= 0;
  return !aEndsBeforeB && !bEndsBeforeA;
}

function isNewer(a: metapb.Region, b: metapb.Region): boolean {
  const av = a.regionEpoch?.version ?? 0n;
  const bv = b.regionEpoch?.version ?? 0n;
  if (av !== bv) return av > bv;
  return (a.regionEpoch?.confVer ?? 0n) > (b.regionEpoch?.confVer ?? 0n);
}

/**
 * Client-side cache of region routes (`{region, leader}`) by key range, kept sorted by start key
 * with codec's `compareBytes` (the one key order). Entries never overlap: inserting a region
 * removes every cached region overlapping its range, unless one of those is newer (higher epoch
 * version, then conf version), in which case the insert is ignored as stale.
 *
 * Misses load through the PdClient (`GetRegion`, `GetPrevRegion`, `GetRegionByID`). Region
 * errors from TiKV invalidate or correct entries:
 * - `NotLeader` → {@link onNotLeader}: a leader that is one of the region's peers replaces the
 *   cached leader; no leader, or one outside the cached peers, drops the entry (reload from PD).
 * - `EpochNotMatch` → {@link onEpochNotMatch}: the stale entry goes, the `current_regions` TiKV
 *   sent are inserted; with none, the next lookup reloads from PD.
 * - `RegionNotFound`, `KeyNotInRegion`, `StoreNotMatch`, send failures → {@link invalidate}.
 *
 * Lookups are O(log n). No TTL: entries live until a region error says otherwise, which is how
 * every request learns of changes anyway.
 */
export class RegionCache {
  readonly #pd: RegionSource;
  /** Sorted by start key, non-overlapping. */
  #sorted: CachedRegion[] = [];
  readonly #byId = new Map<bigint, CachedRegion>();
  #loads = 0;

  constructor(pd: RegionSource) {
    this.#pd = pd;
  }

  /** Number of cached regions. */
  get size(): number {
    return this.#sorted.length;
  }

  /** Loads from PD so far (misses). */
  get loads(): number {
    return this.#loads;
  }

  /**
   * The region containing `key` (`start <= key < end`), from the cache or loaded from PD.
   * @throws RegionNotLoadedError when PD knows no such region; PD client errors as they come
   */
  async locateKey(key: Uint8Array, options: PdCallOptions = {}): Promise<CachedRegion> {
    const hit = this.findByKey(key);
    if (hit !== undefined) return hit;
    this.#loads++;
    const info = await this.#pd.getRegion(key, options);
    if (info === undefined) throw new RegionNotLoadedError(`PD knows no region for key ${key.length === 0 ? '(empty)' : toHex(key)}`);
    return this.insert(info.region, info.leader);
  }

  /**
   * The region in which a range ending at `key` (exclusive) ends: `start < key <= end`; for an
   * empty `key` (+∞), the last region. Loads through `GetPrevRegion` on a miss (for the last
   * region, `GetRegion` of the empty key's predecessor is not expressible, so it uses
   * `GetPrevRegion` of the empty key as PD defines it).
   * @throws RegionNotLoadedError when PD knows no such region
   */
  async locateEndKey(key: Uint8Array, options: PdCallOptions = {}): Promise<CachedRegion> {
    const hit = this.findByEndKey(key);
    if (hit !== undefined) return hit;
    this.#loads++;
    const info = await this.#pd.getPrevRegion(key, options);
    if (info === undefined || !containsEndKey(info.region, key)) {
      // PD's GetPrevRegion answers the region before the one containing `key`; when `key` is a
      // region's start that is exactly the one ending at `key`. Otherwise `key` is inside a
      // region, which is the one we want.
      if (key.length === 0) throw new RegionNotLoadedError('PD knows no last region');
      const inside = await this.#pd.getRegion(key, options);
      if (inside === undefined || !containsEndKey(inside.region, key)) {
        if (info !== undefined) this.insert(info.region, info.leader);
        throw new RegionNotLoadedError(`PD knows no region ending at or after key ${key.length === 0 ? '(empty)' : toHex(key)}`);
      }
      return this.insert(inside.region, inside.leader);
    }
    return this.insert(info.region, info.leader);
  }

  /**
   * A region by id, from the cache or loaded from PD.
   * @throws RegionNotLoadedError when PD knows no region with this id
   */
  async getRegionById(regionId: bigint, options: PdCallOptions = {}): Promise<CachedRegion> {
    const hit = this.#byId.get(regionId);
    if (hit !== undefined) return hit;
    this.#loads++;
    const info = await this.#pd.getRegionById(regionId, options);
    if (info === undefined) throw new RegionNotLoadedError(`PD knows no region ${regionId}`);
    return this.insert(info.region, info.leader);
  }

  /**
   * Every region overlapping `[startKey, endKey)` (empty end = +∞) in key order, loading the
   * gaps from PD one region at a time.
   */
  async locateRange(startKey: Uint8Array, endKey: Uint8Array, options: PdCallOptions = {}): Promise<CachedRegion[]> {
    const out: CachedRegion[] = [];
    let cursor = startKey;
    for (;;) {
      const r = await this.locateKey(cursor, options);
      out.push(r);
      const end = r.region.endKey;
      if (end.length === 0 || (endKey.length !== 0 && compareBytes(end, endKey) >= 0)) return out;
      cursor = end;
    }
  }

  /** The cached region containing `key`, without loading. */
  findByKey(key: Uint8Array): CachedRegion | undefined {
    // Last entry with start <= key.
    let lo = 0;
    let hi = this.#sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes((this.#sorted[mid] as CachedRegion).region.startKey, key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    const candidate = this.#sorted[lo - 1];
    return candidate !== undefined && containsKey(candidate.region, key) ? candidate : undefined;
  }

  /** The cached region in which a range ending at `key` ends (`start < key <= end`), without loading. */
  findByEndKey(key: Uint8Array): CachedRegion | undefined {
    if (key.length === 0) {
      const last = this.#sorted[this.#sorted.length - 1];
      return last !== undefined && last.region.endKey.length === 0 ? last : undefined;
    }
    // Last entry with start < key.
    let lo = 0;
    let hi = this.#sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes((this.#sorted[mid] as CachedRegion).region.startKey, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    const candidate = this.#sorted[lo - 1];
    return candidate !== undefined && containsEndKey(candidate.region, key) ? candidate : undefined;
  }

  /** The cached region with this id, without loading. */
  findById(regionId: bigint): CachedRegion | undefined {
    return this.#byId.get(regionId);
  }

  /**
   * Puts a region into the cache (replacing every overlapping entry), unless an overlapping
   * cached entry is newer. Returns the entry for `region` either way (a stale insert returns the
   * given region uncached, so the caller still gets an answer).
   */
  insert(region: metapb.Region, leader: metapb.Peer | undefined): CachedRegion {
    const entry: CachedRegion = { region, leader: leader !== undefined && leader.id !== 0n ? leader : undefined };
    const overlapping = this.#sorted.filter((c) => overlaps(c.region, region));
    if (overlapping.some((c) => isNewer(c.region, region))) return entry;
    for (const c of overlapping) this.#remove(c);
    const existing = this.#byId.get(region.id);
    if (existing !== undefined) this.#remove(existing);
    // Insert at the sorted position.
    let lo = 0;
    let hi = this.#sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes((this.#sorted[mid] as CachedRegion).region.startKey, region.startKey) < 0) lo = mid + 1;
      else hi = mid;
    }
    this.#sorted.splice(lo, 0, entry);
    this.#byId.set(region.id, entry);
    return entry;
  }

  /**
   * TiKV answered NotLeader for `regionId`. With a `leader` that is a peer of the cached region,
   * the cached leader becomes that peer (returns true). Otherwise the entry is dropped so the
   * next lookup asks PD (returns false).
   */
  onNotLeader(regionId: bigint, leader?: metapb.Peer): boolean {
    const cached = this.#byId.get(regionId);
    if (cached === undefined) return false;
    if (leader !== undefined && leader.id !== 0n) {
      const peer = cached.region.peers.find((p) => p.id === leader.id && p.storeId === leader.storeId);
      if (peer !== undefined) {
        const updated: CachedRegion = { region: cached.region, leader: peer };
        const i = this.#sorted.indexOf(cached);
        if (i >= 0) this.#sorted[i] = updated;
        this.#byId.set(regionId, updated);
        return true;
      }
    }
    this.#remove(cached);
    return false;
  }

  /**
   * TiKV answered EpochNotMatch for `regionId` with its `currentRegions` (the regions now covering
   * the old range, e.g. both halves of a split). The stale entry is dropped and each current
   * region is inserted (leaderless unless the old leader's peer is still among its peers).
   */
  onEpochNotMatch(regionId: bigint, currentRegions: readonly metapb.Region[]): void {
    const cached = this.#byId.get(regionId);
    if (cached !== undefined) this.#remove(cached);
    const oldLeader = cached?.leader;
    for (const region of currentRegions) {
      const leader = oldLeader === undefined ? undefined : region.peers.find((p) => p.storeId === oldLeader.storeId && p.id === oldLeader.id);
      this.insert(region, leader);
    }
  }

  /** Drops the entry of `regionId` (RegionNotFound, KeyNotInRegion, StoreNotMatch, send failures). */
  invalidate(regionId: bigint): void {
    const cached = this.#byId.get(regionId);
    if (cached !== undefined) this.#remove(cached);
  }

  /** Drops every entry whose leader is on `storeId` (the store went down or changed address). */
  invalidateStore(storeId: bigint): void {
    for (const c of [...this.#sorted]) if (c.leader?.storeId === storeId) this.#remove(c);
  }

  /** Drops everything. */
  clear(): void {
    this.#sorted = [];
    this.#byId.clear();
  }

  /** Every cached entry in key order (a copy). */
  entries(): CachedRegion[] {
    return [...this.#sorted];
  }

  #remove(entry: CachedRegion): void {
    const i = this.#sorted.indexOf(entry);
    if (i >= 0) this.#sorted.splice(i, 1);
    if (this.#byId.get(entry.region.id) === entry) this.#byId.delete(entry.region.id);
  }
}
