import type { metapb } from '@tikv-ts/proto';
import type { RegionInfo } from '../region-tree';
import {
  describeStep,
  isSlowStep,
  isStepFinished,
  stepBlockedReason,
  stepChangesConfVer,
  stepConfVerApplied,
  type OperatorStep,
} from './operator-step';

/**
 * The limit an operator counts against (PD's OpKind, reduced to one kind per operator):
 * `leader` → leader-schedule-limit, `region` → region-schedule-limit, `replica` →
 * replica-schedule-limit; `split` and `admin` are not limited.
 */
export type OperatorKind = 'leader' | 'region' | 'replica' | 'split' | 'admin';

/** Operator priority: a new operator replaces a region's running one only with a higher priority. */
export type OperatorPriority = 'low' | 'normal' | 'high';

/** Where an operator is: running, or one of its end states. */
export type OperatorStatus = 'running' | 'success' | 'timeout' | 'canceled' | 'replaced';

/** Outcome of {@link Operator.check}. */
export type OperatorCheck =
  | { readonly kind: 'step'; readonly step: OperatorStep }
  | { readonly kind: 'finished' }
  | { readonly kind: 'stale'; readonly reason: string }
  | { readonly kind: 'timeout'; readonly step: OperatorStep };

/** JSON view of an operator for `/pd/api/v1/operators`. */
export interface OperatorJson {
  readonly id: number;
  readonly desc: string;
  readonly brief: string;
  readonly kind: OperatorKind;
  readonly priority: OperatorPriority;
  readonly region_id: string;
  readonly region_epoch: { readonly conf_ver: string; readonly version: string };
  readonly steps: readonly string[];
  readonly current_step: number;
  readonly status: OperatorStatus;
  readonly reason: string;
  readonly create_ms: number;
  readonly step_start_ms: number;
  readonly end_ms: number | null;
}

/** Step timeouts in ms of monotonic time (PD's fast/slow step wait times). */
export interface StepTimeouts {
  /** Leader transfer, promotion, removal (PD: 60 s). */
  readonly fastStepTimeoutMs: number;
  /** Adding a peer or learner (a snapshot moves) and splits (PD: 10 min). */
  readonly slowStepTimeoutMs: number;
}

/** Fields of a new {@link Operator}. */
export interface OperatorInit {
  readonly desc: string;
  readonly brief: string;
  readonly kind: OperatorKind;
  readonly priority?: OperatorPriority;
  /** The region as it was when the operator was built; its epoch is the one the steps expect. */
  readonly region: RegionInfo;
  readonly steps: readonly OperatorStep[];
}

/**
 * A sequence of steps PD asks one region to go through (PD's `operator.Operator`). Created for
 * the region epoch it was built from: a later heartbeat whose version differs (the region split
 * or merged; allowed only when the operator splits) or whose conf version advanced more than the
 * finished conf-change steps explain is stale, and the operator is canceled.
 *
 * Time is given by the caller (monotonic ms). Each step has its own deadline counted from when it
 * became current; a step past its deadline times the operator out. Not thread-safe; owned by the
 * {@link OperatorController}.
 */
export class Operator {
  readonly id: number;
  readonly desc: string;
  readonly brief: string;
  readonly kind: OperatorKind;
  readonly priority: OperatorPriority;
  readonly regionId: bigint;
  readonly regionEpoch: metapb.RegionEpoch;
  readonly steps: readonly OperatorStep[];
  readonly createMs: number;
  #current = 0;
  #stepStartMs: number;
  #status: OperatorStatus = 'running';
  #reason = '';
  #endMs: number | undefined;

  /** @throws RangeError when `steps` is empty or the region has no epoch */
  constructor(id: number, init: OperatorInit, nowMs: number) {
    if (init.steps.length === 0) throw new RangeError(`operator ${init.desc} has no steps`);
    const epoch = init.region.meta.regionEpoch;
    if (epoch === undefined) throw new RangeError(`region ${init.region.meta.id} has no epoch`);
    this.id = id;
    this.desc = init.desc;
    this.brief = init.brief;
    this.kind = init.kind;
    this.priority = init.priority ?? 'normal';
    this.regionId = init.region.meta.id;
    this.regionEpoch = { confVer: epoch.confVer, version: epoch.version };
    this.steps = init.steps;
    this.createMs = nowMs;
    this.#stepStartMs = nowMs;
  }

  /** Index of the current step (equals `steps.length` once every step is finished). */
  get currentStepIndex(): number {
    return this.#current;
  }

