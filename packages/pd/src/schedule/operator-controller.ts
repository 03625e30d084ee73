import type { pdpb } from '@tikv-ts/proto';
import type { Clock } from '@tikv-ts/util';
import type { RegionInfo } from '../region-tree';
import type { ScheduleConfig } from './config';
import {
  Operator,
  type OperatorInit,
  type OperatorKind,
  type OperatorPriority,
  type OperatorStatus,
} from './operator';
import { stepResponse, type OperatorStep } from './operator-step';

/** Why {@link OperatorController.add} refused an operator. */
export type AddOperatorRefusal =
  /** The region already runs an operator of the same or higher priority. */
  | 'region-busy'
  /** The operator's kind is at its schedule limit. */
  | 'kind-limit'
  /** A store it adds a peer to (or removes one from) has no store-limit token left. */
  | 'store-limit';

/** Result of {@link OperatorController.add}. */
export type AddOperatorResult =
  | { readonly ok: true; readonly operator: Operator; readonly replaced: Operator | undefined }
  | { readonly ok: false; readonly refusal: AddOperatorRefusal; readonly message: string };

/** Which store limit a step draws from. */
export type StoreLimitType = 'add-peer' | 'remove-peer';

/** Options of {@link OperatorController}. */
export interface OperatorControllerOptions {
  /** Monotonic time for step deadlines and store-limit refills. */
  readonly clock: Clock;
  readonly config: ScheduleConfig;
  /** Called once for every operator that ends (success, timeout, canceled, replaced). */
  readonly onOperatorEnd?: (op: Operator) => void;
  /**
   * Whether a store can still take a new peer or a leader (Up and not down). When given, an
   * operator whose current step targets an unusable store is canceled on the next heartbeat
   * instead of waiting for its step timeout.
   */
  readonly isStoreUsable?: (storeId: bigint) => boolean;
}

const PRIORITY_RANK: Record<OperatorPriority, number> = { low: 0, normal: 1, high: 2 };

interface Bucket {
  tokens: number;
  lastMs: number;
}

/**
 * Keeps the running operators (at most one per region, PD's OperatorController) and turns region
 * heartbeats into the responses that drive them.
 *
 * Admission ({@link add}): a region's running operator is replaced only by one of strictly higher
 * priority; each kind has an in-flight limit (leader/region/replica-schedule-limit); and every
 * store has two token buckets, `add-peer` and `remove-peer`, each holding up to its per-minute
 * rate and refilled continuously from the clock (PD's store limit). An operator takes one token
 * from the target store per peer it adds and one from the source store per peer it removes,
 * when it is admitted; tokens are not returned.
 *
 * Progress ({@link dispatch}): on each region heartbeat the operator skips finished steps; it ends
 * `success` when none is left, `canceled` when stale (see {@link Operator.check}), `timeout` when
 * its current step is past its deadline (or, with `isStoreUsable`, targets a lost store); otherwise the current step is sent again (TiKV ignores
 * a command it already runs), which is how lost responses are retried. A timed-out or canceled
 * operator is gone; its checker builds a new one on a later patrol. {@link checkTimeouts} ends
 * operators of regions that stopped heartbeating.
 *
 * Single-threaded; time comes only from the injected clock.
 */
export class OperatorController {
  readonly #clock: Clock;
  readonly #config: ScheduleConfig;
  readonly #onEnd: ((op: Operator) => void) | undefined;
  readonly #isStoreUsable: ((storeId: bigint) => boolean) | undefined;
  readonly #ops = new Map<bigint, Operator>();
  readonly #history: Operator[] = [];
  readonly #buckets = new Map<string, Bucket>();
  #nextId = 1;

  constructor(options: OperatorControllerOptions) {
    this.#clock = options.clock;
    this.#config = options.config;
    this.#onEnd = options.onOperatorEnd;
    this.#isStoreUsable = options.isStoreUsable;
  }

  /** The in-flight limit of a kind (Infinity for unlimited kinds). */
  limitOf(kind: OperatorKind): number {
    switch (kind) {
      case 'leader':
        return this.#config.leaderScheduleLimit;
      case 'region':
        return this.#config.regionScheduleLimit;
      case 'replica':
        return this.#config.replicaScheduleLimit;
      case 'split':
      case 'admin':
        return Infinity;
      default: {
        const never: never = kind;
        return never;
      }
    }
  }

  /** Running operators of a kind. */
  countOf(kind: OperatorKind): number {
    let n = 0;
    for (const op of this.#ops.values()) if (op.kind === kind) n++;
    return n;
  }

  /** Whether one more operator of `kind` would be within its limit. */
  isKindAllowed(kind: OperatorKind): boolean {
    return this.countOf(kind) < this.limitOf(kind);
  }

  #bucket(storeId: bigint, type: StoreLimitType): Bucket {
    const key = `${type}:${storeId}`;
    const rate = this.#ratePerMin(type);
    const now = this.#clock.monotonicMs();
    let b = this.#buckets.get(key);
    if (b === undefined) {
      b = { tokens: rate, lastMs: now };
      this.#buckets.set(key, b);
    } else if (now > b.lastMs) {
      b.tokens = Math.min(rate, b.tokens + ((now - b.lastMs) * rate) / 60_000);
      b.lastMs = now;
    }
    return b;
  }

