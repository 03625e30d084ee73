import { Key, compareBytes } from '@tikv-ts/codec';
import { metapb } from '@tikv-ts/proto';
import {
  EpochNotMatchError,
  KeyNotInRegionError,
  MismatchPeerIdError,
  RaftEntryTooLargeError,
  RegionNotFoundError,
  StoreNotMatchError,
} from './errors';

/** The part of `kvrpcpb.Context` region checks read (any `kvrpcpb.Context` fits). */
export interface RegionContext {
  readonly regionId: bigint;
  readonly regionEpoch: { readonly confVer: bigint; readonly version: bigint } | undefined;
  readonly peer: { readonly id: bigint; readonly storeId: bigint } | undefined;
}

/** How the keys of a request compare with region boundaries. */
export type KeyMode = 'raw' | 'txn';

/** What a request touches, for {@link RegionManager.check}. */
export interface RegionCheck {
  /** Raw keys compare as given with the boundaries; txn keys are memcomparable-encoded first (TiKV API V1). */
  readonly mode: KeyMode;
  /** Point keys; each must be in the region. */
  readonly keys?: readonly Uint8Array[];
  /**
   * A key range `[start, end)` (empty end: unbounded). The start must be in the region; the end
   * is clamped to the region's end (see {@link CheckedRegion.clampedEnd}). With `reverse`, `end`
   * is the inclusive lower bound and `start` the exclusive upper bound, as in reverse scans.
   */
  readonly range?: { readonly start: Uint8Array; readonly end: Uint8Array; readonly reverse?: boolean };
  /** A range both of whose ends must lie within the region (delete range). */
  readonly containedRange?: { readonly start: Uint8Array; readonly end: Uint8Array };
  /** Bytes the write would propose (keys and values); above the limit: RaftEntryTooLarge. */
  readonly writeBytes?: number;
}

/** The outcome of a successful check. */
export interface CheckedRegion {
  readonly region: metapb.Region;
  /**
   * For `range` checks: the range bound clamped to the region, in the request's key form (raw
   * keys; empty = unbounded). Forward: the end; reverse: the lower bound.
   */
  readonly clampedBound: Uint8Array;
}

const EMPTY = new Uint8Array(0);

function boundaryOf(key: Uint8Array, mode: KeyMode): Uint8Array {
  return mode === 'raw' ? key : Key.fromRaw(key).asEncoded();
}

/** Decodes a region boundary back to the request's key form; undecodable boundaries clamp to themselves. */
function rawOfBoundary(boundary: Uint8Array, mode: KeyMode): Uint8Array {
  if (mode === 'raw' || boundary.length === 0) return boundary;
  try {
    return Key.fromEncoded(boundary).toRaw();
  } catch {
    return boundary;
  }
}

/** Whether `key` (already in boundary form) is in `[start, end)` of the region. */
export function isKeyInRegion(key: Uint8Array, region: metapb.Region): boolean {
  return compareBytes(key, region.startKey) >= 0 && (region.endKey.length === 0 || compareBytes(key, region.endKey) < 0);
}

/**
 * The regions this store holds a peer of, by id and by key range, and the checks every
 * region-scoped request goes through (TiKV's `check_store_id`, region lookup, `check_peer_id`,
 * `check_region_epoch`, `check_key_in_region` and the entry size limit). Pure: no I/O; the node
 * persists region state and then updates this structure.
 *
 * Region boundaries are the keys clients use (ARCHITECTURE.md): raw keys for raw requests,
 * memcomparable-encoded keys for transactional ones.
 */
export class RegionManager {
  readonly #storeId: bigint;
  readonly #byId = new Map<bigint, metapb.Region>();
  /** Sorted by start key; ranges never overlap. */
  #sorted: metapb.Region[] = [];
  #raftEntryMaxSizeBytes: number;

  constructor(storeId: bigint, options: { raftEntryMaxSizeBytes: number }) {
    this.#storeId = storeId;
    this.#raftEntryMaxSizeBytes = options.raftEntryMaxSizeBytes;
  }

  /** This store's id. */
  get storeId(): bigint {
    return this.#storeId;
  }

  /** `raftstore.raft-entry-max-size` in bytes. */
  get raftEntryMaxSizeBytes(): number {
    return this.#raftEntryMaxSizeBytes;
  }

  /** Number of regions. */
  get size(): number {
    return this.#byId.size;
  }

  /** Every region, in key order. The returned regions must not be mutated. */
  regions(): readonly metapb.Region[] {
    return this.#sorted;
  }

  /** The region with `id`, or undefined. */
  get(id: bigint): metapb.Region | undefined {
    return this.#byId.get(id);
  }

