import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metapb } from '@tikv-ts/proto';
import { SeededRng } from '@tikv-ts/util';
import { ManualClock } from '@tikv-ts/util/testing';
import { PdServer } from '../pd-server';
import { MemoryEngine } from '@tikv-ts/engine-memory';
import { summarizeHistogram } from './prom-text';

const TIKV_METRICS = `# HELP tikv_grpc_msg_duration_seconds Bucketed histogram of grpc server messages
# TYPE tikv_grpc_msg_duration_seconds histogram
tikv_grpc_msg_duration_seconds_bucket{type="raw_put",le="0.001"} 3
tikv_grpc_msg_duration_seconds_bucket{type="raw_put",le="0.01"} 5
tikv_grpc_msg_duration_seconds_bucket{type="raw_put",le="+Inf"} 6
tikv_grpc_msg_duration_seconds_sum{type="raw_put"} 0.25
tikv_grpc_msg_duration_seconds_count{type="raw_put"} 6
tikv_grpc_msg_duration_seconds_bucket{type="raw_get",le="0.001"} 1
tikv_grpc_msg_duration_seconds_bucket{type="raw_get",le="0.01"} 1
tikv_grpc_msg_duration_seconds_bucket{type="raw_get",le="+Inf"} 2
tikv_grpc_msg_duration_seconds_sum{type="raw_get"} 1.5
tikv_grpc_msg_duration_seconds_count{type="raw_get"} 2
tikv_grpc_msg_duration_seconds_other 7
tikv_other_metric{type="x"} 9
garbage line
`;

describe('summarizeHistogram', () => {
  it('sums a histogram over its label sets, by le and by a label', () => {
    const h = summarizeHistogram(TIKV_METRICS, 'tikv_grpc_msg_duration_seconds', 'type');
    expect(h.count).toBe(8);
    expect(h.sum).toBeCloseTo(1.75);
    expect(h.buckets).toEqual([
      [0.001, 4],
      [0.01, 6],
      [Infinity, 8],
    ]);
    expect(h.byLabel).toEqual({ raw_put: 6, raw_get: 2 });
  });

  it('gives zeros for an absent histogram', () => {
    expect(summarizeHistogram('x_count 3\n', 'tikv_grpc_msg_duration_seconds')).toEqual({
      count: 0,
      sum: 0,
      buckets: [],
      byLabel: {},
    });
  });
});

interface Source {
  name: string;
  kind: string;
  ok: boolean;
  error?: string;
  requests?: { count: number; buckets: unknown[]; by_type: Record<string, number> };
}
interface Overview {
  bootstrapped: boolean;
  tso: { ts: string; physical: number; logical: number };
  sources: Source[];
}

async function overview(base: string): Promise<Overview> {
  return (await (await fetch(`${base}/pd/api/v1/dashboard/overview`)).json()) as Overview;
}

describe('the dashboard on PD HTTP API', () => {
  let dir: string;
  let pd: PdServer;
  let server: net.Server;
  let base: string;
  const scrapes: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pd-dashboard-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>PD dashboard</title>');
    writeFileSync(join(dir, 'app.js'), 'console.log(1);');
    pd = await PdServer.start({
      engine: MemoryEngine.open(),
      clock: new ManualClock(),
      rng: new SeededRng(7n),
      config: { name: 'pd-dash' },
      dashboard: {
        root: dir,
        fetchMetrics: (addr) => {
          scrapes.push(addr);
          return addr === '127.0.0.1:1'
            ? Promise.resolve(TIKV_METRICS)
            : Promise.reject(new Error('connection refused'));
        },
      },
    });
    server = net.createServer((socket) => pd.handleConnection(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });

  afterAll(async () => {
    await pd.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page under /dashboard/ and redirects / there', async () => {
    const page = await fetch(`${base}/dashboard/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('PD dashboard');
    const js = await fetch(`${base}/dashboard/app.js`);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    const root = await fetch(`${base}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/dashboard/');
    // PD's API is still there.
    expect((await fetch(`${base}/pd/api/v1/stores`)).status).toBe(200);
  });

  it('reports the TSO and PD alone before bootstrap', async () => {
    const a = await overview(base);
    const b = await overview(base);
    expect(a.bootstrapped).toBe(false);
    expect(BigInt(b.tso.ts)).toBeGreaterThan(BigInt(a.tso.ts));
    expect(a.sources).toHaveLength(1);
    expect(a.sources[0]).toMatchObject({ kind: 'pd', name: 'PD pd-dash', ok: true });
  });

  it('scrapes every store that is not a tombstone, reporting failures per store', async () => {
    const store = (id: bigint, status: string): metapb.Store =>
      metapb.Store.fromPartial({
        id,
        address: `127.0.0.1:2016${id}`,
        statusAddress: status,
        state: metapb.StoreState.Up,
      });
    await pd.cluster.bootstrap(
      store(1n, '127.0.0.1:1'),
      metapb.Region.fromPartial({
        id: 2n,
        peers: [{ id: 3n, storeId: 1n }],
        regionEpoch: { confVer: 1n, version: 1n },
      }),
    );
    await pd.cluster.putStore(store(4n, '127.0.0.1:2'));
    await pd.cluster.putStore(store(5n, '127.0.0.1:3'));
    await pd.cluster.setStoreState(5n, metapb.StoreState.Offline);
    await pd.cluster.setStoreState(5n, metapb.StoreState.Tombstone);
    scrapes.length = 0;
    const o = await overview(base);
    expect(scrapes.sort()).toEqual(['127.0.0.1:1', '127.0.0.1:2']);
    const byName = new Map(o.sources.map((s) => [s.name, s]));
    expect(byName.get('store 1')).toMatchObject({
      kind: 'tikv',
      store_id: 1,
      ok: true,
      requests: { count: 8, by_type: { raw_put: 6, raw_get: 2 } },
    });
    expect(byName.get('store 1')?.requests?.buckets).toEqual([
      [0.001, 4],
      [0.01, 6],
      ['+Inf', 8],
    ]);
    expect(byName.get('store 4')).toMatchObject({ ok: false, error: 'connection refused' });
    expect(byName.get('store 5')).toBeUndefined();
  });
});