  #ratePerMin(type: StoreLimitType): number {
    return type === 'add-peer'
      ? this.#config.storeLimitAddPeerPerMin
      : this.#config.storeLimitRemovePeerPerMin;
  }

  /** Whole tokens left in a store's bucket now. */
  storeLimitAvailable(storeId: bigint, type: StoreLimitType): number {
    return Math.floor(this.#bucket(storeId, type).tokens + 1e-9);
  }

  /** Tokens an operator needs, per store and limit type. */
  static storeCosts(
    steps: readonly OperatorStep[],
  ): Map<string, { storeId: bigint; type: StoreLimitType; count: number }> {
    const out = new Map<string, { storeId: bigint; type: StoreLimitType; count: number }>();
    const add = (storeId: bigint, type: StoreLimitType): void => {
      const key = `${type}:${storeId}`;
      const cur = out.get(key);
      if (cur === undefined) out.set(key, { storeId, type, count: 1 });
      else cur.count++;
    };
    for (const s of steps) {
      if (s.type === 'add-peer' || s.type === 'add-learner') add(s.storeId, 'add-peer');
      else if (s.type === 'remove-peer') add(s.storeId, 'remove-peer');
    }
    return out;
  }

  /** Whether the store limits would admit `steps` now (nothing is consumed). */
  isStoreLimitAllowed(steps: readonly OperatorStep[]): boolean {
    for (const c of OperatorController.storeCosts(steps).values()) {
      if (this.#bucket(c.storeId, c.type).tokens + 1e-9 < c.count) return false;
    }
    return true;
  }

  /**
   * Admits a new operator built from `init` (see the class doc for the rules). On success the
   * operator is running, the store-limit tokens are taken, and a replaced operator (if any) has
   * ended with status `replaced`.
   */
  add(init: OperatorInit): AddOperatorResult {
    const regionId = init.region.meta.id;
    const existing = this.#ops.get(regionId);
    const priority = init.priority ?? 'normal';
    if (existing !== undefined && PRIORITY_RANK[priority] <= PRIORITY_RANK[existing.priority]) {
      return {
        ok: false,
        refusal: 'region-busy',
        message: `region ${regionId} already runs operator ${existing.id} (${existing.desc})`,
      };
    }
    const running = this.countOf(init.kind) - (existing?.kind === init.kind ? 1 : 0);
    if (running >= this.limitOf(init.kind)) {
      return {
        ok: false,
        refusal: 'kind-limit',
        message: `${init.kind} operators are at their limit ${this.limitOf(init.kind)}`,
      };
    }
    if (!this.isStoreLimitAllowed(init.steps)) {
      return {
        ok: false,
        refusal: 'store-limit',
        message: `store limit reached for ${init.desc} on region ${regionId}`,
      };
    }
    for (const c of OperatorController.storeCosts(init.steps).values())
      this.#bucket(c.storeId, c.type).tokens -= c.count;
    const now = this.#clock.monotonicMs();
    const op = new Operator(this.#nextId++, init, now);
    if (existing !== undefined)
      this.#end(existing, 'replaced', `replaced by operator ${op.id} (${op.desc})`);
    this.#ops.set(regionId, op);
    return { ok: true, operator: op, replaced: existing };
  }

  #end(op: Operator, status: Exclude<OperatorStatus, 'running'>, reason: string): void {
    op.end(status, reason, this.#clock.monotonicMs());
    if (this.#ops.get(op.regionId) === op) this.#ops.delete(op.regionId);
    this.#history.unshift(op);
    if (this.#history.length > this.#config.historyLimit)
      this.#history.length = this.#config.historyLimit;
    this.#onEnd?.(op);
  }

  /** The running operator of a region. */
  get(regionId: bigint): Operator | undefined {
    return this.#ops.get(regionId);
  }

  /** Running operators ordered by id (creation order). */
  running(): Operator[] {
    return [...this.#ops.values()].sort((a, b) => a.id - b.id);
  }

  /** Ended operators, most recent first, at most `historyLimit`. */
  history(): readonly Operator[] {
    return this.#history;
  }

  /**
   * The steps of every running operator whose effect PD does not see yet (for
   * {@link ClusterSnapshot} influence); `regionOf` gives the region as PD knows it.
   */
  influence(
    regionOf: (regionId: bigint) => RegionInfo | undefined = () => undefined,
  ): (readonly OperatorStep[])[] {
    return this.running().map((op) => op.unappliedSteps(regionOf(op.regionId)));
  }

  /**
   * Drives the region's operator with a heartbeat of `region` (see the class doc). Returns the
   * response to send to the region leader (header unset), or undefined when there is nothing to
   * send (no operator, or it just ended).
   */
  dispatch(region: RegionInfo): pdpb.RegionHeartbeatResponse | undefined {
    const op = this.#ops.get(region.meta.id);
    if (op === undefined) return undefined;
    const c = op.check(region, {
      nowMs: this.#clock.monotonicMs(),
      timeouts: this.#config,
      isStoreUsable: this.#isStoreUsable,
    });
    switch (c.kind) {
      case 'finished':
        this.#end(op, 'success', '');
        return undefined;
      case 'stale':
        this.#end(op, 'canceled', `stale: ${c.reason}`);
        return undefined;
      case 'timeout':
        this.#end(op, 'timeout', `step ${op.currentStepIndex} timed out`);
        return undefined;
      case 'step':
        return stepResponse(c.step, region);
      default: {
        const never: never = c;
        return never;
      }
    }
  }

  /** Ends every running operator whose current step is past its deadline; returns them. */
  checkTimeouts(): Operator[] {
    const now = this.#clock.monotonicMs();
    const out: Operator[] = [];
    for (const op of this.running()) {
      if (op.isStepTimedOut(now, this.#config)) {
        this.#end(op, 'timeout', `step ${op.currentStepIndex} timed out`);
        out.push(op);
      }
    }
    return out;
  }

  /** Cancels the region's running operator, if any (e.g. the region is gone); returns it. */
  cancel(regionId: bigint, reason: string): Operator | undefined {
    const op = this.#ops.get(regionId);
    if (op !== undefined) this.#end(op, 'canceled', reason);
    return op;
  }
}
