import { compareBytes } from '@tikv-ts/codec';
import type { metapb, pdpb } from '@tikv-ts/proto';

/** What PD knows about a region: its metadata and what its leader last reported. */
export interface RegionInfo {
  /** The region's metadata (range, epoch, peers). Treat as immutable: replaced on update. */
  readonly meta: metapb.Region;
  /** The leader peer, if known. */
  readonly leader: metapb.Peer | undefined;
  /** Peers the leader reports as down, with how long. */
  readonly downPeers: readonly pdpb.PeerStats[];
  /** Peers the leader reports as lagging behind (pending). */
  readonly pendingPeers: readonly metapb.Peer[];
  /** Raft term of the leader's report (0 when unknown). */
  readonly term: bigint;
  /** Flow and size statistics of the last heartbeat. */
  readonly stats: RegionStats;
}

/** Statistics a region heartbeat carries. */
export interface RegionStats {
  readonly bytesWritten: bigint;
  readonly bytesRead: bigint;
  readonly keysWritten: bigint;
  readonly keysRead: bigint;
  readonly approximateSize: bigint;
  readonly approximateKeys: bigint;
}

/** Empty statistics. */
export const EMPTY_REGION_STATS: RegionStats = Object.freeze({
  bytesWritten: 0n,
  bytesRead: 0n,
  keysWritten: 0n,
  keysRead: 0n,
  approximateSize: 0n,
  approximateKeys: 0n,
});

/** `end` of a region as an upper bound: the empty end key means +infinity. */
function endBefore(end: Uint8Array, key: Uint8Array): boolean {
  // true when the range ending at `end` lies entirely before `key` (end <= key)
  return end.length !== 0 && compareBytes(end, key) <= 0;
}

/**
 * The regions of the cluster ordered by start key: PD's region tree. Ranges never overlap:
 * {@link update} removes the regions a new one overlaps (they were split or merged away, or are
 * stale). Lookups are binary searches (O(log n)); updates move array slots (O(n), fine for the
 * hundreds of thousands of regions a PD holds).
 *
 * The tree does not check epochs; the caller ({@link ClusterState}) decides whether an update is
 * stale before calling {@link update}.
 */
export class RegionTree {
  #items: RegionInfo[] = [];

  /** Number of regions. */
  get size(): number {
    return this.#items.length;
  }

  /** Index of the last region whose start key is `<= key`, or -1. */
  #floor(key: Uint8Array): number {
    let lo = 0;
    let hi = this.#items.length - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const item = this.#items[mid];
      if (item !== undefined && compareBytes(item.meta.startKey, key) <= 0) {
        ans = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return ans;
  }

  /** The region whose range `[start, end)` contains `key`, if any. */
  search(key: Uint8Array): RegionInfo | undefined {
    const i = this.#floor(key);
    const item = i >= 0 ? this.#items[i] : undefined;
    if (item === undefined || endBefore(item.meta.endKey, key)) return undefined;
    return item;
  }

  /**
   * The region just before the one containing `key`: the one whose end key is that region's
   * start key. `undefined` when no region contains `key`, or when the region before it is not
   * adjacent (a hole), as PD's searchPrev answers.
   */
  searchPrev(key: Uint8Array): RegionInfo | undefined {
    const i = this.#floor(key);
    const cur = i >= 0 ? this.#items[i] : undefined;
    if (cur === undefined || endBefore(cur.meta.endKey, key)) return undefined;
    const prev = i > 0 ? this.#items[i - 1] : undefined;
    if (prev === undefined || compareBytes(prev.meta.endKey, cur.meta.startKey) !== 0) return undefined;
    return prev;
  }

  /** Regions overlapping `[start, end)` (empty `end`: +infinity), in key order. */
  overlaps(start: Uint8Array, end: Uint8Array): RegionInfo[] {
    const out: RegionInfo[] = [];
    let i = this.#floor(start);
    if (i < 0) i = 0;
    for (; i < this.#items.length; i++) {
      const item = this.#items[i];
      if (item === undefined) break;
      if (end.length !== 0 && compareBytes(item.meta.startKey, end) >= 0) break;
      if (endBefore(item.meta.endKey, start)) continue;
      out.push(item);
    }
    return out;
  }

  /**
   * Inserts or replaces `region` (matched by range, not id) and removes every region its range
   * overlaps. Returns the removed regions (the old version of the same region included).
   */
  update(region: RegionInfo): RegionInfo[] {
    const removed = this.overlaps(region.meta.startKey, region.meta.endKey);
    if (removed.length > 0) {
      const first = this.#items.indexOf(removed[0] as RegionInfo);
      this.#items.splice(first, removed.length);
    }
    const at = this.#floor(region.meta.startKey) + 1;
    this.#items.splice(at, 0, region);
    return removed;
  }

  /** Replaces the entry of a region in place when its range is unchanged (leader or stats update). */
  replaceSameRange(region: RegionInfo): boolean {
    const i = this.#floor(region.meta.startKey);
    const item = i >= 0 ? this.#items[i] : undefined;
    if (item === undefined || item.meta.id !== region.meta.id) return false;
    if (compareBytes(item.meta.startKey, region.meta.startKey) !== 0 || compareBytes(item.meta.endKey, region.meta.endKey) !== 0) {
      return false;
    }
    this.#items[i] = region;
    return true;
  }

  /** Removes the entry of `region` (by identity of its range and id); returns whether it was there. */
  remove(region: RegionInfo): boolean {
    const i = this.#floor(region.meta.startKey);
    const item = i >= 0 ? this.#items[i] : undefined;
    if (item === undefined || item.meta.id !== region.meta.id) return false;
    this.#items.splice(i, 1);
    return true;
  }

  /**
   * Regions from the one containing `start` (or the first one after it) whose start key is
   * below `end` (empty `end`: no bound), at most `limit` (0 or negative: no limit).
   */
  scan(start: Uint8Array, end: Uint8Array, limit: number): RegionInfo[] {
    const out: RegionInfo[] = [];
    let i = this.#floor(start);
    if (i < 0) i = 0;
    const first = this.#items[i];
    if (first !== undefined && endBefore(first.meta.endKey, start)) i++;
    for (; i < this.#items.length; i++) {
      if (limit > 0 && out.length >= limit) break;
      const item = this.#items[i];
      if (item === undefined) break;
      if (end.length !== 0 && compareBytes(item.meta.startKey, end) >= 0) break;
      out.push(item);
    }
    return out;
  }

  /** Every region in key order (a copy). */
  all(): RegionInfo[] {
    return this.#items.slice();
  }
}
