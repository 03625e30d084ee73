import { metapb } from '@tikv-ts/proto';
import type { StoreInfo } from '../cluster';
import type { RegionInfo } from '../region-tree';
import type { ScheduleCluster, ScheduleConfig } from './config';
import type { OperatorStep } from './operator-step';

/** A store as the schedulers see it: health and load, including in-flight operators' influence. */
export interface StoreLoad {
  readonly id: bigint;
  readonly info: StoreInfo;
  /** Metadata state is Up and the last heartbeat is within max-store-down-time. */
  readonly isUp: boolean;
  /** Missed heartbeats for longer than max-store-down-time (and not a tombstone). */
  readonly isDown: boolean;
  /** Missed heartbeats for longer than the disconnect time. */
  readonly isDisconnected: boolean;
  readonly isOffline: boolean;
  readonly isTombstone: boolean;
  /** The store reported itself busy in its last heartbeat. */
  readonly isBusy: boolean;
  /** Bytes available, from the last store heartbeat (0 when unknown). */
  readonly availableBytes: bigint;
  /** Regions with a peer on the store, plus peers in-flight operators add, minus those they remove. */
  regionCount: number;
  /** Leaders on the store, plus in-flight leader transfers to it, minus those away from it. */
  leaderCount: number;
}

function compareIds(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A point-in-time view of the cluster for one round of checkers and schedulers: the stores with
 * their health (computed from `nowMs`, wall-clock ms, against the config's down and disconnect
 * times) and their region and leader counts, adjusted by the remaining steps of in-flight
 * operators (PD's operator influence) so that concurrent operators do not all pick the same
 * store. A pure value: built from its inputs, changed only by {@link addInfluence}.
 */
export class ClusterSnapshot {
  readonly nowMs: number;
  readonly maxReplicas: number;
  readonly config: ScheduleConfig;
  readonly #stores = new Map<bigint, StoreLoad>();
  readonly #regions: readonly RegionInfo[];

  /**
   * @param options.nowMs wall-clock ms to judge store liveness by
   * @param options.influence unfinished steps of in-flight operators (see {@link addInfluence})
   */
  constructor(
    cluster: ScheduleCluster,
    options: {
      readonly config: ScheduleConfig;
      readonly nowMs: number;
      readonly influence?: readonly (readonly OperatorStep[])[];
    },
  ) {
    const { config, nowMs, influence = [] } = options;
    this.nowMs = nowMs;
    this.config = config;
    this.maxReplicas = cluster.maxReplicas();
    this.#regions = cluster.regions();
    const stores = [...cluster.stores()].sort((a, b) => compareIds(a.meta.id, b.meta.id));
    for (const s of stores) {
      const silentMs = nowMs - s.lastHeartbeatMs;
      const isTombstone = s.meta.state === metapb.StoreState.Tombstone;
      const isDown = !isTombstone && silentMs > config.maxStoreDownTimeMs;
      this.#stores.set(s.meta.id, {
        id: s.meta.id,
        info: s,
        isUp: s.meta.state === metapb.StoreState.Up && !isDown,
        isDown,
        isDisconnected: silentMs > config.storeDisconnectMs,
        isOffline: s.meta.state === metapb.StoreState.Offline,
        isTombstone,
        isBusy: s.stats?.isBusy ?? false,
        availableBytes: s.stats?.available ?? 0n,
        regionCount: 0,
        leaderCount: 0,
      });
    }
    for (const r of this.#regions) {
      for (const p of r.meta.peers) {
        const s = this.#stores.get(p.storeId);
        if (s !== undefined) s.regionCount++;
      }
      const l = r.leader === undefined ? undefined : this.#stores.get(r.leader.storeId);
      if (l !== undefined) l.leaderCount++;
    }
    for (const steps of influence) this.addInfluence(steps);
  }

  /** Counts the effect of not-yet-finished steps into the stores' loads. */
  addInfluence(steps: readonly OperatorStep[]): void {
    for (const step of steps) {
      switch (step.type) {
        case 'add-peer':
        case 'add-learner': {
          const s = this.#stores.get(step.storeId);
          if (s !== undefined) s.regionCount++;
          break;
        }
        case 'remove-peer': {
          const s = this.#stores.get(step.storeId);
          if (s !== undefined) s.regionCount--;
          break;
        }
        case 'transfer-leader': {
          const from = this.#stores.get(step.fromStoreId);
          const to = this.#stores.get(step.toStoreId);
          if (from !== undefined) from.leaderCount--;
          if (to !== undefined) to.leaderCount++;
          break;
        }
        case 'promote-learner':
        case 'split-region':
          break;
        default: {
          const never: never = step;
          throw new TypeError(`unknown step ${String(never)}`);
        }
      }
    }
  }

  /** Every store ordered by id. */
  stores(): readonly StoreLoad[] {
    return [...this.#stores.values()];
  }

  /** A store by id, undefined when PD does not know it. */
  store(id: bigint): StoreLoad | undefined {
    return this.#stores.get(id);
  }

  /** Every region in key order. */
  regions(): readonly RegionInfo[] {
    return this.#regions;
  }

  /**
   * Whether a peer on this store is lost for good and must be replaced: the store is unknown,
   * down, offline or a tombstone.
   */
  isStoreBad(id: bigint): boolean {
    const s = this.#stores.get(id);
    return s === undefined || s.isDown || s.isOffline || s.isTombstone;
  }

  /** Whether the store may receive a new peer or leader: Up, heartbeating, not busy. */
  canReceive(id: bigint): boolean {
    const s = this.#stores.get(id);
    return s !== undefined && s.isUp && !s.isDisconnected && !s.isBusy;
  }

  /**
   * The best store for a new peer of `region` (PD's replica placement without labels): one that
   * can receive, holds no peer of the region and is not in `exclude`; fewest regions first, then
   * most available space, then lowest id. Undefined when none qualifies.
   */
  bestStoreForNewPeer(
    region: RegionInfo,
    exclude: ReadonlySet<bigint> = new Set(),
  ): StoreLoad | undefined {
    let best: StoreLoad | undefined;
    for (const s of this.#stores.values()) {
      if (!this.canReceive(s.id) || exclude.has(s.id)) continue;
      if (region.meta.peers.some((p) => p.storeId === s.id)) continue;
      if (
        best === undefined ||
        s.regionCount < best.regionCount ||
        (s.regionCount === best.regionCount && s.availableBytes > best.availableBytes)
      ) {
        best = s;
      }
    }
    return best;
  }
}
