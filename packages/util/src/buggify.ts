import type { Rng } from './rng';

/** Options of {@link Buggify}. */
export interface BuggifyOptions {
  /** Whether sites may fire at all. Default false (production: `fire` is always false). */
  enabled?: boolean;
  /** Probability that a site is active for this seed. Default 0.25 (FoundationDB's choice). */
  activationProbability?: number;
  /** Default probability that an active site fires on a call. Default 0.25. */
  fireProbability?: number;
  /** Count `sometimes` probes. Default true. */
  countProbes?: boolean;
}

interface Site {
  readonly active: boolean;
  readonly rng: Rng;
  fired: number;
}

/**
 * Randomized fault injection in the style of FoundationDB's BUGGIFY (STYLE.md §3), plus
 * `sometimes` probes.
 *
 * `fire(site)` asks whether a rare-but-legal behaviour should happen here (a slow apply, a
 * spurious retry, a tiny batch). When disabled it is always false and costs one boolean test.
 * When enabled, each site is active or not for the whole run, decided from (seed, site name)
 * alone; an active site fires with the given probability on each call, drawing from its own
 * stream forked from the seed, so adding a site never changes another site's decisions and a
 * seed replays exactly.
 *
 * `sometimes(label)` counts that a rare path was reached, so a simulation can assert that its
 * faults actually exercised the code they target.
 */
export class Buggify {
  /** Whether sites may fire. */
  readonly enabled: boolean;
  readonly #rng: Rng;
  readonly #activation: number;
  readonly #fire: number;
  readonly #countProbes: boolean;
  readonly #sites = new Map<string, Site>();
  readonly #probes = new Map<string, number>();

  constructor(rng: Rng, options: BuggifyOptions = {}) {
    this.#rng = rng;
    this.enabled = options.enabled ?? false;
    this.#activation = options.activationProbability ?? 0.25;
    this.#fire = options.fireProbability ?? 0.25;
    this.#countProbes = options.countProbes ?? true;
  }

  /**
   * True when the site is active for this seed and fires now (with `probability`, default the
   * registry's fire probability). Always false when disabled.
   */
  fire(site: string, probability?: number): boolean {
    if (!this.enabled) return false;
    const s = this.#site(site);
    if (!s.active) return false;
    const hit = s.rng.chance(probability ?? this.#fire);
    if (hit) s.fired++;
    return hit;
  }

  /** Whether `site` is active for this seed (false when disabled). */
  isActive(site: string): boolean {
    return this.enabled && this.#site(site).active;
  }

  /** Sites seen so far with whether they are active and how often they fired, sorted by name. */
  sites(): Array<{ site: string; active: boolean; fired: number }> {
    return [...this.#sites.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([site, s]) => ({ site, active: s.active, fired: s.fired }));
  }

  /** Counts that the rare path `label` was reached (when `condition` holds). */
  sometimes(label: string, condition = true): void {
    if (this.#countProbes && condition) this.#probes.set(label, (this.#probes.get(label) ?? 0) + 1);
  }

  /** How many times `sometimes(label)` was counted. */
  probeCount(label: string): number {
    return this.#probes.get(label) ?? 0;
  }

  /** Every probe with its count, sorted by label. */
  probes(): Array<{ label: string; count: number }> {
    return [...this.#probes.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([label, count]) => ({ label, count }));
  }

  /** The labels among `expected` that were never reached. */
  missingProbes(expected: readonly string[]): string[] {
    return expected.filter((l) => this.probeCount(l) === 0);
  }

  #site(site: string): Site {
    let s = this.#sites.get(site);
    if (s === undefined) {
      const rng = this.#rng.fork(`buggify:${site}`);
      s = { active: rng.chance(this.#activation), rng, fired: 0 };
      this.#sites.set(site, s);
    }
    return s;
  }
}
