import { compareBytes, decodeBytes, encodeBytes } from '@tikv-ts/codec';
import type { PdClient } from '@tikv-ts/pd-client';
import { RegionCache, StoreCache } from '@tikv-ts/pd-client';
import { kvrpcpb, type errorpb, type metapb } from '@tikv-ts/proto';
import type { Clock } from '@tikv-ts/util';
import { ClientTimeoutError, RegionError, RegionUnavailableError } from './errors';
import type { RequestOf, ResponseOf, TikvTransport, UnaryMethod } from './transport';

const EMPTY = new Uint8Array(0);

/** Kinds of waits, each with its own exponential schedule (client-go's backoff configs, shortened). */
export type BackoffKind = 'regionMiss' | 'rpc' | 'serverBusy' | 'txnLock' | 'staleCmd' | 'notLeader';

const SCHEDULES: Record<BackoffKind, { base: number; cap: number }> = {
  regionMiss: { base: 2, cap: 500 },
  notLeader: { base: 2, cap: 500 },
  rpc: { base: 100, cap: 2000 },
  serverBusy: { base: 100, cap: 2000 },
  staleCmd: { base: 2, cap: 1000 },
  txnLock: { base: 100, cap: 3000 },
};

/**
 * The retry budget of one operation: every wait goes through it; when the total time slept
 * would exceed `budgetMs` it throws instead (client-go's Backoffer, deterministic: no jitter).
 */
export class Backoffer {
  readonly #clock: Clock;
  readonly #budgetMs: number;
  #sleptMs = 0;
  readonly #attempts = new Map<BackoffKind, number>();

  constructor(clock: Clock, budgetMs: number) {
    this.#clock = clock;
    this.#budgetMs = budgetMs;
  }

  /** Total ms slept so far. */
  get sleptMs(): number {
    return this.#sleptMs;
  }

  /**
   * Sleeps the next delay of `kind` (at most `maxMs` when given).
   * @throws `onExhausted()` (default {@link ClientTimeoutError}) when the budget is spent
   */
  async backoff(kind: BackoffKind, cause: unknown, options: { maxMs?: number; onExhausted?: () => Error } = {}): Promise<void> {
    const n = this.#attempts.get(kind) ?? 0;
    this.#attempts.set(kind, n + 1);
    const s = SCHEDULES[kind];
    let delay = Math.min(s.cap, s.base * 2 ** n);
    if (options.maxMs !== undefined) delay = Math.max(1, Math.min(delay, options.maxMs));
    if (this.#sleptMs + delay > this.#budgetMs) {
      throw options.onExhausted?.() ?? new ClientTimeoutError(`Gave up after backing off ${this.#sleptMs} ms (${kind})`, { cause });
    }
    this.#sleptMs += delay;
    await this.#clock.sleep(delay);
  }
}

/** A region located for a request, with its range in the caller's key form. */
export interface Location {
  readonly region: metapb.Region;
  readonly leader: metapb.Peer | undefined;
  /** Inclusive start in user-key form (empty: -∞). */
  readonly start: Uint8Array;
  /** Exclusive end in user-key form (empty: +∞). */
  readonly end: Uint8Array;
}

/** Options of {@link KvCluster}. */
export interface KvClusterOptions {
  readonly pd: PdClient;
  readonly clock: Clock;
  readonly transport: TikvTransport;
  /** `'txn'` keys are memcomparable-encoded to find their region (TiKV API V1), `'raw'` are not. */
  readonly mode: 'raw' | 'txn';
  /** Deadline of one RPC attempt (ms). */
  readonly requestTimeoutMs: number;
}

/** Outcome of {@link KvCluster.send}: the response, or `undefined` when the caller must re-locate and retry. */
export type SendResult<M extends UnaryMethod> = ResponseOf<M> | undefined;

interface HasRegionError {
  regionError?: errorpb.Error | undefined;
}

/**
 * Region routing shared by the raw and transactional clients: locates keys through a
 * {@link RegionCache}, builds the request `Context`, sends to the leader's store and applies
 * TiKV's region errors to the cache (PROTOCOL.md §5).
 */
export class KvCluster {
  readonly pd: PdClient;
  readonly clock: Clock;
  readonly regions: RegionCache;
  readonly stores: StoreCache;
  readonly #transport: TikvTransport;
  readonly #mode: 'raw' | 'txn';
  readonly #timeoutMs: number;

