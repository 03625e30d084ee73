import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeRuntime } from './node-runtime';

describe('createNodeRuntime', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tikv-ts-util-rt-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('builds real adapters with a log file, failpoints and metric labels', async () => {
    const path = join(dir, 'tikv.log');
    const rt = createNodeRuntime({
      seed: 5n,
      log: { level: 'info', file: { path }, component: 'server' },
      failpoints: 'a::b=return(x)',
      metricLabels: { instance: 's1' },
    });
    expect(rt.rng.seed).toBe(5n);
    expect(Math.abs(rt.clock.nowMs() - Date.now())).toBeLessThan(60_000);
    expect(rt.failpoints.evalSync('a::b')).toBe('x');
    expect(rt.buggify.fire('x', 1)).toBe(false);
    rt.metrics.gauge('tikv_test_up', 'up').set(1);
    expect(await rt.metrics.exposition()).toContain('tikv_test_up{instance="s1"} 1');
    rt.logger.info('started');
    await rt.logger.close();
    expect(readFileSync(path, 'utf8')).toMatch(/^\[\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d{3} \+00:00\] \[INFO\] \[server\] \[started\]\n$/);
    await rt.fs.writeFileAtomic(join(dir, 'f'), Uint8Array.of(1, 2));
    expect(Array.from(await rt.fs.readFile(join(dir, 'f')))).toEqual([1, 2]);
  });

  it('draws a random seed when none is given', () => {
    const a = createNodeRuntime({ log: { level: 'error' } });
    const b = createNodeRuntime({ log: { level: 'error' } });
    expect(a.rng.seed).not.toBe(b.rng.seed);
    return Promise.all([a.logger.close(), b.logger.close()]);
  });
});
