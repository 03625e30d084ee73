// `npm start` (tools/start.mjs) as a user runs it: the one-command local cluster started and
// stopped for real, on free ports and a temporary data directory.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join, resolve } from 'node:path';
import { cleanupDirs, freePort, Proc, tempDir } from '../server/harness';

const START = resolve(__dirname, '..', '..', 'tools', 'start.mjs');

jest.setTimeout(120_000);

interface Cluster {
  readonly proc: Proc;
  readonly pdUrl: string;
  readonly tikvAddr: string;
  readonly dashboardUrl: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function ports(): Promise<string[]> {
  const [pd, tikv, status] = [await freePort(), await freePort(), await freePort()];
  return ['--pd-port', String(pd), '--tikv-port', String(tikv), '--status-port', String(status)];
}

async function start(dataDir: string, extra: string[] = []): Promise<Cluster> {
  const proc = new Proc('npm start', [
    START,
    '--no-build',
    '--data-dir',
    dataDir,
    ...(await ports()),
    ...extra,
  ]);
  await proc.waitFor(/Press Ctrl-C to stop\./, 60_000);
  const pdUrl = /PD:\s+(http:\/\/\S+)/.exec(proc.out)?.[1];
  const tikvAddr = /TiKV store:\s+(\S+)/.exec(proc.out)?.[1];
  const dashboardUrl = /Dashboard:\s+(\S+)/.exec(proc.out)?.[1];
  if (pdUrl === undefined || tikvAddr === undefined || dashboardUrl === undefined)
    throw new Error(`endpoints not printed:\n${proc.out}`);
  return { proc, pdUrl, tikvAddr, dashboardUrl };
}

/** The cluster id, exact (a uint64 beyond JSON numbers' precision). */
async function clusterIdOf(pdUrl: string): Promise<string> {
  const text = await (await fetch(`${pdUrl}/pd/api/v1/cluster`)).text();
  const id = /"id":(\d+)/.exec(text)?.[1];
  if (id === undefined) throw new Error(`no cluster id in ${text}`);
  return id;
}

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return (await r.json()) as T;
}

interface Lock {
  pid: number;
  children: Record<string, number>;
}

describe('npm start: the local cluster in one command', () => {
  const running: Proc[] = [];
  afterAll(async () => {
    for (const p of running) await p.stop('SIGKILL');
    cleanupDirs();
  });

  it('starts PD and a store, refuses a second instance, stops cleanly on Ctrl-C, keeps the data, --clean starts afresh', async () => {
    const dataDir = tempDir('cluster');
    const a = await start(dataDir);
    running.push(a.proc);
    expect(a.proc.out).toMatch(/TiKV status:\s+http:\/\/127\.0\.0\.1:\d+/);

    // PD answers and knows the store; the dashboard is served.
    const stores = await getJson<{
      count: number;
      stores: Array<{ store: { id: number; address: string; state_name: string } }>;
    }>(`${a.pdUrl}/pd/api/v1/stores`);
    expect(stores.count).toBe(1);
    expect(stores.stores[0]?.store).toMatchObject({ address: a.tikvAddr, state_name: 'Up' });
    const storeId = stores.stores[0]?.store.id;
    const clusterId = await clusterIdOf(a.pdUrl);
    const page = await fetch(a.dashboardUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('tikv-ts cluster');

    // The lock file names the supervisor and both servers, all alive.
    const lock = JSON.parse(readFileSync(join(dataDir, 'cluster.lock'), 'utf8')) as Lock;
    const pids = [lock.pid, ...Object.values(lock.children)];
    expect(lock.pid).toBe(a.proc.child.pid);
    expect(Object.keys(lock.children).sort()).toEqual(['pd-server', 'tikv-server']);
    expect(pids.every(isAlive)).toBe(true);

    // A second run on the same data says so.
    const second = spawnSync(
      process.execPath,
      [START, '--no-build', '--data-dir', dataDir, ...(await ports())],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(second.status).toBe(3);
    expect(second.stderr).toContain(`A local cluster is already running with data in ${dataDir}`);
    expect(second.stderr).toContain(a.pdUrl);

    // Ctrl-C: both servers stop gracefully, the lock is gone.
    const exit = await a.proc.stop('SIGINT', 30_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(a.proc.out).toMatch(/Stopping tikv-server \(pid \d+\)\.\.\. exited \(code 0\)/);
    expect(a.proc.out).toMatch(/Stopping pd-server \(pid \d+\)\.\.\. exited \(code 0\)/);
    expect(a.proc.out).toContain('Stopped.');
    expect(pids.filter(isAlive)).toEqual([]);
    expect(existsSync(join(dataDir, 'cluster.lock'))).toBe(false);

    // A lock left by a crashed run (dead pids) does not stop the next start; the data survives.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    writeFileSync(
      join(dataDir, 'cluster.lock'),
      JSON.stringify({ pid: Number(dead.stdout), children: { 'pd-server': Number(dead.stdout) } }),
    );
    const b = await start(dataDir);
    running.push(b.proc);
    expect(await clusterIdOf(b.pdUrl)).toBe(clusterId);
    const again = await getJson<{ stores: Array<{ store: { id: number } }> }>(
      `${b.pdUrl}/pd/api/v1/stores`,
    );
    expect(again.stores.map((s) => s.store.id)).toEqual([storeId]);
    expect(await b.proc.stop('SIGTERM', 30_000)).toEqual({ code: 0, signal: null });

    // --clean: a new cluster.
    const c = await start(dataDir, ['--clean']);
    running.push(c.proc);
    expect(c.proc.out).toContain(`Wiped ${dataDir} (--clean).`);
    expect(await clusterIdOf(c.pdUrl)).not.toBe(clusterId);
    expect(await c.proc.stop('SIGINT', 30_000)).toEqual({ code: 0, signal: null });
  });

  it('refuses a port given as a flag that is taken, and a bad flag, with exit code 2', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = spawnSync(
        process.execPath,
        [START, '--no-build', '--data-dir', tempDir('cluster'), '--pd-port', String(port)],
        { encoding: 'utf8', timeout: 30_000 },
      );
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`port ${port} (--pd-port) is in use`);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
    const bad = spawnSync(process.execPath, [START, '--no-build', '--bogus'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--bogus');
  });
});