  constructor(o: KvClusterOptions) {
    this.pd = o.pd;
    this.clock = o.clock;
    this.#transport = o.transport;
    this.#mode = o.mode;
    this.#timeoutMs = o.requestTimeoutMs;
    this.regions = new RegionCache(o.pd);
    this.stores = new StoreCache(o.pd);
  }

  #toBoundary(key: Uint8Array): Uint8Array {
    return this.#mode === 'raw' ? key : encodeBytes(key);
  }

  #fromBoundary(b: Uint8Array): Uint8Array {
    if (this.#mode === 'raw' || b.length === 0) return b;
    try {
      return decodeBytes(b).value;
    } catch {
      return b;
    }
  }

  #loc(c: { region: metapb.Region; leader: metapb.Peer | undefined }): Location {
    return { region: c.region, leader: c.leader, start: this.#fromBoundary(c.region.startKey), end: this.#fromBoundary(c.region.endKey) };
  }

  /** The region containing `key` (user form). */
  async locate(key: Uint8Array): Promise<Location> {
    return this.#loc(await this.regions.locateKey(this.#toBoundary(key)));
  }

  /** The region a range ending (exclusively) at `key` ends in; empty `key`: the last region. */
  async locateEnd(key: Uint8Array): Promise<Location> {
    return this.#loc(await this.regions.locateEndKey(key.length === 0 ? EMPTY : this.#toBoundary(key)));
  }

  /** Groups items by the region of their key, in key order of the first item of each group. */
  async groupByRegion<T>(items: readonly T[], keyOf: (t: T) => Uint8Array): Promise<{ loc: Location; items: T[] }[]> {
    const sorted = [...items].sort((a, b) => compareBytes(keyOf(a), keyOf(b)));
    const groups: { loc: Location; items: T[] }[] = [];
    let cur: { loc: Location; items: T[] } | undefined;
    for (const it of sorted) {
      const k = keyOf(it);
      if (cur !== undefined && inRange(cur.loc, k)) {
        cur.items.push(it);
        continue;
      }
      cur = { loc: await this.locate(k), items: [it] };
      groups.push(cur);
    }
    return groups;
  }

  /** The `Context` of a request to `loc` (its leader, or its first peer when the leader is unknown). */
  context(loc: Location, patch: Partial<kvrpcpb.Context> = {}): kvrpcpb.Context {
    const peer = loc.leader ?? loc.region.peers[0];
    return kvrpcpb.Context.fromPartial({ regionId: loc.region.id, regionEpoch: loc.region.regionEpoch, peer, ...patch });
  }

  /**
   * Sends one request to the region of `loc`. A region error or a send failure is applied to
   * the caches, backed off as TiKV's clients do, and reported as `undefined`: the caller
   * re-locates its keys (the region may have split) and retries.
   * @throws RegionError for region errors no retry can fix; the backoffer's error when the budget is spent
   */
  async send<M extends UnaryMethod>(
    loc: Location,
    method: M,
    build: (ctx: kvrpcpb.Context) => RequestOf<M>,
    bo: Backoffer,
    ctxPatch: Partial<kvrpcpb.Context> = {},
  ): Promise<SendResult<M>> {
    const peer = loc.leader ?? loc.region.peers[0];
    const unavailable = (cause: unknown) => (): Error => new RegionUnavailableError(loc.region.id, `Region ${loc.region.id} unavailable after ${bo.sleptMs} ms of retries`, { cause });
    if (peer === undefined) {
      this.regions.invalidate(loc.region.id);
      await bo.backoff('regionMiss', undefined, { onExhausted: unavailable(undefined) });
      return undefined;
    }
    let res: ResponseOf<M>;
    try {
      const addr = await this.stores.getStoreAddress(peer.storeId);
      res = await this.#transport.call(addr, method, build(this.context(loc, ctxPatch)), this.#timeoutMs);
    } catch (e) {
      // Send failure: the store may be down or the region moved. Drop what we know and retry.
      this.regions.invalidate(loc.region.id);
      this.stores.invalidate(peer.storeId);
      await bo.backoff('rpc', e, { onExhausted: unavailable(e) });
      return undefined;
    }
    const regionError = (res as HasRegionError).regionError;
    if (regionError === undefined) return res;
    await this.onRegionError(loc, regionError, bo, unavailable(new RegionError(regionError)));
    return undefined;
  }

  /** Applies a region error (PROTOCOL.md §5) and waits as needed. */
  async onRegionError(loc: Location, e: errorpb.Error, bo: Backoffer, onExhausted: () => Error): Promise<void> {
    const id = loc.region.id;
    const opts = { onExhausted };
    if (e.notLeader !== undefined) {
      const leader = e.notLeader.leader;
      if (leader !== undefined && leader.id !== 0n && this.regions.onNotLeader(id, leader)) {
        // Retry at once on the new leader, but make a leader ping-pong still consume budget.
        await bo.backoff('notLeader', e, { ...opts, maxMs: 1 });
        return;
      }
      this.regions.invalidate(id);
      await bo.backoff('notLeader', e, opts);
      return;
    }
    if (e.epochNotMatch !== undefined) {
      const current = e.epochNotMatch.currentRegions;
      if (current.length === 0) this.regions.invalidate(id);
      else this.regions.onEpochNotMatch(id, current);
      await bo.backoff('regionMiss', e, { ...opts, maxMs: 1 });
      return;
    }
    if (e.storeNotMatch !== undefined) {
      const storeId = (loc.leader ?? loc.region.peers[0])?.storeId;
      if (storeId !== undefined) this.stores.invalidate(storeId);
      this.regions.invalidate(id);
      await bo.backoff('regionMiss', e, opts);
      return;
    }
    if (e.regionNotFound !== undefined || e.keyNotInRegion !== undefined || e.mismatchPeerId !== undefined) {
      this.regions.invalidate(id);
      await bo.backoff('regionMiss', e, opts);
      return;
    }
    if (e.serverIsBusy !== undefined || e.diskFull !== undefined) {
      await bo.backoff('serverBusy', e, opts);
      return;
    }
    if (e.staleCommand !== undefined || e.maxTimestampNotSynced !== undefined || e.readIndexNotReady !== undefined || e.proposalInMergingMode !== undefined || e.regionNotInitialized !== undefined || e.RecoveryInProgress !== undefined || e.isWitness !== undefined) {
      await bo.backoff('staleCmd', e, opts);
      return;
    }
    if (e.raftEntryTooLarge !== undefined || e.FlashbackInProgress !== undefined || e.FlashbackNotPrepared !== undefined) {
      throw new RegionError(e);
    }
    // Unknown region error: treat the cached region as suspect.
    this.regions.invalidate(id);
    await bo.backoff('regionMiss', e, opts);
  }

  /**
   * Runs `perRegion` on the items of every region concurrently; items of a group whose send
   * must be retried (`perRegion` returns `false`) are re-grouped (the region may have split)
   * and run again. Results are concatenated in no particular order.
   */
  async forEachRegion<T, R>(items: readonly T[], keyOf: (t: T) => Uint8Array, perRegion: (loc: Location, items: T[]) => Promise<R[] | false>, bo: Backoffer, batch: (items: T[]) => T[][] = (x) => [x]): Promise<R[]> {
    if (items.length === 0) return [];
    const groups = await this.groupByRegion(items, keyOf);
    const parts = await Promise.all(
      groups.flatMap((g) =>
        batch(g.items).map(async (b) => {
          const r = await perRegion(g.loc, b);
          if (r !== false) return r;
          return this.forEachRegion(b, keyOf, perRegion, bo, batch);
        }),
      ),
    );
    return parts.flat();
  }
}

/** Whether user key `k` is in the location's range. */
export function inRange(loc: Location, k: Uint8Array): boolean {
  return compareBytes(k, loc.start) >= 0 && (loc.end.length === 0 || compareBytes(k, loc.end) < 0);
}

/** Splits `items` into batches of at most `maxCount` items and about `maxBytes` bytes. */
export function splitBatches<T>(items: readonly T[], sizeOf: (t: T) => number, maxCount: number, maxBytes: number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let bytes = 0;
  for (const it of items) {
    const s = sizeOf(it);
    if (cur.length > 0 && (cur.length >= maxCount || bytes + s > maxBytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(it);
    bytes += s;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
