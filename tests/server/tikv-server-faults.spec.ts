// tikv-server process faults: kill -9 under a write load (every acknowledged write survives),
// SIGTERM with requests in flight, and clear start-up errors (data dir of another cluster, data
// dir locked, port in use, PD unreachable).
import * as grpc from '@grpc/grpc-js';
import { kvrpcpb } from '@tikv-ts/proto';
import {
  type PdProc,
  type TikvProc,
  TikvClient,
  cleanupDirs,
  contextOf,
  dec,
  enc,
  eventually,
  freePort,
  regionsOf,
  startPd,
  startTikv,
  tempDir,
} from './harness';

jest.setTimeout(90000);

const CONFIG = `
[raftstore]
pd-heartbeat-tick-interval = "200ms"
pd-store-heartbeat-tick-interval = "200ms"
`;

/** A fresh cluster per test (a second store of a cluster has no region to serve). */
let pd: PdProc;
const started: TikvProc[] = [];
const pds: PdProc[] = [];

async function tikv(o: Partial<Parameters<typeof startTikv>[0]> = {}): Promise<TikvProc> {
  const t = await startTikv({ pdUrl: pd.url, configToml: CONFIG, ...o });
  started.push(t);
  return t;
}

beforeEach(async () => {
  pd = await startPd();
  pds.push(pd);
});

afterAll(async () => {
  for (const t of started) await t.proc.stop('SIGKILL');
  for (const p of pds) await p.proc.stop();
  cleanupDirs();
});

describe('kill -9 under a write load', () => {
  it('keeps every acknowledged write (unary and BatchCommands) after a restart', async () => {
    const kv = await tikv();
    const ctx = contextOf((await regionsOf(kv.statusUrl))[0] as never);
    const client = new TikvClient(kv.addr);
    const acked = new Map<string, string>();
    let stop = false;
    let seq = 0;
    const unaryWriter = async (w: number): Promise<void> => {
      while (!stop) {
        const key = `crash-u${w}-${seq++}`;
        try {
          const r = await client.call<kvrpcpb.RawPutResponse>('rawPut', { context: ctx, key: enc(key), value: enc(`v-${key}`) }, 5000);
          if (r.error === '' && r.regionError === undefined) acked.set(key, `v-${key}`);
        } catch {
          return;
        }
      }
    };
    const batch = client.batch();
    const batchWriter = async (): Promise<void> => {
      while (!stop && batch.error === undefined) {
        const keys = Array.from({ length: 8 }, () => `crash-b-${seq++}`);
        const sent = batch.send(keys.map((k) => ({ $case: 'RawPut' as const, value: kvrpcpb.RawPutRequest.fromPartial({ context: ctx, key: enc(k), value: enc(`v-${k}`) }) })));
        const res = await Promise.race([sent, new Promise<undefined>((r) => setTimeout(() => r(undefined), 3000))]);
        if (res === undefined) return;
        res.forEach((r, i) => {
          if (r?.$case === 'RawPut' && r.value.error === '' && r.value.regionError === undefined) acked.set(keys[i] as string, `v-${keys[i]}`);
        });
      }
    };
    const writers = [...Array.from({ length: 16 }, (_, w) => unaryWriter(w)), batchWriter(), batchWriter()];
    const t0 = Date.now();
    await eventually(() => acked.size >= 400 || undefined, '400 acknowledged writes', 30000);
    process.stdout.write(`kill -9 after ${acked.size} acknowledged writes in ${Date.now() - t0} ms\n`);
    const exit = await kv.proc.stop('SIGKILL');
    expect(exit.signal).toBe('SIGKILL');
    stop = true;
    await Promise.all(writers);
    client.close();
    const snapshot = new Map(acked);

    const again = await tikv({ dataDir: kv.dataDir });
    const c2 = new TikvClient(again.addr);
    try {
      const ctx2 = contextOf((await regionsOf(again.statusUrl))[0] as never);
      const keys = [...snapshot.keys()];
      for (let i = 0; i < keys.length; i += 200) {
        const part = keys.slice(i, i + 200);
        const got = await c2.call<kvrpcpb.RawBatchGetResponse>('rawBatchGet', { context: ctx2, keys: part.map(enc) });
        const found = new Map(got.pairs.map((p) => [dec(p.key), dec(p.value)]));
        for (const k of part) expect([k, found.get(k)]).toEqual([k, snapshot.get(k)]);
      }
    } finally {
      c2.close();
      await again.proc.stop();
    }
  });
});

