import { metapb, pdpb } from '@tikv-ts/proto';
import type { Clock, Rng, TimerHandle } from '@tikv-ts/util';
import type { RegionInfo } from '../region-tree';
import { ClusterSnapshot } from './cluster-snapshot';
import { defaultScheduleConfig, type ScheduleCluster, type ScheduleConfig } from './config';
import type { Operator, OperatorInit, OperatorJson } from './operator';
import type { PeerIdAllocator } from './operator-builder';
import { OperatorController, type AddOperatorResult } from './operator-controller';
import { ReplicaChecker } from './replica-checker';
import { BalanceLeaderScheduler, BalanceRegionScheduler, type Scheduler } from './schedulers';

/** Names of the schedulers this PD knows (PD's names). */
export const SCHEDULER_NAMES = ['balance-leader-scheduler', 'balance-region-scheduler'] as const;

/** A known scheduler name. */
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

/** Options of {@link Coordinator}. */
export interface CoordinatorOptions {
  readonly cluster: ScheduleCluster;
  /** Wall time for store liveness (against `StoreInfo.lastHeartbeatMs`); monotonic time for deadlines and intervals. */
  readonly clock: Clock;
  /** Randomness of the schedulers (forked per scheduler by name). */
  readonly rng: Rng;
  /** New peer ids (e.g. {@link PeerIdPool.take}). */
  readonly allocPeerId: PeerIdAllocator;
  /** Overrides of the defaults ({@link defaultScheduleConfig}). */
  readonly config?: Partial<ScheduleConfig>;
  /** Schedulers to run (default: both). */
  readonly schedulers?: readonly SchedulerName[];
  /** Put in the header of every response (default: no header). */
  readonly clusterId?: bigint;
  /** Called for every operator that ends. */
  readonly onOperatorEnd?: (op: Operator) => void;
}

/** A response to push to a store's region heartbeat stream now (an operator's first step). */
export interface OperatorDispatch {
  /** The store of the region's leader: the stream to send on. */
  readonly storeId: bigint;
  readonly regionId: bigint;
  readonly response: pdpb.RegionHeartbeatResponse;
}

interface SchedulerState {
  readonly scheduler: Scheduler;
  readonly rng: Rng;
  intervalMs: number;
  nextRunMs: number;
}

function makeScheduler(name: SchedulerName): Scheduler {
  switch (name) {
    case 'balance-leader-scheduler':
      return new BalanceLeaderScheduler();
    case 'balance-region-scheduler':
      return new BalanceRegionScheduler();
    default: {
      const never: never = name;
      throw new RangeError(`unknown scheduler ${String(never)}`);
    }
  }
}

/**
 * PD's scheduling coordinator: owns the {@link OperatorController}, runs the
 * {@link ReplicaChecker} over the regions and the schedulers on a clock-driven {@link tick}, and
 * drives operators with region heartbeats ({@link onRegionHeartbeat}).
 *
 * Operators whose next step targets a store that is no longer Up, or is down, are canceled on
 * the region's next heartbeat. Each tick: operators whose step is past its deadline, or whose region is gone, end; the replica
 * checker looks at the next `patrolRegionsPerTick` regions without an operator (round robin over
 * the regions in key order); each scheduler whose interval has elapsed runs once, its interval
 * going back to `minScheduleIntervalMs` when it produced an operator and growing ×1.3 up to
 * `maxScheduleIntervalMs` when not (PD's backoff). Every new operator's first step is returned for
 * pushing to the leader's stream at once; later steps (and re-sends) go out in heartbeat
 * responses.
 *
 * Deterministic for a given clock, rng and sequence of calls. Single-threaded.
 */
export class Coordinator {
  readonly config: ScheduleConfig;
  readonly controller: OperatorController;
  readonly replicaChecker = new ReplicaChecker();
  readonly #cluster: ScheduleCluster;
  readonly #clock: Clock;
  readonly #rng: Rng;
  readonly #allocPeerId: PeerIdAllocator;
  readonly #clusterId: bigint | undefined;
  readonly #schedulers = new Map<SchedulerName, SchedulerState>();
  #patrolCursor = 0;
  #timer: TimerHandle | undefined;

