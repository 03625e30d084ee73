import type { ClusterState, StoreInfo } from '../cluster';
import { PdRegionNotFoundError } from '../errors';
import type { RegionInfo } from '../region-tree';

/**
 * Scheduling settings, named after PD's `[schedule]` keys (with units in our names). Defaults
 * are PD's where PD has one.
 */
export interface ScheduleConfig {
  /** A store without heartbeat this long is down; its peers are replaced (`max-store-down-time`, 30 min). */
  readonly maxStoreDownTimeMs: number;
  /** A store without heartbeat this long gets no new peers or leaders (PD: 20 s). */
  readonly storeDisconnectMs: number;
  /** Operators of kind `leader` in flight at most (`leader-schedule-limit`, 4). */
  readonly leaderScheduleLimit: number;
  /** Operators of kind `region` in flight at most (`region-schedule-limit`, 2048). */
  readonly regionScheduleLimit: number;
  /** Operators of kind `replica` in flight at most (`replica-schedule-limit`, 64). */
  readonly replicaScheduleLimit: number;
  /** Peers added per store per minute at most (PD's store limit `add-peer`, 15). */
  readonly storeLimitAddPeerPerMin: number;
  /** Peers removed per store per minute at most (PD's store limit `remove-peer`, 15). */
  readonly storeLimitRemovePeerPerMin: number;
  /** Timeout of a leader transfer, promotion or removal step (PD: 60 s). */
  readonly fastStepTimeoutMs: number;
  /** Timeout of an add-peer/add-learner or split step (PD: 10 min). */
  readonly slowStepTimeoutMs: number;
  /** balance-leader moves a leader only when the leader counts differ by more than this (1). */
  readonly leaderTolerance: number;
  /** balance-region moves a region only when the region counts differ by more than this (1). */
  readonly regionTolerance: number;
  /** Regions the checkers look at per coordinator tick (PD's patrol batch, 128). */
  readonly patrolRegionsPerTick: number;
  /** Smallest interval between two runs of a scheduler (PD: 10 ms; ours 100 ms). */
  readonly minScheduleIntervalMs: number;
  /** Largest interval a scheduler backs off to when it finds nothing to do (PD: 5 s). */
  readonly maxScheduleIntervalMs: number;
  /** Ended operators kept for `/operators?kind=history` (most recent first). */
  readonly historyLimit: number;
}

/** PD's defaults. */
export function defaultScheduleConfig(): ScheduleConfig {
  return {
    maxStoreDownTimeMs: 30 * 60_000,
    storeDisconnectMs: 20_000,
    leaderScheduleLimit: 4,
    regionScheduleLimit: 2048,
    replicaScheduleLimit: 64,
    storeLimitAddPeerPerMin: 15,
    storeLimitRemovePeerPerMin: 15,
    fastStepTimeoutMs: 60_000,
    slowStepTimeoutMs: 10 * 60_000,
    leaderTolerance: 1,
    regionTolerance: 1,
    patrolRegionsPerTick: 128,
    minScheduleIntervalMs: 100,
    maxScheduleIntervalMs: 5_000,
    historyLimit: 100,
  };
}

/**
 * What scheduling reads of the cluster: a read-only view. Every call returns the current state;
 * the returned values are not mutated by the scheduler. {@link clusterViewOf} adapts a
 * {@link ClusterState}; specs implement it over a simulator.
 */
export interface ScheduleCluster {
  /** Every known store (tombstones may be included; they are never scheduled to). */
  stores(): readonly StoreInfo[];
  /** Every region. */
  regions(): readonly RegionInfo[];
  /** A region by id, undefined when unknown. */
  region(id: bigint): RegionInfo | undefined;
  /** Replicas each region should have (the cluster's `max_peer_count`, PD's max-replicas). */
  maxReplicas(): number;
}

/**
 * A {@link ScheduleCluster} over PD's {@link ClusterState}. Before bootstrap it shows no stores
 * and no regions, and `fallbackMaxReplicas` (default 3) replicas.
 */
export function clusterViewOf(
  cluster: ClusterState,
  options: { readonly fallbackMaxReplicas?: number } = {},
): ScheduleCluster {
  const fallback = options.fallbackMaxReplicas ?? 3;
  return {
    stores: () => (cluster.isBootstrapped ? cluster.getAllStores() : []),
    regions: () => (cluster.isBootstrapped ? cluster.allRegions() : []),
    region: (id) => {
      if (!cluster.isBootstrapped) return undefined;
      try {
        return cluster.getRegionById(id);
      } catch (e: unknown) {
        if (e instanceof PdRegionNotFoundError) return undefined;
        throw e;
      }
    },
    maxReplicas: () =>
      cluster.isBootstrapped ? cluster.clusterConfig().maxPeerCount || fallback : fallback,
  };
}
