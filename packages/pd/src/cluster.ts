import { compareBytes, toHex } from '@tikv-ts/codec';
import { metapb, type pdpb } from '@tikv-ts/proto';
import type { Clock } from '@tikv-ts/util';
import {
  PdAlreadyBootstrappedError,
  PdInvalidValueError,
  PdNotBootstrappedError,
  PdRegionNotFoundError,
  PdStaleRegionError,
  PdStoreNotFoundError,
  PdStoreTombstoneError,
} from './errors';
import { EMPTY_REGION_STATS, RegionTree, type RegionInfo, type RegionStats } from './region-tree';
import type { PdStorage, ServiceSafePoint } from './storage';

/** What PD knows about a store. */
export interface StoreInfo {
  /** Persisted metadata (address, labels, state, last heartbeat as persisted). */
  readonly meta: metapb.Store;
  /** Statistics of the last heartbeat (in memory only), if any. */
  readonly stats: pdpb.StoreStats | undefined;
  /** Wall-clock ms of the last heartbeat (or of registration), from the injected clock. */
  readonly lastHeartbeatMs: number;
}

/** Options of {@link ClusterState}. */
export interface ClusterStateOptions {
  /** A store without heartbeat for this long is reported down (PD's max-store-down-time, default 30 min). */
  readonly maxStoreDownTimeMs?: number;
  /** A store without heartbeat for this long is reported disconnected (PD: 20 s). */
  readonly storeDisconnectMs?: number;
  /** Default `max_peer_count` of a freshly bootstrapped cluster (PD's max-replicas, default 3). */
  readonly maxReplicas?: number;
}

/** A region heartbeat's content, as {@link ClusterState.handleRegionHeartbeat} takes it. */
export interface RegionHeartbeat {
  readonly region: metapb.Region;
  readonly leader: metapb.Peer | undefined;
  readonly downPeers?: readonly pdpb.PeerStats[];
  readonly pendingPeers?: readonly metapb.Peer[];
  readonly term?: bigint;
  readonly stats?: RegionStats;
}

/** Result of a service safe point update (PD's response fields). */
export interface ServiceSafePointResult {
  /** The service holding the minimum safe point after the update (may be another service). */
  readonly serviceId: string;
  /** Seconds until that minimum expires. */
  readonly ttlSec: bigint;
  /** The minimum service safe point. */
  readonly minSafePoint: bigint;
}

/** Seconds meaning "never expires" for a service safe point. */
const NEVER_EXPIRES_SEC = Number.MAX_SAFE_INTEGER;

function epochOf(r: metapb.Region): metapb.RegionEpoch {
  return r.regionEpoch ?? { confVer: 0n, version: 0n };
}

function sameMeta(a: metapb.Region, b: metapb.Region): boolean {
  const ea = epochOf(a);
  const eb = epochOf(b);
  if (ea.version !== eb.version || ea.confVer !== eb.confVer) return false;
  if (compareBytes(a.startKey, b.startKey) !== 0 || compareBytes(a.endKey, b.endKey) !== 0) return false;
  if (a.peers.length !== b.peers.length) return false;
  return a.peers.every((p, i) => {
    const q = b.peers[i];
    return q !== undefined && q.id === p.id && q.storeId === p.storeId && q.role === p.role && q.isWitness === p.isWitness;
  });
}

/**
 * The cluster's state as PD keeps it: bootstrap record, stores, the region tree, cluster config
 * and GC safe points, loaded from {@link PdStorage} at start and written through on change
 * (synced writes) before a change is acknowledged.
 *
 * Region updates follow PD's rules: a heartbeat or report is refused as stale
 * ({@link PdStaleRegionError}) when its epoch is older than the known region with the same id
 * (version or conf version lower), or when its version is older than a region it overlaps. An
 * accepted region replaces every region its range overlaps. Region metadata is persisted when it
 * changes; leader, down/pending peers and statistics live in memory.
 *
 * Single-threaded; calls may overlap (each mutation is applied to memory after its write).
 */