  constructor(options: CoordinatorOptions) {
    this.config = { ...defaultScheduleConfig(), ...options.config };
    this.#cluster = options.cluster;
    this.#clock = options.clock;
    this.#rng = options.rng;
    this.#allocPeerId = options.allocPeerId;
    this.#clusterId = options.clusterId;
    const isStoreUsable = (storeId: bigint): boolean => {
      const s = this.#cluster.stores().find((x) => x.meta.id === storeId);
      return (
        s !== undefined &&
        s.meta.state === metapb.StoreState.Up &&
        this.#clock.nowMs() - s.lastHeartbeatMs <= this.config.maxStoreDownTimeMs
      );
    };
    this.controller = new OperatorController(
      options.onOperatorEnd === undefined
        ? { clock: options.clock, config: this.config, isStoreUsable }
        : {
            clock: options.clock,
            config: this.config,
            isStoreUsable,
            onOperatorEnd: options.onOperatorEnd,
          },
    );
    for (const name of options.schedulers ?? SCHEDULER_NAMES) this.addScheduler(name);
  }

  /** Starts a scheduler (no-op when running). Returns whether it was added. */
  addScheduler(name: SchedulerName): boolean {
    if (this.#schedulers.has(name)) return false;
    this.#schedulers.set(name, {
      scheduler: makeScheduler(name),
      rng: this.#rng.fork(name),
      intervalMs: this.config.minScheduleIntervalMs,
      nextRunMs: this.#clock.monotonicMs(),
    });
    return true;
  }

  /** Stops a scheduler (its running operators continue). Returns whether it was running. */
  removeScheduler(name: SchedulerName): boolean {
    return this.#schedulers.delete(name);
  }

  /** Names of the running schedulers, in the order they were added (`/pd/api/v1/schedulers`). */
  listSchedulers(): string[] {
    return [...this.#schedulers.keys()];
  }

  /** Running operators, oldest first, as JSON (`/pd/api/v1/operators`). */
  listOperators(): OperatorJson[] {
    return this.controller.running().map((op) => op.toJson());
  }

  /** Ended operators, most recent first, as JSON. */
  listOperatorHistory(): OperatorJson[] {
    return this.controller.history().map((op) => op.toJson());
  }

  #withHeader(r: pdpb.RegionHeartbeatResponse): pdpb.RegionHeartbeatResponse {
    if (this.#clusterId === undefined) return r;
    return pdpb.RegionHeartbeatResponse.fromPartial({
      ...r,
      header: { clusterId: this.#clusterId },
    });
  }

  /**
   * Call after every accepted region heartbeat, with the region as PD now knows it. Returns the
   * response to send back on that heartbeat stream (the current step of the region's operator),
   * or undefined.
   */
  onRegionHeartbeat(region: RegionInfo): pdpb.RegionHeartbeatResponse | undefined {
    const r = this.controller.dispatch(region);
    return r === undefined ? undefined : this.#withHeader(r);
  }

  /**
   * Admits an operator built elsewhere (e.g. the HTTP API's `POST /operators`), and returns its
   * first step to push as well. The region's current state is taken from the cluster.
   */
  addOperator(init: OperatorInit): {
    readonly result: AddOperatorResult;
    readonly dispatch: OperatorDispatch | undefined;
  } {
    const result = this.controller.add(init);
    return { result, dispatch: result.ok ? this.#firstStep(result.operator) : undefined };
  }

  /**
   * Builds and admits a split operator for a region (kind `split`): by `keys` when given
   * (policy USEKEY), else by `policy` (TiKV finds the middle key).
   * @throws RangeError when the region is unknown
   */
  addSplitOperator(
    regionId: bigint,
    split: { readonly policy?: pdpb.CheckPolicy; readonly keys?: readonly Uint8Array[] } = {},
  ): {
    readonly result: AddOperatorResult;
    readonly dispatch: OperatorDispatch | undefined;
  } {
    const region = this.#cluster.region(regionId);
    if (region === undefined) throw new RangeError(`region ${regionId} not found`);
    const keys = split.keys ?? [];
    const policy =
      split.policy ?? (keys.length > 0 ? pdpb.CheckPolicy.USEKEY : pdpb.CheckPolicy.APPROXIMATE);
    return this.addOperator({
      desc: 'split-region',
      brief: `split region ${regionId}`,
      kind: 'split',
      priority: 'normal',
      region,
      steps: [
        {
          type: 'split-region',
          policy,
          keys,
          startKey: region.meta.startKey,
          endKey: region.meta.endKey,
        },
      ],
    });
  }

  #firstStep(op: Operator): OperatorDispatch | undefined {
    const region = this.#cluster.region(op.regionId);
    if (region === undefined) return undefined;
    const response = this.controller.dispatch(region);
    if (response === undefined || region.leader === undefined) return undefined;
    return {
      storeId: region.leader.storeId,
      regionId: op.regionId,
      response: this.#withHeader(response),
    };
  }

  /**
   * Runs {@link tick} every `intervalMs` of the injected clock until {@link stop}, handing each
   * tick's dispatches to `onDispatch` (e.g. `PdServer.sendRegionHeartbeatResponse`). An exception
   * from a tick or from `onDispatch` goes to `onError` (default: rethrown from the timer) and the
   * loop continues.
   * @throws RangeError when already started or `intervalMs` is not positive
   */
  start(
    intervalMs: number,
    onDispatch: (d: OperatorDispatch) => void,
    onError?: (e: unknown) => void,
  ): void {
    if (this.#timer !== undefined) throw new RangeError('coordinator already started');
    if (!(intervalMs > 0)) throw new RangeError(`interval ${intervalMs} ms must be positive`);
    const loop = (): void => {
      this.#timer = this.#clock.setTimer(intervalMs, () => {
        loop();
        try {
          for (const d of this.tick()) onDispatch(d);
        } catch (e: unknown) {
          if (onError === undefined) throw e;
          onError(e);
        }
      });
    };
    loop();
  }

  /** Stops the loop {@link start} began (running operators stay; heartbeats still drive them). */
  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /**
   * One round of checking and scheduling (see the class doc). Call it periodically (e.g. every
   * 100 ms of the clock). Returns the first steps of the operators it created.
   */
  tick(): OperatorDispatch[] {
    this.controller.checkTimeouts();
    for (const op of this.controller.running()) {
      if (this.#cluster.region(op.regionId) === undefined)
        this.controller.cancel(op.regionId, `region ${op.regionId} is gone`);
    }
    const snap = new ClusterSnapshot(this.#cluster, {
      config: this.config,
      nowMs: this.#clock.nowMs(),
      influence: this.controller.influence((id) => this.#cluster.region(id)),
    });
    const created: Operator[] = [];
    const admit = (init: OperatorInit | undefined): boolean => {
      if (init === undefined) return false;
      const res = this.controller.add(init);
      if (!res.ok) return false;
      snap.addInfluence(init.steps);
      created.push(res.operator);
      return true;
    };

    const regions = snap.regions();
    const n = Math.min(this.config.patrolRegionsPerTick, regions.length);
    for (let i = 0; i < n; i++) {
      const region = regions[(this.#patrolCursor + i) % regions.length];
      if (region === undefined || this.controller.get(region.meta.id) !== undefined) continue;
      if (!this.controller.isKindAllowed('replica')) break;
      admit(this.replicaChecker.check(region, snap, this.#allocPeerId));
    }
    this.#patrolCursor = regions.length === 0 ? 0 : (this.#patrolCursor + n) % regions.length;

    const now = this.#clock.monotonicMs();
    for (const st of this.#schedulers.values()) {
      if (now < st.nextRunMs) continue;
      const ok = admit(
        st.scheduler.schedule({
          snapshot: snap,
          controller: this.controller,
          rng: st.rng,
          allocPeerId: this.#allocPeerId,
        }),
      );
      st.intervalMs = ok
        ? this.config.minScheduleIntervalMs
        : Math.min(this.config.maxScheduleIntervalMs, st.intervalMs * 1.3);
      st.nextRunMs = now + st.intervalMs;
    }

    const out: OperatorDispatch[] = [];
    for (const op of created) {
      const d = this.#firstStep(op);
      if (d !== undefined) out.push(d);
    }
    return out;
  }
}
