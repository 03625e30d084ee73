import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** A metric name or label name must match this (Prometheus data model, lower case only). */
export const METRIC_NAME_PATTERN = /^[a-z_][a-z0-9_]*$/;

/** Options of {@link MetricsRegistry}. */
export interface MetricsRegistryOptions {
  /**
   * Prefixes a metric name must start with (the component), each ending with `_`.
   * Default `['tikv_', 'pd_']`.
   */
  allowedPrefixes?: readonly string[];
  /** Labels added to every exported series (e.g. `{ instance: 'store-1' }`). */
  defaultLabels?: Readonly<Record<string, string>>;
}

/** Thrown (as a programmer error) when a metric name or its labels break the naming rules. */
export class MetricNameError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'MetricNameError';
  }
}

/**
 * `count` buckets starting at `start`, each `factor` times the previous (as TiKV's
 * `exponential_buckets`).
 * @throws RangeError when `start <= 0`, `factor <= 1` or `count < 1`
 */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  if (!(start > 0) || !(factor > 1) || !Number.isInteger(count) || count < 1) {
    throw new RangeError(`Bad exponential buckets (start ${start}, factor ${factor}, count ${count})`);
  }
  const out: number[] = [];
  let v = start;
  for (let i = 0; i < count; i++) {
    out.push(v);
    v *= factor;
  }
  return out;
}

/** Default buckets of `_seconds` histograms: 0.5 ms … ~262 s (TiKV's usual choice). */
export const DEFAULT_SECONDS_BUCKETS: readonly number[] = exponentialBuckets(0.0005, 2, 20);
/** Default buckets of other histograms (bytes, counts): 1 … 2^19. */
export const DEFAULT_COUNT_BUCKETS: readonly number[] = exponentialBuckets(1, 2, 20);

// Units that Prometheus wants in base form (seconds, bytes).
const NON_BASE_UNITS = new Set(['ms', 'millis', 'milliseconds', 'us', 'micros', 'microseconds', 'ns', 'nanoseconds', 'minutes', 'hours', 'kb', 'kib', 'mb', 'mib', 'gb', 'gib']);

/** The kinds of metric {@link MetricsRegistry} creates. */
export type MetricKind = 'counter' | 'gauge' | 'histogram';
type Kind = MetricKind;

interface Entry {
  readonly kind: Kind;
  readonly labelNames: readonly string[];
  readonly buckets: readonly number[] | undefined;
  readonly metric: Counter<string> | Gauge<string> | Histogram<string>;
}

/**
 * The metrics of one runtime (one server, one simulated node): a private prom-client
 * `Registry`, never prom-client's global default, so that several nodes can live in one process
 * and tests start from zero.
 *
 * Names follow TiKV's conventions and are checked on creation: `<prefix><subsystem>_<name>`
 * (prefix `tikv_` or `pd_` by default), lower-case snake case, counters end in `_total`, durations
 * are `_seconds` and sizes `_bytes` (names ending in `_ms`, `_mb`, … are rejected). Asking twice
 * for the same name returns the same metric; asking with a different kind, labels or buckets
 * throws {@link MetricNameError}.
 *
 * Durations are measured with the runtime's Clock, not prom-client's `startTimer` (which reads
 * the process clock).
 */
export class MetricsRegistry {
  /** The underlying prom-client registry (for merging or custom collectors). */
  readonly registry: Registry;
  readonly #prefixes: readonly string[];
  readonly #entries = new Map<string, Entry>();

  constructor(options: MetricsRegistryOptions = {}) {
    this.registry = new Registry();
    this.#prefixes = options.allowedPrefixes ?? ['tikv_', 'pd_'];
    if (options.defaultLabels !== undefined) {
      for (const label of Object.keys(options.defaultLabels)) checkLabelName('default labels', label, 'gauge');
      this.registry.setDefaultLabels({ ...options.defaultLabels });
    }
  }

