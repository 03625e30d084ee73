import { metapb } from '@tikv-ts/proto';
import { SeededRng } from '@tikv-ts/util';
import type { Operator } from './operator';
import { SimCluster, type SimOptions } from './testdata/sim-cluster';

const BASE_SEED =
  process.env['SIM_SEED'] === undefined ? 20261128n : BigInt(process.env['SIM_SEED']);

/** Runs a scenario and names the seed when it fails (replay with SIM_SEED=<n>). */
async function withSeed<T>(seed: bigint, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e: unknown) {
    throw new Error(`SIM_SEED=${seed}: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
}

function spread(m: Map<bigint, number>): number {
  const v = [...m.values()];
  return Math.max(...v) - Math.min(...v);
}

function allHaveVoters(sim: SimCluster, n: number): boolean {
  return [...sim.regions.values()].every(
    (r) => sim.voters(r).length === n && r.meta.peers.length === n,
  );
}

function idle(sim: SimCluster): boolean {
  return sim.coordinator.controller.running().length === 0;
}

async function sim(
  opts: Partial<SimOptions> & Pick<SimOptions, 'stores' | 'regions'>,
): Promise<SimCluster> {
  return SimCluster.create({ seed: BASE_SEED, ...opts });
}

describe('Coordinator with simulated stores and region heartbeats', () => {
  it('fills every region from 1 to 3 replicas, never two peers on a store, and then stays quiet', async () => {
    await withSeed(BASE_SEED, async () => {
      const s = await sim({ stores: 4, regions: 8, schedulers: [] });
      await s.runUntil(() => allHaveVoters(s, 3) && idle(s), 5 * 60_000);
      for (const r of s.regions.values()) {
        const stores = r.meta.peers.map((p) => p.storeId);
        expect(new Set(stores).size).toBe(3);
      }
      // Peers went to the emptiest stores: store 1 holds all 8, the other 16 are spread over 3 stores.
      const counts = s.regionCounts();
      expect(counts.get(s.storeIds[0] ?? 0n)).toBe(8);
      expect([...counts.values()].slice(1).sort()).toEqual([5, 5, 6]);
      expect(
        s.ended.every(
          (op) =>
            op.status === 'success' &&
            (op.desc === 'make-up-replica' || op.desc === 'promote-learner'),
        ),
      ).toBe(true);
      const before = s.ended.length;
      await s.run(60_000);
      expect(s.ended.length).toBe(before);
      expect(s.coordinator.listOperators()).toEqual([]);
    });
  });

  it('removes extra replicas (never the leader directly)', async () => {
    await withSeed(BASE_SEED, async () => {
      const s = await sim({
        stores: 5,
        regions: 6,
        placement: (i) => [
          1 + (i % 5),
          1 + ((i + 1) % 5),
          1 + ((i + 2) % 5),
          1 + ((i + 3) % 5),
          1 + ((i + 4) % 5),
        ],
        schedulers: [],
      });
      await s.runUntil(() => allHaveVoters(s, 3) && idle(s), 5 * 60_000);
      expect(
        s.ended.filter((op) => op.desc === 'remove-extra-replica' && op.status === 'success'),
      ).toHaveLength(12);
      expect(s.stats.rejected).toBe(0);
    });
  });

  it('replaces the peers of a store that is down for max-store-down-time, not before', async () => {
    await withSeed(BASE_SEED, async () => {
      const s = await sim({
        stores: 4,
        regions: 6,
        placement: () => [1, 2, 3],
        schedulers: [],
        config: { maxStoreDownTimeMs: 60_000 },
      });
      await s.run(5_000);
      const dead = s.storeIds[2] ?? 0n;
      const spare = s.storeIds[3] ?? 0n;
      s.killStore(dead);
      const killedAt = s.clock.monotonicMs();
      await s.runUntil(
        () =>
          [...s.regions.values()].every((r) => !r.meta.peers.some((p) => p.storeId === dead)) &&
          idle(s),
        5 * 60_000,
        () => {
          const replacing = s.coordinator
            .listOperators()
            .some((op) => op.desc === 'replace-down-replica');
          // The store heartbeated last at most 10 s before it died: no replacement before 50 s.
          if (replacing) expect(s.clock.monotonicMs() - killedAt).toBeGreaterThan(50_000);
        },
      );
      expect(allHaveVoters(s, 3)).toBe(true);
      expect(s.regionCounts().get(spare)).toBe(6);
      expect(
        s.ended.filter((op) => op.desc === 'replace-down-replica' && op.status === 'success'),
      ).toHaveLength(6);
    });
  });

  it('replaces the peers of an offline store, moving its leaders away first', async () => {
    await withSeed(BASE_SEED, async () => {
      const s = await sim({ stores: 4, regions: 4, placement: () => [3, 1, 2], schedulers: [] });
      const off = s.storeIds[2] ?? 0n;
      await s.cluster.setStoreState(off, metapb.StoreState.Offline);
      await s.runUntil(
        () =>
          [...s.regions.values()].every((r) => !r.meta.peers.some((p) => p.storeId === off)) &&
          idle(s),
        5 * 60_000,
      );
      expect(allHaveVoters(s, 3)).toBe(true);
      expect(
        s.ended.filter((op) => op.desc === 'replace-offline-replica' && op.status === 'success'),
      ).toHaveLength(4);
      expect(await s.cluster.checkStores()).toEqual([off]);
    });
  });

  it('balance-leader evens out leaders within the tolerance, within leader-schedule-limit', async () => {
    await withSeed(BASE_SEED, async () => {
      const s = await sim({
        stores: 4,
        regions: 12,
        placement: (i) => [1, 2 + (i % 3), 2 + ((i + 1) % 3)],
        schedulers: ['balance-leader-scheduler'],
        config: { leaderScheduleLimit: 2 },
      });
      expect(s.leaderCounts().get(s.storeIds[0] ?? 0n)).toBe(12);
      await s.runUntil(
        () => spread(s.leaderCounts()) <= 1 && idle(s),
        5 * 60_000,
        () => expect(s.coordinator.controller.countOf('leader')).toBeLessThanOrEqual(2),
      );
      expect([...s.leaderCounts().values()]).toEqual([3, 3, 3, 3]);
      expect(s.ended.every((op) => op.desc === 'balance-leader' && op.status === 'success')).toBe(
        true,
      );
      expect(s.coordinator.listSchedulers()).toEqual(['balance-leader-scheduler']);
    });
  });

  it('balance-region evens region counts over 4 stores without ever going below max-replicas, within limits', async () => {
    await withSeed(BASE_SEED, async () => {
      const s = await sim({
        stores: 4,
        regions: 12,
        placement: (i) => [1 + (i % 3), 1 + ((i + 1) % 3), 1 + ((i + 2) % 3)],
        schedulers: ['balance-region-scheduler', 'balance-leader-scheduler'],
        config: { regionScheduleLimit: 3, storeLimitAddPeerPerMin: 4 },
      });
      const seen = new Map<number, Operator>();
      await s.runUntil(
        () => spread(s.regionCounts()) <= 1 && idle(s),
        10 * 60_000,
        () => {
          expect(s.coordinator.controller.countOf('region')).toBeLessThanOrEqual(3);
          for (const op of s.coordinator.controller.running()) seen.set(op.id, op);
        },
      );
      expect([...s.regionCounts().values()]).toEqual([9, 9, 9, 9]);
      expect(s.stats.minVotersAfterFull).toBe(3);
      // Store limit: store 4 took at most 4 new peers at once, then 4 per minute.
      const target = s.storeIds[3] ?? 0n;
      const adds = [...seen.values()]
        .filter((op) => op.steps.some((st) => st.type === 'add-learner' && st.storeId === target))
        .map((op) => op.createMs)
        .sort((a, b) => a - b);
      expect(adds).toHaveLength(9);
      adds.forEach((t, i) => expect(i + 1).toBeLessThanOrEqual(4 + Math.floor((t * 4) / 60_000)));
      expect(
        s.ended.filter((op) => op.desc === 'balance-region').every((op) => op.status === 'success'),
      ).toBe(true);
    });
  });

  it('times an operator out when its responses are lost, and its checker retries with a new one', async () => {
    await withSeed(BASE_SEED, async () => {
      const s = await sim({
        stores: 4,
        regions: 1,
        schedulers: [],
        config: { slowStepTimeoutMs: 30_000 },
      });
      s.blackhole = () => s.clock.monotonicMs() < 45_000;
      await s.runUntil(() => allHaveVoters(s, 3) && idle(s), 5 * 60_000);
      const timedOut = s.ended.filter((op) => op.status === 'timeout');
      expect(timedOut.length).toBeGreaterThanOrEqual(1);
      expect(timedOut[0]?.desc).toBe('make-up-replica');
      expect(timedOut[0]?.reason).toMatch(/timed out/);
      expect(s.stats.dropped).toBeGreaterThan(25);
      expect(s.coordinator.listOperatorHistory()[0]?.status).toBe('success');
    });
  });

  it('retries lost responses on later heartbeats (a lossy stream still converges)', async () => {
    await withSeed(BASE_SEED, async () => {
      const s = await sim({ stores: 4, regions: 8, dropRate: 0.5 });
      await s.runUntil(
        () => allHaveVoters(s, 3) && spread(s.regionCounts()) <= 1 && idle(s),
        10 * 60_000,
      );
      expect(s.stats.dropped).toBeGreaterThan(0);
      expect(s.stats.minVotersAfterFull).toBeGreaterThanOrEqual(3);
    });
  });

  it('splits a region on request (split-region operator)', async () => {
    await withSeed(BASE_SEED, async () => {
      const s = await sim({ stores: 3, regions: 1, placement: () => [1, 2, 3], schedulers: [] });
      const id = [...s.regions.keys()][0] ?? 0n;
      const { result, dispatch } = s.coordinator.addSplitOperator(id);
      expect(result.ok).toBe(true);
      expect(dispatch?.response.splitRegion).toBeDefined();
      if (dispatch !== undefined) await s.deliver(dispatch.response);
      await s.run(2_000);
      expect(s.regions.size).toBe(2);
      expect(s.cluster.regionCount).toBe(2);
      expect(s.coordinator.listOperatorHistory()[0]).toMatchObject({
        desc: 'split-region',
        status: 'success',
      });
    });
  });

  it('is deterministic by seed: the same seed gives the same operators', async () => {
    const run = async (seed: bigint): Promise<string> =>
      withSeed(seed, async () => {
        const s = await SimCluster.create({
          seed,
          stores: 5,
          regions: 10,
          dropRate: 0.2,
          placement: (i) => [1 + (i % 2)],
        });
        await s.runUntil(
          () => allHaveVoters(s, 3) && spread(s.regionCounts()) <= 1 && idle(s),
          10 * 60_000,
        );
        const ops = s.ended.map((op) => `${op.id} ${op.toString()} ${op.status} ${op.createMs}`);
        const placement = [...s.regions.values()].map(
          (r) => `${r.meta.id}:${r.meta.peers.map((p) => p.storeId).join(',')}@${r.leaderStoreId}`,
        );
        return [...ops, ...placement].join('\n');
      });
    const a = await run(BASE_SEED);
    const b = await run(BASE_SEED);
    expect(a).toBe(b);
    const c = await run(BASE_SEED + 1n);
    expect(c).not.toBe(a);
  });
});

describe('Coordinator seeded sweep (SIM_SEEDS=<n> for more seeds)', () => {
  const seeds = Number(process.env['SIM_SEEDS'] ?? 5);
  for (let i = 0; i < seeds; i++) {
    const seed = BASE_SEED + 1000n + BigInt(i);
    it(`random placements, a lossy stream and a store death converge (seed ${seed})`, async () => {
      await withSeed(seed, async () => {
        const pick = new SeededRng(seed).fork('placement');
        const stores = 5;
        const placements: number[][] = [];
        const regions = 8 + pick.nextInt(10);
        for (let r = 0; r < regions; r++) {
          const n = 1 + pick.nextInt(stores);
          const all = [1, 2, 3, 4, 5];
          const chosen: number[] = [];
          for (let k = 0; k < n; k++) chosen.push(...all.splice(pick.nextInt(all.length), 1));
          placements.push(chosen);
        }
        const s = await SimCluster.create({
          seed,
          stores,
          regions,
          placement: (r) => placements[r] ?? [1],
          dropRate: pick.nextInt(30) / 100,
          config: { maxStoreDownTimeMs: 60_000 },
        });
        const victim = s.storeIds[pick.nextInt(stores)] ?? 0n;
        const killAt = pick.nextInt(30_000);
        let splits = 0;
        const invariants = (): void => {
          for (const r of s.regions.values()) {
            // Plain checks (jest's expect is too slow for every step of every region).
            const storesOf = r.meta.peers.map((p) => p.storeId);
            if (new Set(storesOf).size !== storesOf.length) {
              throw new Error(`region ${r.meta.id} has two peers on one store\n${s.describe()}`);
            }
            const leaderIsVoter = s.voters(r).some((p) => p.storeId === r.leaderStoreId);
            if (!leaderIsVoter && !s.deadStores.has(r.leaderStoreId)) {
              throw new Error(`region ${r.meta.id} is led by a non-voter\n${s.describe()}`);
            }
          }
          // The store dies once every region could survive it (two caught-up voters elsewhere);
          // a region whose only copy is lost cannot be repaired by scheduling.
          const survivable = [...s.regions.values()].every(
            (r) =>
              s.voters(r).filter((p) => p.storeId !== victim && !s.isPending(r, p.id)).length >= 2,
          );
          if (s.deadStores.size === 0 && s.clock.monotonicMs() >= killAt && survivable)
            s.killStore(victim);
          if (splits < 2 && s.clock.monotonicMs() > 10_000 * (splits + 1)) {
            const id = [...s.regions.keys()][pick.nextInt(s.regions.size)] ?? 0n;
            if (s.coordinator.controller.get(id) === undefined) s.coordinator.addSplitOperator(id);
            splits++;
          }
        };
        const live = (m: Map<bigint, number>): Map<bigint, number> =>
          new Map([...m].filter(([id]) => id !== victim));
        await s.runUntil(
          () =>
            s.deadStores.size === 1 &&
            allHaveVoters(s, 3) &&
            [...s.regions.values()].every((r) => !r.meta.peers.some((p) => p.storeId === victim)) &&
            spread(live(s.regionCounts())) <= 1 &&
            spread(live(s.leaderCounts())) <= 1 &&
            idle(s),
          30 * 60_000,
          invariants,
        );
        // No ping-pong: each region moves or changes leader only a few times on the way.
        const count = (desc: string): number =>
          s.ended.filter((op) => op.desc === desc && op.status === 'success').length;
        expect(count('balance-region')).toBeLessThanOrEqual(s.regions.size);
        expect(count('balance-leader')).toBeLessThanOrEqual(s.regions.size);
        if (process.env['SIM_VERBOSE'] !== undefined) {
          const kinds = new Map<string, number>();
          for (const op of s.ended)
            kinds.set(`${op.desc}:${op.status}`, (kinds.get(`${op.desc}:${op.status}`) ?? 0) + 1);
          if (process.env['SIM_VERBOSE'] === '2')
            for (const op of s.ended)
              process.stderr.write(`${op.createMs} ${op.brief} ${op.status} ${op.reason}\n`);
          process.stderr.write(
            `seed ${seed}: converged at ${s.clock.monotonicMs()} ms, regions ${s.regions.size}, ${JSON.stringify([...kinds])}, ${JSON.stringify(s.stats)}\n`,
          );
        }
      });
    });
  }
});
