import type { Clock } from './clock';
import type { Rng } from './rng';

/**
 * One step of a failpoint's behaviour. `times` limits how often it fires before the next task is
 * used; `probability` (in [0, 1], needs the registry's rng) makes it fire only sometimes (when
 * the draw fails the evaluation does nothing).
 */
export type FailpointTask = (
  | { action: 'return'; value?: unknown }
  | { action: 'throw'; error: unknown }
  | { action: 'delay'; ms: number }
  | { action: 'pause' }
  | { action: 'call'; fn: () => unknown }
  | { action: 'off' }
) & { times?: number; probability?: number };

/** Thrown by a `panic` task of the fail-rs string syntax. */
export class FailpointPanic extends Error {
  constructor(name: string, message: string) {
    super(message.length > 0 ? message : `Failpoint ${name} panicked`);
    this.name = 'FailpointPanic';
  }
}

interface ActiveTask {
  readonly task: FailpointTask;
  remaining: number;
}

interface Point {
  readonly tasks: ActiveTask[];
  hits: number;
}

interface Waiter {
  resolve(): void;
}

/** Options of {@link Failpoints}. */
export interface FailpointsOptions {
  /** Drives `delay` tasks (virtual time in simulations). */
  clock: Clock;
  /** Draws for `probability`; required before a task with a probability below 1 is set. */
  rng?: Rng;
}

/**
 * A registry of named failpoints (TiKV's fail-rs, as an object: one per runtime, no module-level
 * singleton). Code marks places with a name such as `"raftstore::apply::before_write"`; tests
 * (or the status server's `/fail` API) attach behaviour:
 *
 * ```ts
 * if (rt.failpoints.enabled) {
 *   const injected = await rt.failpoints.eval('raftstore::apply::before_write');
 *   if (injected !== undefined) return injected;
 * }
 * ```
 *
 * With nothing set, `enabled` is false and the guarded check costs one property read.
 * `eval` resolves to the injected value of a `return` task (`true` when it has none) and to
 * `undefined` otherwise; `throw` tasks reject; `delay` waits on the Clock; `pause` waits until
 * {@link resume}, {@link remove} or a new {@link set} for that name.
 */
export class Failpoints {
  /** True when at least one failpoint is set. The fast path for call sites. */
  enabled = false;
  readonly #clock: Clock;
  readonly #rng: Rng | undefined;
  readonly #points = new Map<string, Point>();
  readonly #paused = new Map<string, Set<Waiter>>();
  readonly #pauseWatchers = new Map<string, Array<() => void>>();
  readonly #hits = new Map<string, number>();

  constructor(options: FailpointsOptions) {
    this.#clock = options.clock;
    this.#rng = options.rng;
  }