export class ClusterState {
  readonly #storage: PdStorage;
  readonly #clock: Clock;
  readonly #maxStoreDownTimeMs: number;
  readonly #storeDisconnectMs: number;
  readonly #defaultMaxReplicas: number;
  #meta: metapb.Cluster | undefined;
  readonly #stores = new Map<bigint, StoreInfo>();
  readonly #regionsById = new Map<bigint, RegionInfo>();
  readonly #tree = new RegionTree();
  #gcSafePoint = 0n;
  readonly #serviceSafePoints = new Map<string, ServiceSafePoint>();
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(storage: PdStorage, clock: Clock, options: ClusterStateOptions) {
    this.#storage = storage;
    this.#clock = clock;
    this.#maxStoreDownTimeMs = options.maxStoreDownTimeMs ?? 30 * 60_000;
    this.#storeDisconnectMs = options.storeDisconnectMs ?? 20_000;
    this.#defaultMaxReplicas = options.maxReplicas ?? 3;
  }

  /** Loads the persisted state (cluster id must already be set on `storage`). */
  static async load(storage: PdStorage, clock: Clock, options: ClusterStateOptions = {}): Promise<ClusterState> {
    const c = new ClusterState(storage, clock, options);
    c.#meta = await storage.loadClusterMeta();
    const now = clock.nowMs();
    for (const s of await storage.loadStores()) {
      // A restarted PD counts store liveness from its own start (as PD does), not from the
      // persisted heartbeat time.
      c.#stores.set(s.id, { meta: s, stats: undefined, lastHeartbeatMs: now });
    }
    for (const r of await storage.loadRegions()) {
      const info: RegionInfo = { meta: r, leader: undefined, downPeers: [], pendingPeers: [], term: 0n, stats: EMPTY_REGION_STATS };
      c.#tree.update(info);
      c.#regionsById.set(r.id, info);
    }
    // Entries the tree dropped as overlapped (a crash between writes cannot cause this since
    // overlaps are removed in the same batch, but stay consistent anyway).
    for (const [id, info] of c.#regionsById) {
      if (c.#tree.search(info.meta.startKey)?.meta.id !== id) c.#regionsById.delete(id);
    }
    c.#gcSafePoint = await storage.loadGcSafePoint();
    for (const sp of await storage.loadServiceSafePoints()) c.#serviceSafePoints.set(sp.serviceId, sp);
    return c;
  }

  /** Runs mutations one at a time so that memory follows the order of the synced writes. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Whether the cluster has been bootstrapped. */
  get isBootstrapped(): boolean {
    return this.#meta !== undefined;
  }

  #requireBootstrapped(): metapb.Cluster {
    if (this.#meta === undefined) throw new PdNotBootstrappedError();
    return this.#meta;
  }

  /** The cluster record (`id`, `max_peer_count`). @throws PdNotBootstrappedError */
  clusterConfig(): metapb.Cluster {
    return this.#requireBootstrapped();
  }

  /**
   * Bootstraps the cluster with its first store and first region (TiKV's first start).
   * @throws PdAlreadyBootstrappedError, PdInvalidValueError (missing/invalid store or region)
   */
  bootstrap(store: metapb.Store | undefined, region: metapb.Region | undefined): Promise<void> {
    return this.#serial(async () => {
      if (this.#meta !== undefined) throw new PdAlreadyBootstrappedError();
      if (store === undefined || store.id === 0n) throw new PdInvalidValueError('missing store in bootstrap request');
      if (region === undefined || region.id === 0n) throw new PdInvalidValueError('missing region in bootstrap request');
      if (region.startKey.length !== 0 || region.endKey.length !== 0) {
        throw new PdInvalidValueError(`invalid region ${region.id}: the first region must cover the whole key space`);
      }
      if (region.peers.length !== 1 || region.peers[0]?.storeId !== store.id) {
        throw new PdInvalidValueError(`invalid region ${region.id}: it must have one peer on store ${store.id}`);
      }
      if (store.address === '') throw new PdInvalidValueError(`invalid store ${store.id}: empty address`);
      const meta = metapb.Cluster.create({ id: this.#storage.clusterId, maxPeerCount: this.#defaultMaxReplicas });
      const s = metapb.Store.create({ ...store, state: metapb.StoreState.Up, lastHeartbeat: BigInt(this.#clock.nowMs()) * 1_000_000n });
      await this.#storage.saveBootstrap(meta, s, region);
      this.#meta = meta;
      this.#stores.set(s.id, { meta: s, stats: undefined, lastHeartbeatMs: this.#clock.nowMs() });
      const info: RegionInfo = { meta: region, leader: region.peers[0], downPeers: [], pendingPeers: [], term: 0n, stats: EMPTY_REGION_STATS };
      this.#tree.update(info);
      this.#regionsById.set(region.id, info);
    });
  }

  /**
   * Replaces the cluster record's settings (`PutClusterConfig`); the id cannot change.
   * @throws PdNotBootstrappedError, PdInvalidValueError
   */
  putClusterConfig(cluster: metapb.Cluster | undefined): Promise<void> {
    return this.#serial(async () => {
      const meta = this.#requireBootstrapped();
      if (cluster === undefined) throw new PdInvalidValueError('missing cluster config');
      if (cluster.id !== 0n && cluster.id !== meta.id) {
        throw new PdInvalidValueError(`invalid cluster ${cluster.id}, mismatch cluster ${meta.id}`);
      }
      const next = metapb.Cluster.create({ id: meta.id, maxPeerCount: cluster.maxPeerCount });
      await this.#storage.saveClusterMeta(next);
      this.#meta = next;
    });
  }

  // ---- stores ----

  /**
   * A store by id.
   * @throws PdNotBootstrappedError, PdStoreNotFoundError
   */
  getStore(id: bigint): StoreInfo {
    this.#requireBootstrapped();
    const s = this.#stores.get(id);
    if (s === undefined) throw new PdStoreNotFoundError(id);
    return s;
  }

  /** Every store ordered by id (tombstones too unless excluded). @throws PdNotBootstrappedError */
  getAllStores(excludeTombstone = false): StoreInfo[] {
    this.#requireBootstrapped();
    const out = [...this.#stores.values()].sort((a, b) => (a.meta.id < b.meta.id ? -1 : a.meta.id > b.meta.id ? 1 : 0));
    return excludeTombstone ? out.filter((s) => s.meta.state !== metapb.StoreState.Tombstone) : out;
  }

  /**
   * Registers or updates a store (`PutStore`). A new store is Up; an existing store keeps its
   * state. The address must be non-empty and not used by another live store.
   * @throws PdNotBootstrappedError, PdStoreTombstoneError, PdInvalidValueError
   */
  putStore(store: metapb.Store | undefined): Promise<void> {
    return this.#serial(async () => {
      this.#requireBootstrapped();
      if (store === undefined || store.id === 0n) throw new PdInvalidValueError('invalid put store request: missing store or store id 0');
      if (store.address === '') throw new PdInvalidValueError(`invalid put store ${store.id}: empty address`);
      for (const other of this.#stores.values()) {
        if (other.meta.id !== store.id && other.meta.state !== metapb.StoreState.Tombstone && other.meta.address === store.address) {
          throw new PdInvalidValueError(`duplicated store address: ${store.address}, already registered by store ${other.meta.id}`);
        }
      }
      const old = this.#stores.get(store.id);
      if (old !== undefined && old.meta.state === metapb.StoreState.Tombstone) throw new PdStoreTombstoneError(store.id);
      const nowMs = this.#clock.nowMs();
      const meta = metapb.Store.create({
        ...store,
        state: old?.meta.state ?? metapb.StoreState.Up,
        nodeState: old?.meta.nodeState ?? metapb.NodeState.Serving,
        lastHeartbeat: BigInt(nowMs) * 1_000_000n,
      });
      await this.#storage.saveStore(meta);
      this.#stores.set(store.id, { meta, stats: old?.stats, lastHeartbeatMs: nowMs });
    });
  }

  /**
   * Records a store heartbeat: statistics and liveness. Persists the store's last heartbeat
   * at most once a minute.
   * @throws PdNotBootstrappedError, PdStoreNotFoundError, PdStoreTombstoneError, PdInvalidValueError
   */
  storeHeartbeat(stats: pdpb.StoreStats | undefined): Promise<StoreInfo> {
    return this.#serial(async () => {
      this.#requireBootstrapped();
      if (stats === undefined) throw new PdInvalidValueError('missing store stats');
      const old = this.#stores.get(stats.storeId);
      if (old === undefined) throw new PdStoreNotFoundError(stats.storeId);
      if (old.meta.state === metapb.StoreState.Tombstone) throw new PdStoreTombstoneError(stats.storeId);
      const nowMs = this.#clock.nowMs();
      let meta = old.meta;
      const persistedMs = Number(old.meta.lastHeartbeat / 1_000_000n);
      if (nowMs - persistedMs >= 60_000) {
        meta = metapb.Store.create({ ...old.meta, lastHeartbeat: BigInt(nowMs) * 1_000_000n });
        await this.#storage.saveStore(meta);
      }
      const info: StoreInfo = { meta, stats, lastHeartbeatMs: nowMs };
      this.#stores.set(stats.storeId, info);
      return info;
    });
  }

