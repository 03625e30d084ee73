import { compareBytes } from '@tikv-ts/codec';
import { keyspacepb, metapb, pdpb } from '@tikv-ts/proto';
import type { Clock } from '@tikv-ts/util';
import {
  PdAlreadyBootstrappedError,
  PdClientClosedError,
  PdEntryNotFoundError,
  PdInvalidValueError,
  PdNotBootstrappedError,
  PdServerError,
  PdStoreTombstoneError,
  PdUnavailableError,
} from '../errors';
import type { PdCallOptions, PdClient, RegionHeartbeat, RegionInfo, ServiceSafePointResult, Subscription } from '../pd-client';
import { TSO_MAX_LOGICAL, composeTs } from '../tso-dispatcher';

/** Options of {@link TestPdClient}. */
export interface TestPdClientOptions {
  /** Physical TSO time and service safe point expiry (ManualClock in simulations). */
  readonly clock: Clock;
  /** Default 1. */
  readonly clusterId?: bigint;
  /** First id {@link TestPdClient.allocId} hands out (default 1). */
  readonly firstId?: bigint;
  /** `max_peer_count` of the cluster config (default 3, PD's `max-replicas`). */
  readonly maxReplicas?: number;
  /**
   * A scheduler stand-in: called for every accepted region heartbeat; a returned response is
   * delivered to the heartbeat listeners (asynchronously, as from a stream).
   */
  readonly onRegionHeartbeat?: (heartbeat: pdpb.RegionHeartbeatRequest) => pdpb.RegionHeartbeatResponse | undefined;
}

interface StoredRegion {
  readonly region: metapb.Region;
  readonly leader: metapb.Peer | undefined;
  readonly downPeers: readonly pdpb.PeerStats[];
  readonly pendingPeers: readonly metapb.Peer[];
}

function epochOf(r: metapb.Region): { version: bigint; confVer: bigint } {
  return { version: r.regionEpoch?.version ?? 0n, confVer: r.regionEpoch?.confVer ?? 0n };
}

function overlaps(a: metapb.Region, start: Uint8Array, end: Uint8Array): boolean {
  const aEndsBefore = a.endKey.length !== 0 && compareBytes(a.endKey, start) <= 0;
  const endsBeforeA = end.length !== 0 && compareBytes(end, a.startKey) <= 0;
  return !aEndsBefore && !endsBeforeA;
}

/**
 * An in-memory, deterministic {@link PdClient}: a single PD's state (ids, TSO, stores, regions,
 * GC and service safe points, the DEFAULT keyspace) answered synchronously, with the same typed
 * errors and the same validation rules as our PD (bootstrap checks, stale region heartbeats,
 * split reports, PutStore on tombstones, service safe point rules). For raftstore/server specs
 * and simulations: no sockets, time from the injected clock.
 *
 * Fault injection: {@link setUnavailable} makes every call fail with `PdUnavailableError`, as
 * when PD is unreachable; {@link pushRegionHeartbeatResponse} plays an operator from PD.
 */
export class TestPdClient implements PdClient {
  readonly #clock: Clock;
  readonly #clusterId: bigint;
  readonly #maxReplicas: number;
  readonly #onRegionHeartbeat: TestPdClientOptions['onRegionHeartbeat'];
  readonly #listeners = new Set<(r: pdpb.RegionHeartbeatResponse) => void>();
  readonly #stores = new Map<bigint, metapb.Store>();
  readonly #serviceSafePoints = new Map<string, { safePoint: bigint; expiresAtMs: number }>();
  #regions: StoredRegion[] = [];
  #bootstrapped = false;
  #nextId: bigint;
  #physical = 0n;
  #logical = 0n;
  #gcSafePoint = 0n;
  #unavailable = false;
  #closed = false;
  /** Every region heartbeat received, accepted or not. */
  readonly regionHeartbeats: pdpb.RegionHeartbeatRequest[] = [];
  /** Every store heartbeat received. */
  readonly storeHeartbeats: pdpb.StoreStats[] = [];
  /** Errors thrown by heartbeat listeners (they do not stop the other listeners). */
  readonly listenerErrors: unknown[] = [];

