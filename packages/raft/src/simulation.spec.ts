// Seeded random simulation of a Raft cluster (see sim/sim-cluster.ts for the faults and the
// invariants). SIM_SEEDS=<n> runs n seeds (default 2000), SIM_SEED=<n> replays one seed with
// a trace, SIM_STEPS=<n> changes the schedule length (default 250).
import { runSimulation } from './sim/sim-cluster';

const steps = Number(process.env['SIM_STEPS'] ?? 250);
const one = process.env['SIM_SEED'];
const seeds = Number(process.env['SIM_SEEDS'] ?? 2000);
const start = Number(process.env['SIM_SEED_START'] ?? 1);

describe('simulation', () => {
  if (one !== undefined) {
    it(`replays SIM_SEED=${one}`, () => {
      const c = runSimulation(BigInt(one), steps, true);
      console.log(c.trace.slice(-200).join('\n'), '\n', c.summary());
    });
    return;
  }

  it(`keeps every safety invariant over ${seeds} seeds`, () => {
    const totals: Record<string, number> = {};
    for (let s = start; s < start + seeds; s++) {
      const c = runSimulation(BigInt(s), steps);
      for (const [k, v] of Object.entries(c.stats)) totals[k] = (totals[k] ?? 0) + v;
    }
    // The faults and features reached the interesting paths.
    expect(totals['elections']).toBeGreaterThan(seeds);
    expect(totals['committed']).toBeGreaterThan(seeds * 3);
    expect(totals['crashes']).toBeGreaterThan(seeds / 2);
    expect(totals['confChanges']).toBeGreaterThan(seeds / 4);
    expect(totals['snapshotsSent']).toBeGreaterThan(0);
    expect(totals['readsServed']).toBeGreaterThan(seeds / 4);
    console.log(`simulation totals over ${seeds} seeds: ${JSON.stringify(totals)}`);
  });
});