  /**
   * Changes a store's state (HTTP API: offline / up / tombstone). Up → Offline → Tombstone;
   * Offline → Up cancels the removal; a tombstone never comes back.
   * @throws PdNotBootstrappedError, PdStoreNotFoundError, PdStoreTombstoneError, PdInvalidValueError
   */
  setStoreState(id: bigint, state: metapb.StoreState): Promise<void> {
    return this.#serial(async () => {
      const old = this.getStore(id);
      if (old.meta.state === state) return;
      if (old.meta.state === metapb.StoreState.Tombstone) throw new PdStoreTombstoneError(id);
      if (state === metapb.StoreState.Tombstone) {
        if (old.meta.state !== metapb.StoreState.Offline) {
          throw new PdInvalidValueError(`store ${id} must be offline before it becomes a tombstone`);
        }
        const n = this.regionCountOfStore(id);
        if (n > 0) throw new PdInvalidValueError(`store ${id} still has ${n} region peers`);
      }
      const nodeState =
        state === metapb.StoreState.Up ? metapb.NodeState.Serving : state === metapb.StoreState.Offline ? metapb.NodeState.Removing : metapb.NodeState.Removed;
      const meta = metapb.Store.create({ ...old.meta, state, nodeState });
      await this.#storage.saveStore(meta);
      this.#stores.set(id, { ...old, meta });
    });
  }

  /**
   * Turns every Offline store that holds no region peer into a Tombstone (PD's checkStores).
   * Returns the ids that changed.
   */
  async checkStores(): Promise<bigint[]> {
    if (this.#meta === undefined) return [];
    const changed: bigint[] = [];
    for (const s of [...this.#stores.values()]) {
      if (s.meta.state === metapb.StoreState.Offline && this.regionCountOfStore(s.meta.id) === 0) {
        await this.setStoreState(s.meta.id, metapb.StoreState.Tombstone);
        changed.push(s.meta.id);
      }
    }
    return changed;
  }

  /** Number of regions with a peer on the store. */
  regionCountOfStore(storeId: bigint): number {
    let n = 0;
    for (const r of this.#regionsById.values()) if (r.meta.peers.some((p) => p.storeId === storeId)) n++;
    return n;
  }

  /** Number of regions whose leader is on the store. */
  leaderCountOfStore(storeId: bigint): number {
    let n = 0;
    for (const r of this.#regionsById.values()) if (r.leader?.storeId === storeId) n++;
    return n;
  }

  /** Whether the store has missed heartbeats for the configured max-store-down-time. */
  isStoreDown(store: StoreInfo): boolean {
    return this.#clock.nowMs() - store.lastHeartbeatMs > this.#maxStoreDownTimeMs;
  }

  /** Whether the store has missed heartbeats for 20 s (PD's "Disconnected"). */
  isStoreDisconnected(store: StoreInfo): boolean {
    return this.#clock.nowMs() - store.lastHeartbeatMs > this.#storeDisconnectMs;
  }

  /** PD's state name for a store: Up, Disconnected, Down, Offline or Tombstone. */
  storeStateName(store: StoreInfo): string {
    switch (store.meta.state) {
      case metapb.StoreState.Tombstone:
        return 'Tombstone';
      case metapb.StoreState.Offline:
        return 'Offline';
      case metapb.StoreState.Up:
        if (this.isStoreDown(store)) return 'Down';
        if (this.isStoreDisconnected(store)) return 'Disconnected';
        return 'Up';
      default: {
        const never: never = store.meta.state;
        return String(never);
      }
    }
  }

  // ---- regions ----

  /**
   * Applies a region heartbeat (or a split report). Refused as stale when older than what is
   * known; otherwise replaces overlapped regions, persists changed metadata, and records leader,
   * down/pending peers and statistics.
   * @throws PdNotBootstrappedError, PdStaleRegionError, PdInvalidValueError
   */
  handleRegionHeartbeat(hb: RegionHeartbeat): Promise<RegionInfo> {
    return this.#serial(async () => {
      this.#requireBootstrapped();
      const region = hb.region;
      if (region.id === 0n) throw new PdInvalidValueError('invalid region: id 0');
      if (region.regionEpoch === undefined) throw new PdInvalidValueError(`invalid region ${region.id}: missing epoch`);
      if (region.endKey.length !== 0 && compareBytes(region.startKey, region.endKey) >= 0) {
        throw new PdInvalidValueError(`invalid region ${region.id}: start key is not below end key`);
      }
      const epoch = epochOf(region);
      const origin = this.#regionsById.get(region.id);
      if (origin !== undefined) {
        const oe = epochOf(origin.meta);
        if (epoch.version < oe.version || epoch.confVer < oe.confVer) {
          throw new PdStaleRegionError(
            region.id,
            `region ${region.id} is stale: epoch (conf_ver ${epoch.confVer}, version ${epoch.version}) is older than (conf_ver ${oe.confVer}, version ${oe.version})`,
          );
        }
      }
      const overlaps = this.#tree.overlaps(region.startKey, region.endKey);
      for (const o of overlaps) {
        if (o.meta.id === region.id) continue;
        const ov = epochOf(o.meta).version;
        if (epoch.version < ov) {
          throw new PdStaleRegionError(region.id, `region ${region.id} (version ${epoch.version}) is stale: it overlaps region ${o.meta.id} (version ${ov})`);
        }
      }
      const leader = hb.leader !== undefined && hb.leader.id !== 0n ? hb.leader : origin?.leader;
      const info: RegionInfo = {
        meta: region,
        leader: leader !== undefined && region.peers.some((p) => p.id === leader.id) ? leader : undefined,
        downPeers: hb.downPeers ?? [],
        pendingPeers: hb.pendingPeers ?? [],
        term: hb.term ?? origin?.term ?? 0n,
        stats: hb.stats ?? origin?.stats ?? EMPTY_REGION_STATS,
      };
      const metaChanged = origin === undefined || !sameMeta(origin.meta, region);
      if (!metaChanged && origin !== undefined && this.#tree.replaceSameRange(info)) {
        this.#regionsById.set(region.id, info);
        return info;
      }
      const removedIds = overlaps.filter((o) => o.meta.id !== region.id).map((o) => o.meta.id);
      await this.#storage.saveRegions([region], removedIds);
      // Mutations are serialized, so the overlaps computed above are still current.
      if (origin !== undefined) this.#tree.remove(origin);
      const removed = this.#tree.update(info);
      for (const o of removed) if (o.meta.id !== region.id) this.#regionsById.delete(o.meta.id);
      this.#regionsById.set(region.id, info);
      return info;
    });
  }

  /** The region containing `key`. @throws PdNotBootstrappedError, PdRegionNotFoundError */
  getRegionByKey(key: Uint8Array): RegionInfo {
    this.#requireBootstrapped();
    const r = this.#tree.search(key);
    if (r === undefined) throw new PdRegionNotFoundError(`region not found for key ${toHex(key)}`);
    return r;
  }

  /** The region before the one containing `key`. @throws PdNotBootstrappedError, PdRegionNotFoundError */
  getPrevRegion(key: Uint8Array): RegionInfo {
    this.#requireBootstrapped();
    const r = this.#tree.searchPrev(key);
    if (r === undefined) throw new PdRegionNotFoundError(`no region before the region of key ${toHex(key)}`);
    return r;
  }

  /** A region by id. @throws PdNotBootstrappedError, PdRegionNotFoundError */
  getRegionById(id: bigint): RegionInfo {
    this.#requireBootstrapped();
    const r = this.#regionsById.get(id);
    if (r === undefined) throw new PdRegionNotFoundError(`region ${id} not found`);
    return r;
  }

  /** Regions from the one containing `start` up to `end`, at most `limit`. @throws PdNotBootstrappedError */
  scanRegions(start: Uint8Array, end: Uint8Array, limit: number): RegionInfo[] {
    this.#requireBootstrapped();
    return this.#tree.scan(start, end, limit);
  }

  /** Every region in key order. */
  allRegions(): RegionInfo[] {
    return this.#tree.all();
  }

  /** Number of regions. */
  get regionCount(): number {
    return this.#tree.size;
  }

  // ---- GC safe points ----

  /** The GC safe point (0 when never set). */
  get gcSafePoint(): bigint {
    return this.#gcSafePoint;
  }

  /** The minimum unexpired service safe point, if any (expired ones are dropped from memory). */
  #minServiceSafePoint(): ServiceSafePoint | undefined {
    const nowSec = Math.floor(this.#clock.nowMs() / 1000);
    let min: ServiceSafePoint | undefined;
    for (const sp of this.#serviceSafePoints.values()) {
      if (sp.expiredAtSec <= nowSec) continue;
      if (min === undefined || sp.safePoint < min.safePoint) min = sp;
    }
    return min;
  }

  /**
   * Moves the GC safe point forward to `safePoint` (never back), bounded by the minimum
   * unexpired service safe point. Returns the safe point in force afterwards.
   * @throws PdNotBootstrappedError
   */
  updateGcSafePoint(safePoint: bigint): Promise<bigint> {
    return this.#serial(async () => {
      this.#requireBootstrapped();
      let target = safePoint;
      const min = this.#minServiceSafePoint();
      if (min !== undefined && target > min.safePoint) target = min.safePoint;
      if (target > this.#gcSafePoint) {
        await this.#storage.saveGcSafePoint(target);
        this.#gcSafePoint = target;
      }
      return this.#gcSafePoint;
    });
  }

  /**
   * Sets, refreshes or (ttl <= 0) removes a service safe point, with PD's rules: a safe point
   * below the current minimum of the other services is not accepted (the minimum is returned
   * instead), and a service's safe point may not move below the GC safe point.
   * @throws PdNotBootstrappedError, PdInvalidValueError
   */
  updateServiceSafePoint(serviceId: string, ttlSec: bigint, safePoint: bigint): Promise<ServiceSafePointResult> {
    return this.#serial(async () => {
      this.#requireBootstrapped();
      if (serviceId === '') throw new PdInvalidValueError('empty service id');
      const nowSec = Math.floor(this.#clock.nowMs() / 1000);
      if (ttlSec <= 0n) {
        if (this.#serviceSafePoints.has(serviceId)) {
          await this.#storage.removeServiceSafePoint(serviceId);
          this.#serviceSafePoints.delete(serviceId);
        }
      } else {
        // Drop expired entries for good.
        for (const sp of [...this.#serviceSafePoints.values()]) {
          if (sp.expiredAtSec <= nowSec) {
            await this.#storage.removeServiceSafePoint(sp.serviceId);
            this.#serviceSafePoints.delete(sp.serviceId);
          }
        }
        const min = this.#minServiceSafePoint();
        const accepted = (min === undefined || safePoint >= min.safePoint || min.serviceId === serviceId) && safePoint >= this.#gcSafePoint;
        if (accepted) {
          const expiredAtSec = ttlSec >= BigInt(NEVER_EXPIRES_SEC - nowSec) ? NEVER_EXPIRES_SEC : nowSec + Number(ttlSec);
          const sp: ServiceSafePoint = { serviceId, expiredAtSec, safePoint };
          await this.#storage.saveServiceSafePoint(sp);
          this.#serviceSafePoints.set(serviceId, sp);
        }
      }
      const min = this.#minServiceSafePoint();
      if (min === undefined) return { serviceId: '', ttlSec: 0n, minSafePoint: this.#gcSafePoint };
      const ttl = min.expiredAtSec === NEVER_EXPIRES_SEC ? BigInt(Number.MAX_SAFE_INTEGER) : BigInt(min.expiredAtSec - nowSec);
      return { serviceId: min.serviceId, ttlSec: ttl, minSafePoint: min.safePoint };
    });
  }

  /** Unexpired service safe points (for the HTTP API). */
  serviceSafePoints(): ServiceSafePoint[] {
    const nowSec = Math.floor(this.#clock.nowMs() / 1000);
    return [...this.#serviceSafePoints.values()].filter((sp) => sp.expiredAtSec > nowSec);
  }
}