  constructor(options: TestPdClientOptions) {
    this.#clock = options.clock;
    this.#clusterId = options.clusterId ?? 1n;
    this.#maxReplicas = options.maxReplicas ?? 3;
    this.#nextId = options.firstId ?? 1n;
    this.#onRegionHeartbeat = options.onRegionHeartbeat;
  }

  /** While true every call fails with PdUnavailableError (PD unreachable). */
  setUnavailable(unavailable: boolean): void {
    this.#unavailable = unavailable;
  }

  /** Delivers `response` to the heartbeat listeners (on a later microtask), as PD pushing an operator. */
  pushRegionHeartbeatResponse(response: pdpb.RegionHeartbeatResponse): void {
    this.#deliver(response);
  }

  /** PD's regions in key order (a copy). */
  regions(): RegionInfo[] {
    return this.#regions.map((r) => ({ ...r }));
  }

  /** PD's stores by id (a copy). */
  stores(): metapb.Store[] {
    return [...this.#stores.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  getClusterId(): bigint {
    return this.#clusterId;
  }

  async getTimestamp(options: PdCallOptions = {}): Promise<bigint> {
    this.#check(options);
    const now = BigInt(Math.floor(this.#clock.nowMs()));
    if (now > this.#physical) {
      this.#physical = now;
      this.#logical = 0n;
    }
    this.#logical += 1n;
    if (this.#logical > TSO_MAX_LOGICAL) {
      this.#physical += 1n;
      this.#logical = 1n;
    }
    return composeTs(this.#physical, this.#logical);
  }

  async allocId(options: PdCallOptions = {}): Promise<bigint> {
    this.#check(options);
    return this.#nextId++;
  }

  async isBootstrapped(options: PdCallOptions = {}): Promise<boolean> {
    this.#check(options);
    return this.#bootstrapped;
  }

  async bootstrap(store: metapb.Store, region: metapb.Region, options: PdCallOptions = {}): Promise<void> {
    this.#check(options);
    const m = 'Bootstrap';
    if (this.#bootstrapped) throw new PdAlreadyBootstrappedError(m, pdpb.ErrorType.ALREADY_BOOTSTRAPPED, 'cluster is already bootstrapped');
    if (store.id === 0n || store.address === '') throw invalid(m, 'missing store id or address in bootstrap request');
    if (region.id === 0n || region.startKey.length !== 0 || region.endKey.length !== 0) {
      throw invalid(m, `invalid region ${region.id}: the first region must cover the whole key space`);
    }
    if (region.peers.length !== 1 || region.peers[0]?.storeId !== store.id) throw invalid(m, `invalid region ${region.id}: it must have one peer on store ${store.id}`);
    this.#bootstrapped = true;
    this.#stores.set(store.id, metapb.Store.fromPartial({ ...store, state: metapb.StoreState.Up }));
    this.#regions = [{ region, leader: region.peers[0], downPeers: [], pendingPeers: [] }];
  }

  async isSnapshotRecovering(options: PdCallOptions = {}): Promise<boolean> {
    this.#check(options);
    return false;
  }

  async getClusterConfig(options: PdCallOptions = {}): Promise<metapb.Cluster> {
    this.#checkBootstrapped('GetClusterConfig', options);
    return metapb.Cluster.fromPartial({ id: this.#clusterId, maxPeerCount: this.#maxReplicas });
  }

  async putStore(store: metapb.Store, options: PdCallOptions = {}): Promise<void> {
    this.#checkBootstrapped('PutStore', options);
    if (store.id === 0n || store.address === '') throw invalid('PutStore', 'invalid put store request: missing store id or address');
    for (const other of this.#stores.values()) {
      if (other.id !== store.id && other.state !== metapb.StoreState.Tombstone && other.address === store.address) {
        throw invalid('PutStore', `duplicated store address: ${store.address}, already registered by store ${other.id}`);
      }
    }
    const old = this.#stores.get(store.id);
    if (old?.state === metapb.StoreState.Tombstone) throw tombstone('PutStore', store.id);
    this.#stores.set(store.id, metapb.Store.fromPartial({ ...store, state: old?.state ?? metapb.StoreState.Up }));
  }

  /** Marks a store removed for good (what PD's HTTP API does after offline + no peers). */
  setStoreTombstone(storeId: bigint): void {
    const old = this.#stores.get(storeId);
    if (old !== undefined) this.#stores.set(storeId, metapb.Store.fromPartial({ ...old, state: metapb.StoreState.Tombstone }));
  }

  async getStore(storeId: bigint, options: PdCallOptions = {}): Promise<metapb.Store> {
    this.#checkBootstrapped('GetStore', options);
    const s = this.#stores.get(storeId);
    if (s === undefined) throw new PdServerError('GetStore', pdpb.ErrorType.UNKNOWN, `invalid store ID ${storeId}, not found`);
    if (s.state === metapb.StoreState.Tombstone) throw tombstone('GetStore', storeId);
    return s;
  }

  async getAllStores(options: PdCallOptions & { readonly excludeTombstones?: boolean } = {}): Promise<metapb.Store[]> {
    this.#checkBootstrapped('GetAllStores', options);
    return this.stores().filter((s) => options.excludeTombstones !== true || s.state !== metapb.StoreState.Tombstone);
  }

  async getRegion(key: Uint8Array, options: PdCallOptions = {}): Promise<RegionInfo | undefined> {
    this.#checkBootstrapped('GetRegion', options);
    const i = this.#indexOf(key);
    return i < 0 ? undefined : { ...(this.#regions[i] as StoredRegion) };
  }

  async getPrevRegion(key: Uint8Array, options: PdCallOptions = {}): Promise<RegionInfo | undefined> {
    this.#checkBootstrapped('GetPrevRegion', options);
    const i = this.#indexOf(key);
    const prev = i <= 0 ? undefined : this.#regions[i - 1];
    return prev === undefined ? undefined : { ...prev };
  }

  async getRegionById(regionId: bigint, options: PdCallOptions = {}): Promise<RegionInfo | undefined> {
    this.#checkBootstrapped('GetRegionByID', options);
    const r = this.#regions.find((x) => x.region.id === regionId);
    return r === undefined ? undefined : { ...r };
  }

  async scanRegions(startKey: Uint8Array, endKey: Uint8Array, options: PdCallOptions & { readonly limit?: number } = {}): Promise<RegionInfo[]> {
    this.#checkBootstrapped('ScanRegions', options);
    const out = this.#regions.filter((r) => overlaps(r.region, startKey, endKey)).map((r) => ({ ...r }));
    const limit = options.limit ?? 0;
    return limit > 0 ? out.slice(0, limit) : out;
  }

  async askBatchSplit(region: metapb.Region, count: number, options: PdCallOptions = {}): Promise<pdpb.SplitID[]> {
    this.#checkBootstrapped('AskBatchSplit', options);
    if (!(count >= 1 && count <= 1000)) throw invalid('AskBatchSplit', `invalid split count ${count}`);
    const known = this.#regions.find((r) => r.region.id === region.id);
    if (known === undefined) throw new PdServerError('AskBatchSplit', pdpb.ErrorType.REGION_NOT_FOUND, `region ${region.id} not found`);
    const ke = epochOf(known.region);
    const re = epochOf(region);
    if (re.version < ke.version || re.confVer < ke.confVer) throw invalid('AskBatchSplit', `invalid region epoch for split of region ${region.id}: the request is stale`);
    const ids: pdpb.SplitID[] = [];
    for (let i = 0; i < count; i++) {
      const newRegionId = this.#nextId++;
      ids.push({ newRegionId, newPeerIds: region.peers.map(() => this.#nextId++) });
    }
    return ids;
  }

  async reportBatchSplit(regions: readonly metapb.Region[], options: PdCallOptions = {}): Promise<void> {
    this.#checkBootstrapped('ReportBatchSplit', options);
    if (regions.length < 2) throw invalid('ReportBatchSplit', 'a batch split report needs at least two regions');
    for (let i = 1; i < regions.length; i++) {
      if (compareBytes((regions[i - 1] as metapb.Region).endKey, (regions[i] as metapb.Region).startKey) !== 0) {
        throw invalid('ReportBatchSplit', 'invalid split report: regions are not adjacent');
      }
    }
    for (const region of regions) this.#applyRegion(region, undefined, [], []);
  }

  async storeHeartbeat(stats: pdpb.StoreStats, options: PdCallOptions = {}): Promise<pdpb.StoreHeartbeatResponse> {
    this.#checkBootstrapped('StoreHeartbeat', options);
    const s = this.#stores.get(stats.storeId);
    if (s === undefined) throw new PdServerError('StoreHeartbeat', pdpb.ErrorType.UNKNOWN, `invalid store ID ${stats.storeId}, not found`);
    if (s.state === metapb.StoreState.Tombstone) throw tombstone('StoreHeartbeat', stats.storeId);
    this.storeHeartbeats.push(stats);
    return pdpb.StoreHeartbeatResponse.fromPartial({ header: { clusterId: this.#clusterId }, clusterVersion: s.version });
  }

  async regionHeartbeat(heartbeat: RegionHeartbeat, options: PdCallOptions = {}): Promise<void> {
    this.#check(options);
    const req = pdpb.RegionHeartbeatRequest.fromPartial({ ...heartbeat, header: { clusterId: this.#clusterId, senderId: 0n } });
    this.regionHeartbeats.push(req);
    // On a stream, PD's refusals travel as responses with an error header, which listeners never see.
    if (!this.#bootstrapped) return;
    const accepted = this.#applyRegion(heartbeat.region, heartbeat.leader, heartbeat.downPeers ?? [], heartbeat.pendingPeers ?? []);
    if (!accepted) return;
    const op = this.#onRegionHeartbeat?.(req);
    if (op !== undefined) this.#deliver(op);
  }

  onRegionHeartbeatResponse(listener: (response: pdpb.RegionHeartbeatResponse) => void): Subscription {
    const wrapped = (r: pdpb.RegionHeartbeatResponse): void => listener(r);
    this.#listeners.add(wrapped);
    return { cancel: () => this.#listeners.delete(wrapped) };
  }

  async getGcSafePoint(options: PdCallOptions = {}): Promise<bigint> {
    this.#checkBootstrapped('GetGCSafePoint', options);
    return this.#gcSafePoint;
  }

  async updateGcSafePoint(safePoint: bigint, options: PdCallOptions = {}): Promise<bigint> {
    this.#checkBootstrapped('UpdateGCSafePoint', options);
    let target = safePoint;
    const min = this.#minService();
    if (min !== undefined && target > min.safePoint) target = min.safePoint;
    if (target > this.#gcSafePoint) this.#gcSafePoint = target;
    return this.#gcSafePoint;
  }

  async updateServiceGcSafePoint(
    serviceId: string,
    safePoint: bigint,
    options: PdCallOptions & { readonly ttlSec: bigint },
  ): Promise<ServiceSafePointResult> {
    this.#checkBootstrapped('UpdateServiceGCSafePoint', options);
    if (serviceId === '') throw invalid('UpdateServiceGCSafePoint', 'empty service id');
    const nowMs = this.#clock.nowMs();
    if (options.ttlSec <= 0n) {
      this.#serviceSafePoints.delete(serviceId);
    } else {
      for (const [id, sp] of [...this.#serviceSafePoints]) if (sp.expiresAtMs <= nowMs) this.#serviceSafePoints.delete(id);
      const min = this.#minService();
      const accepted = (min === undefined || safePoint >= min.safePoint || min.serviceId === serviceId) && safePoint >= this.#gcSafePoint;
      if (accepted) this.#serviceSafePoints.set(serviceId, { safePoint, expiresAtMs: nowMs + Number(options.ttlSec) * 1000 });
    }
    const min = this.#minService();
    if (min === undefined) return { serviceId: '', minSafePoint: this.#gcSafePoint, ttlSec: 0n };
    return { serviceId: min.serviceId, minSafePoint: min.safePoint, ttlSec: BigInt(Math.max(0, Math.floor((min.expiresAtMs - nowMs) / 1000))) };
  }

  async loadKeyspace(name: string, options: PdCallOptions = {}): Promise<keyspacepb.KeyspaceMeta> {
    this.#check(options);
    if (name !== 'DEFAULT') throw new PdEntryNotFoundError('LoadKeyspace', pdpb.ErrorType.ENTRY_NOT_FOUND, `keyspace ${JSON.stringify(name)} does not exist`);
    return keyspacepb.KeyspaceMeta.fromPartial({ id: 0, name: 'DEFAULT', state: keyspacepb.KeyspaceState.ENABLED });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
  }

  #check(options: PdCallOptions): void {
    if (this.#closed) throw new PdClientClosedError();
    if (options.signal?.aborted === true) throw options.signal.reason;
    if (this.#unavailable) throw new PdUnavailableError('PD is unavailable (TestPdClient.setUnavailable)');
  }

  #checkBootstrapped(method: string, options: PdCallOptions): void {
    this.#check(options);
    if (!this.#bootstrapped) throw new PdNotBootstrappedError(method, pdpb.ErrorType.NOT_BOOTSTRAPPED, 'cluster is not bootstrapped');
  }

  #indexOf(key: Uint8Array): number {
    return this.#regions.findIndex(
      (r) => compareBytes(r.region.startKey, key) <= 0 && (r.region.endKey.length === 0 || compareBytes(key, r.region.endKey) < 0),
    );
  }

  /** PD's heartbeat rule: refuse stale epochs, else replace every overlapped region. */
  #applyRegion(region: metapb.Region, leader: metapb.Peer | undefined, downPeers: readonly pdpb.PeerStats[], pendingPeers: readonly metapb.Peer[]): boolean {
    if (region.id === 0n || region.regionEpoch === undefined) return false;
    if (region.endKey.length !== 0 && compareBytes(region.startKey, region.endKey) >= 0) return false;
    const e = epochOf(region);
    const origin = this.#regions.find((r) => r.region.id === region.id);
    if (origin !== undefined) {
      const oe = epochOf(origin.region);
      if (e.version < oe.version || e.confVer < oe.confVer) return false;
    }
    const overlapped = this.#regions.filter((r) => r.region.id !== region.id && overlaps(r.region, region.startKey, region.endKey));
    if (overlapped.some((o) => e.version < epochOf(o.region).version)) return false;
    const candidate = leader !== undefined && leader.id !== 0n ? leader : origin?.leader;
    const entry: StoredRegion = {
      region,
      leader: candidate !== undefined && region.peers.some((p) => p.id === candidate.id) ? candidate : undefined,
      downPeers,
      pendingPeers,
    };
    this.#regions = [...this.#regions.filter((r) => r !== origin && !overlapped.includes(r)), entry].sort((a, b) =>
      compareBytes(a.region.startKey, b.region.startKey),
    );
    return true;
  }

  #minService(): { serviceId: string; safePoint: bigint; expiresAtMs: number } | undefined {
    const nowMs = this.#clock.nowMs();
    let min: { serviceId: string; safePoint: bigint; expiresAtMs: number } | undefined;
    for (const [serviceId, sp] of this.#serviceSafePoints) {
      if (sp.expiresAtMs <= nowMs) continue;
      if (min === undefined || sp.safePoint < min.safePoint) min = { serviceId, ...sp };
    }
    return min;
  }

  #deliver(response: pdpb.RegionHeartbeatResponse): void {
    void Promise.resolve().then(() => {
      for (const l of [...this.#listeners]) {
        try {
          l(response);
        } catch (e: unknown) {
          // A listener's failure is its own; the others still run (as in RpcPdClient).
          this.listenerErrors.push(e);
        }
      }
    });
  }
}

function invalid(method: string, message: string): PdInvalidValueError {
  return new PdInvalidValueError(method, pdpb.ErrorType.INVALID_VALUE, message);
}

function tombstone(method: string, storeId: bigint): PdStoreTombstoneError {
  return new PdStoreTombstoneError(method, pdpb.ErrorType.STORE_TOMBSTONE, `store ${storeId} is a tombstone`);
}
