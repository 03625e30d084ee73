import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsRegistry } from '@tikv-ts/util';
import { FlowStats } from './flow-stats';
import { createServerMetrics } from './metrics';
import { PdWorker } from './pd-worker';
import { StatusServer } from './status-server';
import { startSingleStore } from './testdata/single-store';

/** Waits for an I/O-driven condition (statfs, directory sizes) with a deadline. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !cond(); waited += 5) {
    if (waited > 5000) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('PdWorker and StatusServer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pd-worker-spec-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('heartbeats the store and its regions with real stats on the configured intervals', async () => {
    const { rt, kv, pd, node } = await startSingleStore(5, 100);
    for (let i = 0; i < 20; i++) await kv.put('default', Uint8Array.of(0x7a, i), new Uint8Array(100));
    const flow = new FlowStats();
    const region = node.regions.regions()[0];
    flow.written(region?.id ?? 0n, 3, 30);
    const metrics = createServerMetrics(new MetricsRegistry());
    const worker = new PdWorker({
      pd: pd.client(),
      kv,
      regions: node.regions,
      flow,
      metrics,
      clock: rt.clock,
      logger: rt.logger,
      dataDir: dir,
      capacityBytes: 0,
      storeHeartbeatIntervalMs: 1000,
      regionHeartbeatIntervalMs: 5000,
      startTimeSec: 0,
      isBusy: () => false,
    });
    worker.start();
    // The first heartbeats go out at once.
    await until(() => pd.storeHeartbeats.length > 0 && pd.regionHeartbeats.length > 0, 'the first heartbeats');
    const store = pd.storeHeartbeats[0];
    expect(store?.capacity).toBeGreaterThan(0n);
    expect(store?.available).toBeGreaterThan(0n);
    expect(store?.regionCount).toBe(1);
    expect(store).toMatchObject({ keysWritten: 3n, bytesWritten: 30n });
    const hb = pd.regionHeartbeats[0];
    expect(hb?.leader?.storeId).toBe(node.storeId);
    expect(hb?.approximateKeys).toBeGreaterThan(0n);
    expect(hb?.keysWritten).toBe(3n);
    // Then on their intervals.
    rt.clock.advance(1000);
    await until(() => pd.storeHeartbeats.length >= 2, 'the second store heartbeat');
    expect(pd.storeHeartbeats.length).toBe(2);
    expect(pd.storeHeartbeats[1]?.keysWritten).toBe(0n);
    expect(pd.regionHeartbeats.length).toBe(1);
    await worker.stop();

    const status = await StatusServer.create({
      metrics: new MetricsRegistry(),
      logger: rt.logger,
      regions: node.regions,
      describeConfig: () => ({ storage: { 'api-version': 1 } }),
      regionStats: async () => ({ sizeBytes: 7, keys: 1 }),
      info: () => ({ store_id: node.storeId.toString() }),
    });
    const { port } = await status.listen('127.0.0.1', 0);
    const url = `http://127.0.0.1:${port}`;
    const put = (path: string, body: unknown): Promise<Response> =>
      fetch(`${url}${path}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    try {
      expect(await (await fetch(`${url}/config`)).json()).toEqual({ storage: { 'api-version': 1 } });
      expect(await (await fetch(`${url}/region/${region?.id}`)).json()).toMatchObject({ approximate_size: 7 });
      expect((await fetch(`${url}/region/abc`)).status).toBe(400);
      expect((await put('/log-level', { log_level: 'warn' })).status).toBe(200);
      expect(rt.logger.level).toBe('warn');
      expect((await put('/log-level', { level: 'warn' })).status).toBe(400);
      expect(await (await fetch(`${url}/engine_type`)).text()).toBe('raft-kv');
      expect(await (await fetch(`${url}/dashboard/`)).text()).toMatch(/tikv-server node/);
      expect((await fetch(`${url}/metrics`)).headers.get('content-type')).toMatch(/text\/plain/);
    } finally {
      await status.close();
    }
  });
});
