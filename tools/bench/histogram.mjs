// A small log-bucket latency histogram (HDR-style: bounded relative error, fixed memory).
// Values are microseconds; bucket i holds values in [GROWTH^i, GROWTH^(i+1)), so any reported
// percentile is within 1% of the true sample value. The exact min, max and sum are kept as well.

const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
// 1.01^2100 ≈ 1.2e9 µs ≈ 20 minutes: anything longer lands in the last bucket (max stays exact).
const BUCKETS = 2100;

export class Histogram {
  constructor() {
    this.counts = new Float64Array(BUCKETS);
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = 0;
  }

  /** Records one latency in microseconds. */
  record(us) {
    const v = us < 1 ? 1 : us;
    let i = Math.floor(Math.log(v) / LOG_GROWTH);
    if (i >= BUCKETS) i = BUCKETS - 1;
    this.counts[i]++;
    this.count++;
    this.sum += us;
    if (us < this.min) this.min = us;
    if (us > this.max) this.max = us;
  }

  /** Adds every sample of `other` to this histogram. */
  merge(other) {
    for (let i = 0; i < BUCKETS; i++) this.counts[i] += other.counts[i];
    this.count += other.count;
    this.sum += other.sum;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
  }

  /** The value at quantile `q` (0..1): the geometric middle of its bucket, clamped to [min, max]. */
  quantile(q) {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) {
        const mid = Math.pow(GROWTH, i + 0.5);
        return Math.min(this.max, Math.max(this.min, mid));
      }
    }
    return this.max;
  }

  /** Summary in milliseconds. */
  summary() {
    const ms = (us) => Math.round(us) / 1000;
    return {
      count: this.count,
      meanMs: this.count === 0 ? 0 : ms(this.sum / this.count),
      p50Ms: ms(this.quantile(0.5)),
      p95Ms: ms(this.quantile(0.95)),
      p99Ms: ms(this.quantile(0.99)),
      maxMs: ms(this.max),
    };
  }
}
