/** One histogram of a Prometheus text exposition, summed over every label set but `le`. */
export interface HistogramSummary {
  /** Observations (the `_count` series, summed). */
  count: number;
  /** Sum of the observed values (the `_sum` series, summed), in the metric's unit. */
  sum: number;
  /** Cumulative bucket counts by upper bound, ascending; the last bound is `Infinity`. */
  buckets: Array<[le: number, count: number]>;
  /** `_count` by the value of the label named in {@link summarizeHistogram}'s `byLabel`. */
  byLabel: Record<string, number>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function parseValue(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/**
 * Sums the histogram `name` of a Prometheus text exposition (version 0.0.4) over all its label
 * sets: total count, total sum and cumulative buckets by `le`. Lines that are comments, other
 * metrics or malformed are ignored; a histogram that is absent gives zero counts and no buckets.
 * `byLabel` names a label (e.g. `type`) whose per-value counts are returned as well.
 */
export function summarizeHistogram(text: string, name: string, byLabel?: string): HistogramSummary {
  let count = 0;
  let sum = 0;
  const buckets = new Map<number, number>();
  const perLabel: Record<string, number> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || !line.startsWith(name)) continue;
    const m = SAMPLE.exec(line);
    if (m === null) continue;
    const metric = m[1] ?? '';
    const value = parseValue(m[4] ?? '');
    if (!Number.isFinite(value)) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(LABEL)) labels[l[1] ?? ''] = l[2] ?? '';
    if (metric === `${name}_count`) {
      count += value;
      if (byLabel !== undefined) {
        const key = labels[byLabel] ?? '';
        perLabel[key] = (perLabel[key] ?? 0) + value;
      }
    } else if (metric === `${name}_sum`) {
      sum += value;
    } else if (metric === `${name}_bucket` && labels['le'] !== undefined) {
      const le = parseValue(labels['le']);
      if (Number.isNaN(le)) continue;
      buckets.set(le, (buckets.get(le) ?? 0) + value);
    }
  }
  return {
    count,
    sum,
    buckets: [...buckets.entries()].sort((a, b) => a[0] - b[0]),
    byLabel: perLabel,
  };
}
