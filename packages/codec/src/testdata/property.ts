// Shared fast-check settings for this package's specs (not part of the library build).
// Runs are deterministic: the seed is FC_SEED when set, else a fixed default, and a failure's
// message starts with `FC_SEED=<n>` so that `FC_SEED=<n> npx nx test @tikv-ts/codec` replays it.
import fc from 'fast-check';

const DEFAULT_SEED = 20_260_128;

function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, got ${raw}`);
  return n;
}

/** The seed of this run. */
export const FC_SEED = envInt('FC_SEED') ?? DEFAULT_SEED;

/**
 * `fc.assert` with the run's seed (and `FC_NUM_RUNS` when set), rethrowing failures with the seed
 * in front of fast-check's report.
 */
export function assertProperty<Ts>(property: fc.IProperty<Ts>, params: fc.Parameters<Ts> = {}): void {
  const numRuns = envInt('FC_NUM_RUNS');
  const merged: fc.Parameters<Ts> = { ...params, seed: FC_SEED };
  if (numRuns !== undefined) merged.numRuns = numRuns;
  try {
    fc.assert(property, merged);
  } catch (e: unknown) {
    const message = e instanceof Error ? e.message : String(e);
    throw new Error(`FC_SEED=${FC_SEED} (replay with FC_SEED=${FC_SEED})\n${message}`, { cause: e });
  }
}

/** Arbitrary byte strings biased towards the interesting ones: short, 0x00/0xff-heavy, group-sized. */
export function arbKeyBytes(maxLength = 40): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength }),
    fc.array(fc.constantFrom(0x00, 0x01, 0xf7, 0xfe, 0xff), { maxLength: 20 }).map((a) => Uint8Array.from(a)),
    fc.integer({ min: 0, max: 3 }).chain((g) => fc.uint8Array({ minLength: 8 * g, maxLength: 8 * g })),
  );
}
