import { metapb } from '@tikv-ts/proto';
import type { Rng } from '@tikv-ts/util';
import type { RegionInfo } from '../region-tree';
import type { ClusterSnapshot, StoreLoad } from './cluster-snapshot';
import type { OperatorInit } from './operator';
import { isRegionHealthy, movePeerSteps, type PeerIdAllocator } from './operator-builder';
import type { OperatorController } from './operator-controller';

/** What a scheduler run sees. */
export interface ScheduleContext {
  readonly snapshot: ClusterSnapshot;
  /** Read-only use: limits, running operators, store-limit tokens. */
  readonly controller: OperatorController;
  /** Randomness for picking among equally good regions (seeded in tests). */
  readonly rng: Rng;
  readonly allocPeerId: PeerIdAllocator;
}

/**
 * A scheduler (PD's `schedule.Scheduler`): looks at the cluster and proposes at most one
 * operator per run. Pure apart from drawing from `ctx.rng` and `ctx.allocPeerId`.
 */
export interface Scheduler {
  /** Name as PD lists it (`balance-leader-scheduler`, `balance-region-scheduler`). */
  readonly name: string;
  schedule(ctx: ScheduleContext): OperatorInit | undefined;
}

function byCount(
  key: (s: StoreLoad) => number,
  desc: boolean,
): (a: StoreLoad, b: StoreLoad) => number {
  return (a, b) => {
    const d = desc ? key(b) - key(a) : key(a) - key(b);
    if (d !== 0) return d;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  };
}

function pick<T>(rng: Rng, items: readonly T[]): T | undefined {
  return items.length === 0 ? undefined : items[rng.nextInt(items.length)];
}

/**
 * Evens out leaders (PD's balance-leader, by leader count): takes the store with most leaders
 * as source and the one with fewest as target (both Up, heartbeating, not busy), and when their
 * counts (with in-flight transfers counted) differ by more than `leaderTolerance`, transfers the
 * leader of a random healthy region led by the source that has a caught-up voter on the target.
 * When no such region exists it tries the next targets, then the next sources. Operator kind
 * `leader`; nothing while leader-schedule-limit is reached.
 */
export class BalanceLeaderScheduler implements Scheduler {
  readonly name = 'balance-leader-scheduler';

  schedule(ctx: ScheduleContext): OperatorInit | undefined {
    const { snapshot: snap, controller } = ctx;
    if (!controller.isKindAllowed('leader')) return undefined;
    const live = snap.stores().filter((s) => snap.canReceive(s.id));
    if (live.length < 2) return undefined;
    const led = new Map<bigint, RegionInfo[]>();
    for (const r of snap.regions()) {
      if (r.leader === undefined || !isRegionHealthy(r) || controller.get(r.meta.id) !== undefined)
        continue;
      const list = led.get(r.leader.storeId);
      if (list === undefined) led.set(r.leader.storeId, [r]);
      else list.push(r);
    }
    const sources = [...live].sort(byCount((s) => s.leaderCount, true));
    const targets = [...live].sort(byCount((s) => s.leaderCount, false));
    const tolerance = snap.config.leaderTolerance;
    for (const src of sources) {
      for (const tgt of targets) {
        if (src.leaderCount - tgt.leaderCount <= tolerance) break;
        const candidates = (led.get(src.id) ?? []).filter((r) =>
          r.meta.peers.some((p) => p.storeId === tgt.id && p.role === metapb.PeerRole.Voter),
        );
        const region = pick(ctx.rng, candidates);
        if (region === undefined) continue;
        return {
          desc: 'balance-leader',
          brief: `transfer leader of region ${region.meta.id} from store ${src.id} to store ${tgt.id}`,
          kind: 'leader',
          region,
          steps: [{ type: 'transfer-leader', fromStoreId: src.id, toStoreId: tgt.id }],
        };
      }
    }
    return undefined;
  }
}

/**
 * Evens out region counts (PD's balance-region, by region count rather than size): takes the
 * store with most regions as source (Up, heartbeating) and the one with fewest as target (able
 * to receive), and when their counts (with in-flight operators counted) differ by more than
 * `regionTolerance` and both have store-limit tokens, moves a random region of the source that
 * is healthy, has exactly max-replicas voters and no learner, all on good stores, and has no peer
 * on the target: add a learner on the target, promote it, move the leader off the source if it
 * is there, remove the source peer. The voter count never drops below max-replicas. Tries the
 * next targets, then sources, when no region fits. Operator kind `region`.
 */
export class BalanceRegionScheduler implements Scheduler {
  readonly name = 'balance-region-scheduler';

  schedule(ctx: ScheduleContext): OperatorInit | undefined {
    const { snapshot: snap, controller } = ctx;
    if (!controller.isKindAllowed('region')) return undefined;
    const max = snap.maxReplicas;
    const sources = snap
      .stores()
      .filter((s) => s.isUp && !s.isDisconnected)
      .sort(byCount((s) => s.regionCount, true));
    const targets = snap
      .stores()
      .filter((s) => snap.canReceive(s.id))
      .sort(byCount((s) => s.regionCount, false));
    const movable = snap
      .regions()
      .filter(
        (r) =>
          isRegionHealthy(r) &&
          controller.get(r.meta.id) === undefined &&
          r.meta.peers.length === max &&
          r.meta.peers.every(
            (p) => p.role === metapb.PeerRole.Voter && !snap.isStoreBad(p.storeId),
          ),
      );
    const tolerance = snap.config.regionTolerance;
    for (const src of sources) {
      if (controller.storeLimitAvailable(src.id, 'remove-peer') < 1) continue;
      const onSource = movable.filter((r) => r.meta.peers.some((p) => p.storeId === src.id));
      for (const tgt of targets) {
        if (src.regionCount - tgt.regionCount <= tolerance) break;
        if (controller.storeLimitAvailable(tgt.id, 'add-peer') < 1) continue;
        const candidates = onSource.filter((r) => !r.meta.peers.some((p) => p.storeId === tgt.id));
        const region = pick(ctx.rng, candidates);
        if (region === undefined) continue;
        const id = ctx.allocPeerId();
        if (id === undefined) return undefined;
        const steps = movePeerSteps(region, snap, {
          fromStoreId: src.id,
          toStoreId: tgt.id,
          newPeerId: id,
        });
        if (steps === undefined) continue;
        return {
          desc: 'balance-region',
          brief: `move region ${region.meta.id} from store ${src.id} to store ${tgt.id}`,
          kind: 'region',
          region,
          steps,
        };
      }
    }
    return undefined;
  }
}