  /** The current step, undefined once all are finished. */
  get currentStep(): OperatorStep | undefined {
    return this.steps[this.#current];
  }

  get status(): OperatorStatus {
    return this.#status;
  }

  /** Why the operator ended (empty while running or on success). */
  get reason(): string {
    return this.#reason;
  }

  get isEnded(): boolean {
    return this.#status !== 'running';
  }

  /** Unfinished steps (the current one first): what the operator will still change. */
  remainingSteps(): readonly OperatorStep[] {
    return this.steps.slice(this.#current);
  }

  /**
   * The steps whose effect `region` (the region as PD knows it now, or undefined) does not show
   * yet: the remaining steps, minus the current one when its change is already visible (a new
   * peer still pending, say). This is the operator's influence on store loads.
   */
  unappliedSteps(region: RegionInfo | undefined): readonly OperatorStep[] {
    const rest = this.steps.slice(this.#current);
    const cur = rest[0];
    if (region === undefined || cur === undefined) return rest;
    const visible =
      cur.type === 'transfer-leader'
        ? region.leader?.storeId === cur.toStoreId
        : stepConfVerApplied(cur, region) === 1n;
    return visible ? rest.slice(1) : rest;
  }

  /**
   * Conf version changes the operator accounts for on `region` (PD's ConfVerChanged): one per
   * finished conf-change step, plus the current step when its change is visible already.
   */
  confVerChanged(region: RegionInfo): bigint {
    let n = 0n;
    for (let i = 0; i < this.#current; i++) {
      const s = this.steps[i];
      if (s !== undefined && stepChangesConfVer(s)) n++;
    }
    const cur = this.steps[this.#current];
    if (cur !== undefined) n += stepConfVerApplied(cur, region);
    return n;
  }

  /**
   * Advances past every step `region` shows as finished, then decides: the next step to send,
   * finished, stale (epoch moved unexpectedly or the step cannot progress), or timed out (the
   * current step has been current longer than its timeout at `nowMs`). `isStoreUsable` (see
   * {@link stepBlockedReason}) lets a step whose target store is lost fail at once. Does not end
   * the operator; the controller does.
   */
  check(
    region: RegionInfo,
    options: {
      readonly nowMs: number;
      readonly timeouts: StepTimeouts;
      readonly isStoreUsable?: ((storeId: bigint) => boolean) | undefined;
    },
  ): OperatorCheck {
    const { nowMs, timeouts, isStoreUsable } = options;
    if (region.meta.id !== this.regionId)
      throw new RangeError(
        `operator ${this.id} is for region ${this.regionId}, not ${region.meta.id}`,
      );
    for (;;) {
      const step = this.steps[this.#current];
      if (step === undefined || !isStepFinished(step, region)) break;
      this.#current++;
      this.#stepStartMs = nowMs;
    }
    const step = this.steps[this.#current];
    if (step === undefined) return { kind: 'finished' };
    const latest = region.meta.regionEpoch ?? { confVer: 0n, version: 0n };
    if (
      latest.version !== this.regionEpoch.version &&
      !this.steps.some((s) => s.type === 'split-region')
    ) {
      return {
        kind: 'stale',
        reason: `region version changed from ${this.regionEpoch.version} to ${latest.version}`,
      };
    }
    if (latest.confVer - this.regionEpoch.confVer > this.confVerChanged(region)) {
      return {
        kind: 'stale',
        reason: `conf version ${latest.confVer} is beyond the expected ${this.regionEpoch.confVer + this.confVerChanged(region)}`,
      };
    }
    const blocked = stepBlockedReason(step, region, { isStoreUsable });
    if (blocked !== undefined) return { kind: 'stale', reason: blocked };
    if (this.isStepTimedOut(nowMs, timeouts)) return { kind: 'timeout', step };
    return { kind: 'step', step };
  }

  /** Whether the current step has been current for longer than its timeout at `nowMs`. */
  isStepTimedOut(nowMs: number, timeouts: StepTimeouts): boolean {
    const step = this.steps[this.#current];
    if (step === undefined) return false;
    const limit = isSlowStep(step) ? timeouts.slowStepTimeoutMs : timeouts.fastStepTimeoutMs;
    return nowMs - this.#stepStartMs > limit;
  }

  /** Ends the operator (first end wins; later calls are ignored). */
  end(status: Exclude<OperatorStatus, 'running'>, reason: string, nowMs: number): void {
    if (this.#status !== 'running') return;
    this.#status = status;
    this.#reason = reason;
    this.#endMs = nowMs;
  }

  /** JSON view (ids as decimal strings). */
  toJson(): OperatorJson {
    return {
      id: this.id,
      desc: this.desc,
      brief: this.brief,
      kind: this.kind,
      priority: this.priority,
      region_id: this.regionId.toString(),
      region_epoch: {
        conf_ver: this.regionEpoch.confVer.toString(),
        version: this.regionEpoch.version.toString(),
      },
      steps: this.steps.map(describeStep),
      current_step: this.#current,
      status: this.#status,
      reason: this.#reason,
      create_ms: this.createMs,
      step_start_ms: this.#stepStartMs,
      end_ms: this.#endMs ?? null,
    };
  }

  /** `desc {steps} (region N)`, for logs. */
  toString(): string {
    return `${this.desc} {${this.steps.map(describeStep).join(', ')}} (region ${this.regionId})`;
  }
}
