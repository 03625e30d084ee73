import { Buggify } from './buggify';
import { SeededRng } from './seeded-rng';

describe('Buggify', () => {
  it('never fires when disabled', () => {
    const b = new Buggify(new SeededRng(1n));
    for (let i = 0; i < 100; i++) expect(b.fire('raftstore.apply.slow', 1)).toBe(false);
    expect(b.isActive('raftstore.apply.slow')).toBe(false);
    expect(b.enabled).toBe(false);
  });

  it('activates each site once per seed, independent of call order and other sites', () => {
    const sites = Array.from({ length: 40 }, (_, i) => `site.${i}`);
    const a = new Buggify(new SeededRng(7n), { enabled: true });
    const b = new Buggify(new SeededRng(7n), { enabled: true });
    const activeA = sites.map((s) => a.isActive(s));
    b.fire('unrelated.site');
    const activeB = [...sites].reverse().map((s) => b.isActive(s)).reverse();
    expect(activeB).toEqual(activeA);
    // With p = 0.25 over 40 sites, some are active and some are not.
    expect(activeA.some(Boolean)).toBe(true);
    expect(activeA.some((x) => !x)).toBe(true);
  });

  it('fires active sites with the given probability and replays by seed', () => {
    const run = (): boolean[] => {
      const b = new Buggify(new SeededRng(3n), { enabled: true, activationProbability: 1 });
      return Array.from({ length: 200 }, () => b.fire('x', 0.5));
    };
    const r = run();
    const n = r.filter(Boolean).length;
    expect(n).toBeGreaterThan(60);
    expect(n).toBeLessThan(140);
    expect(run()).toEqual(r);
    const inactive = new Buggify(new SeededRng(3n), { enabled: true, activationProbability: 0 });
    expect(inactive.fire('x', 1)).toBe(false);
  });

  it('reports sites and fire counts', () => {
    const b = new Buggify(new SeededRng(3n), { enabled: true, activationProbability: 1, fireProbability: 1 });
    b.fire('b');
    b.fire('b');
    b.fire('a');
    expect(b.sites()).toEqual([
      { site: 'a', active: true, fired: 1 },
      { site: 'b', active: true, fired: 2 },
    ]);
  });

  it('counts sometimes probes', () => {
    const b = new Buggify(new SeededRng(1n));
    b.sometimes('snapshot.applied');
    b.sometimes('snapshot.applied');
    b.sometimes('never', false);
    expect(b.probeCount('snapshot.applied')).toBe(2);
    expect(b.probes()).toEqual([{ label: 'snapshot.applied', count: 2 }]);
    expect(b.missingProbes(['snapshot.applied', 'never'])).toEqual(['never']);
    const off = new Buggify(new SeededRng(1n), { countProbes: false });
    off.sometimes('x');
    expect(off.probeCount('x')).toBe(0);
  });
});