  /** Content-Type of {@link exposition} for the HTTP response. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** A monotonically increasing counter; `name` must end in `_total`. */
  counter<L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return this.#getOrCreate('counter', name, help, labelNames, undefined, undefined, () => new Counter<L>({ name, help, labelNames, registers: [this.registry] })) as Counter<L>;
  }

  /** A value that goes up and down. */
  gauge<L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return this.#getOrCreate('gauge', name, help, labelNames, undefined, undefined, () => new Gauge<L>({ name, help, labelNames, registers: [this.registry] })) as Gauge<L>;
  }

  /**
   * A histogram. Default buckets: {@link DEFAULT_SECONDS_BUCKETS} for `_seconds` names,
   * {@link DEFAULT_COUNT_BUCKETS} otherwise.
   */
  histogram<L extends string = string>(name: string, help: string, labelNames: readonly L[] = [], buckets?: readonly number[]): Histogram<L> {
    const b = [...(buckets ?? (name.endsWith('_seconds') ? DEFAULT_SECONDS_BUCKETS : DEFAULT_COUNT_BUCKETS))];
    for (let i = 0; i < b.length; i++) {
      if (!Number.isFinite(b[i]) || (i > 0 && (b[i] as number) <= (b[i - 1] as number))) {
        throw new MetricNameError(`Histogram ${name} buckets must be finite and strictly increasing`);
      }
    }
    return this.#getOrCreate('histogram', name, help, labelNames, buckets === undefined ? undefined : b, b, () => new Histogram<L>({ name, help, labelNames, buckets: b, registers: [this.registry] })) as Histogram<L>;
  }

  /** The metrics in Prometheus text exposition format. */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  /** Sets every metric back to zero (metrics stay registered). */
  resetAll(): void {
    this.registry.resetMetrics();
  }

  /** Names of the registered metrics, sorted. */
  names(): string[] {
    return [...this.#entries.keys()].sort();
  }

  #getOrCreate(
    kind: Kind,
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[] | undefined,
    storedBuckets: readonly number[] | undefined,
    create: () => Entry['metric'],
  ): Entry['metric'] {
    const existing = this.#entries.get(name);
    if (existing !== undefined) {
      const same =
        existing.kind === kind &&
        sameList(existing.labelNames, labelNames) &&
        (buckets === undefined || existing.buckets === undefined || sameList(existing.buckets, buckets));
      if (!same) {
        throw new MetricNameError(
          `Metric ${name} is already registered as a ${existing.kind} with labels [${existing.labelNames.join(', ')}]; asked for a ${kind} with labels [${labelNames.join(', ')}]`,
        );
      }
      return existing.metric;
    }
    checkMetricName(name, kind, this.#prefixes);
    if (help.trim().length === 0) throw new MetricNameError(`Metric ${name} needs a help text`);
    const seen = new Set<string>();
    for (const label of labelNames) {
      checkLabelName(name, label, kind);
      if (seen.has(label)) throw new MetricNameError(`Metric ${name} repeats label ${label}`);
      seen.add(label);
    }
    const metric = create();
    this.#entries.set(name, { kind, labelNames: [...labelNames], buckets: storedBuckets, metric });
    return metric;
  }
}

/**
 * Checks a metric name against the rules of {@link MetricsRegistry}.
 * @throws MetricNameError naming the rule that is broken
 */
export function checkMetricName(name: string, kind: Kind, allowedPrefixes: readonly string[] = ['tikv_', 'pd_']): void {
  if (!METRIC_NAME_PATTERN.test(name)) throw new MetricNameError(`Metric name "${name}" must match ${METRIC_NAME_PATTERN.source}`);
  const prefix = allowedPrefixes.find((p) => name.startsWith(p));
  if (prefix === undefined) throw new MetricNameError(`Metric name "${name}" must start with one of ${allowedPrefixes.join(', ')}`);
  const rest = name.slice(prefix.length).split('_');
  if (rest.length < 2 || rest.some((s) => s.length === 0)) {
    throw new MetricNameError(`Metric name "${name}" must look like ${prefix}<subsystem>_<name> with no empty segments`);
  }
  const last = rest[rest.length - 1] as string;
  if (kind === 'counter' && last !== 'total') throw new MetricNameError(`Counter name "${name}" must end in _total`);
  if (kind !== 'counter' && last === 'total') throw new MetricNameError(`Only counters end in _total; "${name}" is a ${kind}`);
  if (NON_BASE_UNITS.has(last)) throw new MetricNameError(`Metric name "${name}" must use base units (_seconds, _bytes), not _${last}`);
  if (kind === 'histogram' && (last === 'bucket' || last === 'sum' || last === 'count')) {
    throw new MetricNameError(`Histogram name "${name}" must not end in _${last} (reserved for its series)`);
  }
}

function checkLabelName(metric: string, label: string, kind: Kind): void {
  if (!METRIC_NAME_PATTERN.test(label) || label.startsWith('__')) {
    throw new MetricNameError(`Label "${label}" of ${metric} must match ${METRIC_NAME_PATTERN.source} and not start with __`);
  }
  if (kind === 'histogram' && label === 'le') throw new MetricNameError(`Histogram ${metric} cannot use the reserved label le`);
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
