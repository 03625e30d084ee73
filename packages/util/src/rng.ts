/**
 * Seeded randomness as a capability (STYLE.md §3). The same seed gives the same sequence on
 * every machine; `fork(label)` derives an independent stream whose sequence depends only on
 * the parent seed and the label, so adding a consumer does not shift the others.
 */
export interface Rng {
  /** The seed this generator was created from (printed by failing tests as `SIM_SEED=<n>`). */
  readonly seed: bigint;
  /** A float uniformly distributed in [0, 1). */
  next(): number;
  /** An integer uniformly distributed in [0, maxExclusive); `maxExclusive` is a positive safe integer. */
  nextInt(maxExclusive: number): number;
  /** An integer uniformly distributed in [min, max] (both inclusive). */
  nextRange(min: number, max: number): number;
  /** True with probability `p` in [0, 1]. */
  chance(p: number): boolean;
  /** Fills and returns `length` random bytes. */
  bytes(length: number): Uint8Array;
  /** An independent generator derived from this one's seed and `label`. */
  fork(label: string): Rng;
}