describe('graceful shutdown', () => {
  it('finishes or fails in-flight requests on SIGTERM, exits 0, and loses no acknowledged write', async () => {
    const kv = await tikv();
    const ctx = contextOf((await regionsOf(kv.statusUrl))[0] as never);
    const client = new TikvClient(kv.addr);
    const calls = Array.from({ length: 200 }, (_, i) =>
      client.call<kvrpcpb.RawPutResponse>('rawPut', { context: ctx, key: enc(`term-${i}`), value: enc(`v${i}`) }).then(
        (r) => (r.error === '' && r.regionError === undefined ? i : -1),
        (e: grpc.ServiceError) => {
          expect([grpc.status.UNAVAILABLE, grpc.status.CANCELLED, grpc.status.INTERNAL]).toContain(e.code);
          return -1;
        },
      ),
    );
    await new Promise((r) => setTimeout(r, 5));
    const exit = await kv.proc.stop('SIGTERM');
    expect(exit.code).toBe(0);
    expect(kv.proc.out).toMatch(/TiKV has exited/);
    const ok = (await Promise.all(calls)).filter((i) => i >= 0);
    client.close();
    const again = await tikv({ dataDir: kv.dataDir });
    const c2 = new TikvClient(again.addr);
    try {
      const ctx2 = contextOf((await regionsOf(again.statusUrl))[0] as never);
      const got = await c2.call<kvrpcpb.RawBatchGetResponse>('rawBatchGet', { context: ctx2, keys: ok.map((i) => enc(`term-${i}`)) });
      expect(got.pairs.length).toBe(ok.length);
    } finally {
      c2.close();
      await again.proc.stop();
    }
  });
});

describe('start-up errors', () => {
  it('refuses a data dir of another cluster, a locked data dir and a port in use, with clear messages', async () => {
    const kv = await tikv();
    // Region heartbeats reach PD with approximate keys once data exists.
    const client = new TikvClient(kv.addr);
    const ctx = contextOf((await regionsOf(kv.statusUrl))[0] as never);
    await client.call('rawBatchPut', { context: ctx, pairs: Array.from({ length: 50 }, (_, i) => ({ key: enc(`hb-${i}`), value: enc('x') })) });
    client.close();
    await eventually(async () => {
      const j = (await (await fetch(`${pd.url}/pd/api/v1/regions`)).json()) as { regions: { approximate_keys: number | string; written_keys: number | string }[] };
      return j.regions.some((r) => Number(r.approximate_keys) > 0) || undefined;
    }, 'a region heartbeat with approximate keys');

    // Locked data dir.
    const locked = await startTikv({ pdUrl: pd.url, dataDir: kv.dataDir, waitReady: false });
    expect((await locked.proc.exited).code).toBe(1);
    expect(locked.proc.out).toMatch(/Data directory .* is locked by another process \(pid \d+\)/);
    // Port in use.
    const busyPort = Number(kv.addr.split(':')[1]);
    const busy = await startTikv({ pdUrl: pd.url, port: busyPort, waitReady: false });
    expect((await busy.proc.exited).code).toBe(1);
    expect(busy.proc.out).toMatch(/Cannot listen on 127\.0\.0\.1:\d+ \(gRPC\): address already in use/);

    // Another cluster: the data dir of this cluster against a fresh PD.
    await kv.proc.stop();
    const other = await startPd();
    try {
      const wrong = await startTikv({ pdUrl: other.url, dataDir: kv.dataDir, waitReady: false });
      expect((await wrong.proc.exited).code).toBe(1);
      expect(wrong.proc.out).toMatch(/Cluster id mismatch: the data directory belongs to cluster \d+ but PD serves cluster \d+/);
    } finally {
      await other.proc.stop();
    }
  });

  it('retries an unreachable PD with a message, and exits on SIGTERM', async () => {
    const port = await freePort();
    const t = await startTikv({ pdUrl: `http://127.0.0.1:${port}`, dataDir: tempDir('nopd'), waitReady: false });
    started.push(t);
    await t.proc.waitFor(/PD is unreachable at http:\/\/127\.0\.0\.1:\d+ .*retrying/, 30000);
    const exit = await t.proc.stop('SIGTERM');
    expect(exit.code).toBe(1);
    expect(t.proc.out).toMatch(/interrupted/i);
  });
});