  /** The region containing `key` (boundary form), or undefined. */
  regionForKey(key: Uint8Array): metapb.Region | undefined {
    let lo = 0;
    let hi = this.#sorted.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.#sorted[mid] as metapb.Region;
      if (compareBytes(key, r.startKey) < 0) hi = mid - 1;
      else if (r.endKey.length !== 0 && compareBytes(key, r.endKey) >= 0) lo = mid + 1;
      else return r;
    }
    return undefined;
  }

  /** This store's peer of `region`, or undefined. */
  peerOf(region: metapb.Region): metapb.Peer | undefined {
    return region.peers.find((p) => p.storeId === this.#storeId);
  }

  /**
   * Inserts regions, replacing those with the same ids.
   * @throws RangeError when a region would overlap another (the structure is left unchanged)
   */
  upsert(...regions: metapb.Region[]): void {
    const next = new Map(this.#byId);
    for (const r of regions) next.set(r.id, r);
    const sorted = [...next.values()].sort((a, b) => compareBytes(a.startKey, b.startKey));
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1] as metapb.Region;
      const cur = sorted[i] as metapb.Region;
      if (prev.endKey.length === 0 || compareBytes(prev.endKey, cur.startKey) > 0) {
        throw new RangeError(`Region ${cur.id} overlaps region ${prev.id}`);
      }
    }
    this.#byId.clear();
    for (const [id, r] of next) this.#byId.set(id, r);
    this.#sorted = sorted;
  }

  /**
   * Checks a request against the store's regions.
   * @throws StoreNotMatchError, RegionNotFoundError, MismatchPeerIdError, EpochNotMatchError,
   *   KeyNotInRegionError, RaftEntryTooLargeError (in that order, as TiKV checks them)
   */
  check(ctx: RegionContext | undefined, what: RegionCheck): CheckedRegion {
    const regionId = ctx?.regionId ?? 0n;
    const peer = ctx?.peer;
    if (peer !== undefined && peer.storeId !== 0n && peer.storeId !== this.#storeId) {
      throw new StoreNotMatchError(peer.storeId, this.#storeId);
    }
    const region = this.#byId.get(regionId);
    if (region === undefined) throw new RegionNotFoundError(regionId);
    if (peer !== undefined && peer.id !== 0n) {
      const mine = this.peerOf(region);
      if (mine !== undefined && mine.id !== peer.id) throw new MismatchPeerIdError(peer.id, mine.id);
    }
    // TiKV checks only the version for reads and writes (conf_ver matters to admin commands).
    const epoch = ctx?.regionEpoch;
    if (epoch === undefined || epoch.version !== (region.regionEpoch?.version ?? 0n)) {
      throw new EpochNotMatchError(epoch, this.#currentRegionsFor(region, epoch?.version ?? 0n));
    }
    if (what.keys !== undefined) {
      for (const k of what.keys) {
        const b = boundaryOf(k, what.mode);
        if (!isKeyInRegion(b, region)) throw new KeyNotInRegionError(k, region);
      }
    }
    let clampedBound: Uint8Array = EMPTY;
    if (what.range !== undefined) {
      clampedBound = this.#checkRange(region, what.range, what.mode);
    }
    if (what.containedRange !== undefined) {
      const { start, end } = what.containedRange;
      const s = boundaryOf(start, what.mode);
      if (!isKeyInRegion(s, region)) throw new KeyNotInRegionError(start, region);
      if (end.length === 0) {
        if (region.endKey.length !== 0) throw new KeyNotInRegionError(end, region);
      } else {
        const e = boundaryOf(end, what.mode);
        if (compareBytes(e, region.startKey) < 0 || (region.endKey.length !== 0 && compareBytes(e, region.endKey) > 0)) {
          throw new KeyNotInRegionError(end, region);
        }
      }
    }
    if (what.writeBytes !== undefined && what.writeBytes > this.#raftEntryMaxSizeBytes) {
      throw new RaftEntryTooLargeError(region.id, what.writeBytes, this.#raftEntryMaxSizeBytes);
    }
    return { region, clampedBound };
  }

  #checkRange(region: metapb.Region, range: NonNullable<RegionCheck['range']>, mode: KeyMode): Uint8Array {
    if (range.reverse === true) {
      // Upper bound (exclusive) is `start`: it must be within (region.start, region.end].
      if (range.start.length === 0) {
        if (region.endKey.length !== 0) throw new KeyNotInRegionError(range.start, region);
      } else {
        const u = boundaryOf(range.start, mode);
        if (compareBytes(u, region.startKey) <= 0 || (region.endKey.length !== 0 && compareBytes(u, region.endKey) > 0)) {
          throw new KeyNotInRegionError(range.start, region);
        }
      }
      const lower = range.end.length === 0 ? EMPTY : boundaryOf(range.end, mode);
      if (compareBytes(lower, region.startKey) < 0) return rawOfBoundary(region.startKey, mode);
      return range.end;
    }
    const s = boundaryOf(range.start, mode);
    if (!isKeyInRegion(s, region)) throw new KeyNotInRegionError(range.start, region);
    if (region.endKey.length === 0) return range.end;
    if (range.end.length === 0 || compareBytes(boundaryOf(range.end, mode), region.endKey) > 0) {
      return rawOfBoundary(region.endKey, mode);
    }
    return range.end;
  }

  /**
   * The region and the regions split from it since the request's epoch (TiKV's
   * `collect_sibling_region`): adjacent regions, on both sides, whose version is newer than the
   * requested one, at most 10, so that a client learns a split's result in one round trip.
   */
  #currentRegionsFor(region: metapb.Region, requestedVersion: bigint): metapb.Region[] {
    const out = [region];
    const idx = this.#sorted.indexOf(region);
    for (const step of [-1, 1]) {
      let prev = region;
      for (let i = idx + step; i >= 0 && i < this.#sorted.length && out.length < 10; i += step) {
        const r = this.#sorted[i] as metapb.Region;
        const adjacent = step < 0 ? compareBytes(r.endKey, prev.startKey) === 0 : compareBytes(prev.endKey, r.startKey) === 0;
        if (!adjacent || (r.regionEpoch?.version ?? 0n) <= requestedVersion) break;
        out.push(r);
        prev = r;
      }
    }
    return out;
  }
}

/** A copy of `region` (metapb messages are mutable objects). */
export function cloneRegion(region: metapb.Region): metapb.Region {
  return metapb.Region.decode(metapb.Region.encode(region).finish());
}