  /**
   * Sets the behaviour of `name`, replacing any earlier one (and releasing evaluations paused
   * there). `tasks` is one task, a list tried in order, or fail-rs syntax such as `"return(5)"`,
   * `"3*return->off"`, `"50%delay(100)"`, `"pause"`, `"panic(msg)"`, `"sleep(10)"`, `"off"`.
   * @throws TypeError for malformed syntax or a probability without an rng
   */
  set(name: string, tasks: FailpointTask | readonly FailpointTask[] | string): void {
    if (name.length === 0) throw new TypeError('A failpoint needs a name');
    const list = typeof tasks === 'string' ? parseFailpointActions(name, tasks) : Array.isArray(tasks) ? (tasks as readonly FailpointTask[]) : [tasks as FailpointTask];
    for (const t of list) {
      if (t.probability !== undefined) {
        if (!(t.probability >= 0 && t.probability <= 1)) throw new TypeError(`Failpoint ${name}: probability ${t.probability} is not in [0, 1]`);
        if (t.probability < 1 && this.#rng === undefined) throw new TypeError(`Failpoint ${name}: a probability needs Failpoints to have an rng`);
      }
      if (t.times !== undefined && !(Number.isInteger(t.times) && t.times >= 0)) throw new TypeError(`Failpoint ${name}: times ${t.times} is not a non-negative integer`);
      if (t.action === 'delay' && !(t.ms >= 0)) throw new TypeError(`Failpoint ${name}: delay ${t.ms} ms is negative`);
    }
    this.#points.set(name, { tasks: list.map((task) => ({ task, remaining: task.times ?? Number.POSITIVE_INFINITY })), hits: 0 });
    this.enabled = true;
    this.#release(name);
  }

  /**
   * Configures several failpoints from TiKV's `FAILPOINTS` environment format:
   * `"name1=return(1);name2=pause"`. Empty entries are ignored.
   */
  configure(spec: string): void {
    for (const entry of spec.split(';')) {
      const trimmed = entry.trim();
      if (trimmed.length === 0) continue;
      const eq = trimmed.indexOf('=');
      if (eq <= 0) throw new TypeError(`Failpoint spec "${trimmed}" must look like name=actions`);
      this.set(trimmed.slice(0, eq).trim(), trimmed.slice(eq + 1).trim());
    }
  }

  /** Removes `name` (releasing paused evaluations). */
  remove(name: string): void {
    this.#points.delete(name);
    this.enabled = this.#points.size > 0;
    this.#release(name);
  }

  /** Removes every failpoint (releasing paused evaluations). */
  clear(): void {
    const names = [...this.#points.keys(), ...this.#paused.keys()];
    this.#points.clear();
    this.enabled = false;
    for (const name of names) this.#release(name);
  }

  /** Releases evaluations paused at `name`; the failpoint stays set (later evaluations pause again). */
  resume(name: string): void {
    this.#release(name);
  }

  /** Names of the set failpoints, sorted. */
  list(): string[] {
    return [...this.#points.keys()].sort();
  }

  /** How many evaluations of `name` performed an action (not `off`, not a failed probability draw). */
  hits(name: string): number {
    return this.#hits.get(name) ?? 0;
  }

  /** How many evaluations are paused at `name` now. */
  pausedCount(name: string): number {
    return this.#paused.get(name)?.size ?? 0;
  }

  /** Resolves once at least one evaluation is paused at `name` (at once if one already is). */
  waitPaused(name: string): Promise<void> {
    if (this.pausedCount(name) > 0) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.#pauseWatchers.get(name) ?? [];
      list.push(resolve);
      this.#pauseWatchers.set(name, list);
    });
  }

  /**
   * Evaluates `name`: resolves to the injected value of a `return` task (`true` when it has no
   * value), or `undefined`; rejects for `throw`; waits for `delay`/`pause`. Cheap when not
   * enabled, but hot paths should test {@link enabled} first to skip the promise.
   */
  async eval(name: string): Promise<unknown> {
    if (!this.enabled) return undefined;
    const task = this.#pick(name);
    if (task === undefined) return undefined;
    switch (task.action) {
      case 'return':
        return 'value' in task ? task.value : true;
      case 'throw':
        throw task.error;
      case 'delay':
        await this.#clock.sleep(task.ms);
        return undefined;
      case 'pause':
        await this.#pause(name);
        return undefined;
      case 'call':
        await task.fn();
        return undefined;
      case 'off':
        return undefined;
      default: {
        const never: never = task;
        throw new TypeError(`Unknown failpoint action ${String((never as { action: unknown }).action)}`);
      }
    }
  }

  /**
   * Evaluates `name` synchronously (for code that cannot await): like {@link eval} for
   * `return`, `throw`, `call` and `off`.
   * @throws TypeError when the task is `delay` or `pause`, which need {@link eval}
   */
  evalSync(name: string): unknown {
    if (!this.enabled) return undefined;
    const task = this.#pick(name);
    if (task === undefined) return undefined;
    switch (task.action) {
      case 'return':
        return 'value' in task ? task.value : true;
      case 'throw':
        throw task.error;
      case 'call':
        task.fn();
        return undefined;
      case 'off':
        return undefined;
      case 'delay':
      case 'pause':
        throw new TypeError(`Failpoint ${name} has a ${task.action} task, which needs await failpoints.eval()`);
      default: {
        const never: never = task;
        throw new TypeError(`Unknown failpoint action ${String((never as { action: unknown }).action)}`);
      }
    }
  }

  /** Chooses the task that fires now, updating counts; undefined when nothing fires. */
  #pick(name: string): FailpointTask | undefined {
    const point = this.#points.get(name);
    if (point === undefined) return undefined;
    for (const active of point.tasks) {
      if (active.remaining <= 0) continue;
      const p = active.task.probability;
      if (p !== undefined && p < 1 && !(this.#rng as Rng).chance(p)) return undefined;
      active.remaining--;
      if (active.task.action !== 'off') this.#hits.set(name, (this.#hits.get(name) ?? 0) + 1);
      return active.task;
    }
    return undefined;
  }

  #pause(name: string): Promise<void> {
    return new Promise((resolve) => {
      const set = this.#paused.get(name) ?? new Set<Waiter>();
      set.add({ resolve });
      this.#paused.set(name, set);
      const watchers = this.#pauseWatchers.get(name);
      if (watchers !== undefined) {
        this.#pauseWatchers.delete(name);
        for (const w of watchers) w();
      }
    });
  }

  #release(name: string): void {
    const set = this.#paused.get(name);
    if (set === undefined) return;
    this.#paused.delete(name);
    for (const w of set) w.resolve();
  }
}

const TASK_PATTERN = /^(?:(\d+(?:\.\d+)?)%)?(?:(\d+)\*)?([a-z_]+)(?:\((.*)\))?$/s;

/**
 * Parses fail-rs action syntax: tasks joined by `->`, each `[p%][n*]action[(arg)]` with actions
 * `off`, `return[(value)]`, `sleep(ms)`/`delay(ms)`, `pause`, `panic[(message)]`/`throw[(message)]`.
 * A `return` argument is passed as a string.
 * @throws TypeError for malformed syntax
 */
export function parseFailpointActions(name: string, text: string): FailpointTask[] {
  const tasks: FailpointTask[] = [];
  for (const raw of text.split('->')) {
    const part = raw.trim();
    const m = TASK_PATTERN.exec(part);
    if (m === null) throw new TypeError(`Failpoint ${name}: cannot parse action "${part}"`);
    const [, pct, count, actionMatch, arg] = m;
    const action = actionMatch ?? '';
    const extra: { times?: number; probability?: number } = {};
    if (count !== undefined) extra.times = Number(count);
    if (pct !== undefined) extra.probability = Number(pct) / 100;
    switch (action) {
      case 'off':
        tasks.push({ action: 'off', ...extra });
        break;
      case 'return':
        tasks.push(arg === undefined ? { action: 'return', ...extra } : { action: 'return', value: arg, ...extra });
        break;
      case 'sleep':
      case 'delay': {
        const ms = Number(arg);
        if (arg === undefined || !Number.isFinite(ms) || ms < 0) throw new TypeError(`Failpoint ${name}: ${action} needs a millisecond count`);
        tasks.push({ action: 'delay', ms, ...extra });
        break;
      }
      case 'pause':
        tasks.push({ action: 'pause', ...extra });
        break;
      case 'panic':
      case 'throw':
        tasks.push({ action: 'throw', error: new FailpointPanic(name, arg ?? ''), ...extra });
        break;
      default:
        throw new TypeError(`Failpoint ${name}: unknown action "${action}"`);
    }
  }
  return tasks;
}
