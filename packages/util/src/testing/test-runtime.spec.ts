import { createTestRuntime } from './test-runtime';

describe('createTestRuntime', () => {
  it('wires deterministic capabilities', async () => {
    const rt = createTestRuntime(42n, { component: 'test' });
    expect(rt.rng.seed).toBe(42n);
    expect(rt.clock.monotonicMs()).toBe(0);
    expect(rt.buggify.enabled).toBe(false);
    expect(rt.failpoints.enabled).toBe(false);
    rt.logger.debug('hello', { n: 1n });
    expect(rt.logSink.lines()).toEqual(['[2026/01/01 00:00:00.000 +00:00] [DEBUG] [test] [hello] [n=1]']);
    rt.metrics.counter('tikv_test_events_total', 'events').inc();
    expect(await rt.metrics.exposition()).toContain('tikv_test_events_total 1');
    await rt.fs.writeFileAtomic('/a', Uint8Array.of(1));
    expect(await rt.fs.readFile('/a')).toEqual(Uint8Array.of(1));
  });

  it('replays the same random decisions for the same seed', () => {
    const a = createTestRuntime(7, { buggify: true });
    const b = createTestRuntime(7, { buggify: true });
    expect(a.rng.bytes(8)).toEqual(b.rng.bytes(8));
    const sites = ['s1', 's2', 's3', 's4', 's5', 's6'];
    expect(sites.map((s) => a.buggify.isActive(s))).toEqual(sites.map((s) => b.buggify.isActive(s)));
    expect(createTestRuntime(8).rng.bytes(8)).not.toEqual(createTestRuntime(7).rng.bytes(8));
  });

  it('shares a clock, a sink and a disk between runtimes', async () => {
    const a = createTestRuntime(1n, { component: 'a' });
    const b = createTestRuntime(2n, { component: 'b', clock: a.clock, logSink: a.logSink });
    a.logger.info('x');
    a.clock.advance(5);
    b.logger.info('y');
    expect(a.logSink.lines().map((l) => l.slice(18, 60))).toEqual(['00.000 +00:00] [INFO] [a] [x]', '00.005 +00:00] [INFO] [b] [y]']);
    await a.fs.writeFileAtomic('/f', Uint8Array.of(9));
    a.fs.crash(a.rng);
    const restarted = createTestRuntime(1n, { fs: a.fs, clock: a.clock });
    expect(await restarted.fs.readFile('/f')).toEqual(Uint8Array.of(9));
  });
});
