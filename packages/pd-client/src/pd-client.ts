import type { keyspacepb, metapb, pdpb } from '@tikv-ts/proto';

/** Per-call options of every {@link PdClient} RPC. */
export interface PdCallOptions {
  /** Aborts the call (and its retries); the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** A region as PD knows it: its metadata, its leader (when PD has heard of one) and peer health. */
export interface RegionInfo {
  readonly region: metapb.Region;
  /** Undefined when PD has no leader for the region yet (no heartbeat since bootstrap/split). */
  readonly leader: metapb.Peer | undefined;
  readonly downPeers: readonly pdpb.PeerStats[];
  readonly pendingPeers: readonly metapb.Peer[];
}

/** A region heartbeat as tikv-server sends it; the client fills in the header. */
export type RegionHeartbeat = Omit<Partial<pdpb.RegionHeartbeatRequest>, 'header'> & { readonly region: metapb.Region };

/**
 * Result of {@link PdClient.updateServiceGcSafePoint}: PD answers with the service that now holds
 * the smallest service safe point (which may be another service, when the requested safe point
 * was below it and therefore not accepted).
 */
export interface ServiceSafePointResult {
  /** The service holding the minimum ('' when no service safe point is left). */
  readonly serviceId: string;
  /** The smallest service safe point now in force (GC never passes it). */
  readonly minSafePoint: bigint;
  /** Remaining TTL of that minimum, in seconds. */
  readonly ttlSec: bigint;
}

/** A subscription returned by listener registrations; `cancel()` stops the deliveries. */
export interface Subscription {
  cancel(): void;
}

/**
 * The Placement Driver as the rest of the system sees it (STYLE.md §2: an effect behind an
 * interface). {@link RpcPdClient} talks gRPC to a real PD; tests of raftstore and server may pass
 * their own implementation.
 *
 * Every uint64 is a bigint, every key a Uint8Array (raw or encoded, as stored in region
 * boundaries). Errors: PD's header errors arrive as `PdServerError` subclasses
 * (`PdNotBootstrappedError`, `PdRegionNotFoundError`, …), an unreachable PD as
 * `PdUnavailableError`, a closed client as `PdClientClosedError`.
 */
export interface PdClient {
  /** The cluster id learnt from GetMembers at connect time (never 0). */
  getClusterId(): bigint;

  /**
   * A TSO timestamp (`physical_ms << 18 | logical`), unique and larger than any this client
   * returned before. Concurrent calls share one stream round trip.
   * @throws PdTsoStreamError (retryable) when the stream broke with this request in flight
   */
  getTimestamp(options?: PdCallOptions): Promise<bigint>;

  /** A new unique id (for stores, regions, peers). */
  allocId(options?: PdCallOptions): Promise<bigint>;

  /** Whether the cluster has its first store and region. */
  isBootstrapped(options?: PdCallOptions): Promise<boolean>;

  /**
   * Creates the cluster with its first store and region (once).
   * @throws PdAlreadyBootstrappedError when it already is
   */
  bootstrap(store: metapb.Store, region: metapb.Region, options?: PdCallOptions): Promise<void>;

  /** Whether PD is in snapshot-recovery mode (TiKV asks at start; our PD always answers false). */
  isSnapshotRecovering(options?: PdCallOptions): Promise<boolean>;

  /**
   * The cluster record (`metapb.Cluster`: id and `max_peer_count`, the replica count).
   * @throws PdNotBootstrappedError before bootstrap
   */
  getClusterConfig(options?: PdCallOptions): Promise<metapb.Cluster>;

  /** Registers or updates a store (its addresses, labels, version). */
  putStore(store: metapb.Store, options?: PdCallOptions): Promise<void>;

  /**
   * A store by id.
   * @throws PdStoreTombstoneError when it was removed; PdServerError when it is unknown
   */
  getStore(storeId: bigint, options?: PdCallOptions): Promise<metapb.Store>;

  /** Every store (tombstones included unless `excludeTombstones`). */
  getAllStores(options?: PdCallOptions & { readonly excludeTombstones?: boolean }): Promise<metapb.Store[]>;

  /** The region containing `key`, or undefined when PD knows none. */
  getRegion(key: Uint8Array, options?: PdCallOptions): Promise<RegionInfo | undefined>;

  /** The region just before the one containing `key` (the one ending at its start), or undefined. */
  getPrevRegion(key: Uint8Array, options?: PdCallOptions): Promise<RegionInfo | undefined>;

  /** A region by id, or undefined when PD knows none. */
  getRegionById(regionId: bigint, options?: PdCallOptions): Promise<RegionInfo | undefined>;

  /**
   * Regions from the one containing `startKey` up to `endKey` (exclusive; empty = no end), in key
   * order, at most `limit` of them (0 = no limit).
   */
  scanRegions(startKey: Uint8Array, endKey: Uint8Array, options?: PdCallOptions & { readonly limit?: number }): Promise<RegionInfo[]>;

  /** New region and peer ids for `count` splits of `region` (whose epoch must be current). */
  askBatchSplit(region: metapb.Region, count: number, options?: PdCallOptions): Promise<pdpb.SplitID[]>;

  /** Reports the regions a batch split produced (adjacent, in key order). */
  reportBatchSplit(regions: readonly metapb.Region[], options?: PdCallOptions): Promise<void>;

  /** Sends a store heartbeat; the response may carry cluster version and recovery instructions. */
  storeHeartbeat(stats: pdpb.StoreStats, options?: PdCallOptions): Promise<pdpb.StoreHeartbeatResponse>;

  /**
   * Sends one region heartbeat on the long-lived RegionHeartbeat stream (opened on first use
   * and reopened after a failure or a leader change). Resolves when the message was handed to
   * the stream; PD's answers (operators) arrive through {@link onRegionHeartbeatResponse}.
   */
  regionHeartbeat(heartbeat: RegionHeartbeat, options?: PdCallOptions): Promise<void>;

  /**
   * Receives every RegionHeartbeat response without a header error (operators for region
   * leaders: change peer, transfer leader, split, merge). Listeners run synchronously in
   * registration order; one that throws does not stop the others.
   */
  onRegionHeartbeatResponse(listener: (response: pdpb.RegionHeartbeatResponse) => void): Subscription;

  /** The cluster's GC safe point. */
  getGcSafePoint(options?: PdCallOptions): Promise<bigint>;

  /** Moves the GC safe point forward; returns the safe point now in force (never moves back). */
  updateGcSafePoint(safePoint: bigint, options?: PdCallOptions): Promise<bigint>;

  /**
   * Sets the safe point of service `serviceId` for `ttlSec` seconds (`ttlSec <= 0` removes it).
   * PD refuses (silently, answering the current minimum) a safe point below another service's
   * minimum or below the GC safe point.
   */
  updateServiceGcSafePoint(
    serviceId: string,
    safePoint: bigint,
    options: PdCallOptions & { readonly ttlSec: bigint },
  ): Promise<ServiceSafePointResult>;

  /**
   * The keyspace named `name` (client-rust loads "DEFAULT").
   * @throws PdEntryNotFoundError when none has that name
   */
  loadKeyspace(name: string, options?: PdCallOptions): Promise<keyspacepb.KeyspaceMeta>;

  /** Stops timers and streams and closes connections; pending calls fail with PdClientClosedError. */
  close(): Promise<void>;
}
