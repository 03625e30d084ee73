// The servers a benchmark run starts itself: a one-store cluster (pd-server + tikv-server, via the
// helpers of tools/cluster, as `npm start` does) and a single-member etcd for --compare-etcd.
// Both live on free 127.0.0.1 ports with their data in a temp directory removed on stop.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServerProcess, waitUntil } from '../cluster/child.mjs';
import { freePort } from '../cluster/ports.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PD_MAIN = join(ROOT, 'apps', 'pd-server', 'dist', 'main.js');
const TIKV_MAIN = join(ROOT, 'apps', 'tikv-server', 'dist', 'main.js');
const HOST = '127.0.0.1';

async function freePorts(n) {
  const ports = new Set();
  while (ports.size < n) ports.add(await freePort(HOST));
  return [...ports];
}

/**
 * Starts pd-server + tikv-server; resolves `{ pdUrl, stop(), kill() }` once the store is Up in PD.
 * `registerKill(kill)` is called at once with a synchronous SIGKILL-and-remove, for exit handlers.
 */
export async function startCluster(log, registerKill) {
  for (const main of [PD_MAIN, TIKV_MAIN])
    if (!existsSync(main))
      throw new Error(
        `${main} is missing: build first (NX_DAEMON=false npx nx run-many -t build --outputStyle=static)`,
      );
  const dir = mkdtempSync(join(tmpdir(), 'tikv-bench-'));
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const [pdPort, kvPort, statusPort] = await freePorts(3);
  const pdUrl = `http://${HOST}:${pdPort}`;
  const kvAddr = `${HOST}:${kvPort}`;
  const servers = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const s of [...servers].reverse()) await s.stop(10000); // TiKV first, then PD
    rmSync(dir, { recursive: true, force: true });
  };
  const kill = () => {
    for (const s of servers) s.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  registerKill(kill);
  try {
    const pdLog = join(logs, 'pd.log');
    const pd = new ServerProcess(
      'pd-server',
      PD_MAIN,
      ['--name', 'pd', '--data-dir', join(dir, 'pd'), '--client-urls', pdUrl, '--log-file', pdLog],
      join(logs, 'pd.out'),
    );
    servers.push(pd);
    await waitUntil(
      async () => (await fetch(`${pdUrl}/pd/api/v1/health`)).ok,
      `PD at ${pdUrl}`,
      60000,
      () => (pd.running ? undefined : `pd-server exited during start-up:\n${pd.tail(pdLog)}`),
    );
    const kvLog = join(logs, 'tikv.log');
    const kv = new ServerProcess(
      'tikv-server',
      TIKV_MAIN,
      [
        '--addr',
        kvAddr,
        '--status-addr',
        `${HOST}:${statusPort}`,
        '--pd',
        pdUrl,
        '--data-dir',
        join(dir, 'tikv'),
        '--log-file',
        kvLog,
      ],
      join(logs, 'tikv.out'),
    );
    servers.push(kv);
    await waitUntil(
      async () => {
        const r = await (await fetch(`${pdUrl}/pd/api/v1/stores`)).json();
        return r.stores.some((s) => s.store.address === kvAddr && s.store.state_name === 'Up');
      },
      `the store ${kvAddr} to be Up in PD`,
      60000,
      () => (kv.running ? undefined : `tikv-server exited during start-up:\n${kv.tail(kvLog)}`),
    );
    log(`cluster up: PD ${pdUrl}, TiKV ${kvAddr} (data in ${dir})`);
    return { pdUrl, stop, kill };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** True when an `etcd` binary is on the PATH. */
export function haveEtcd() {
  return spawnSync('sh', ['-c', 'command -v etcd'], { stdio: 'ignore' }).status === 0;
}

/** Starts a single-member etcd; resolves `{ endpoint: 'host:port', stop(), kill() }`. */
export async function startEtcd(log, ready, registerKill) {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-bench-'));
  const [clientPort, peerPort] = await freePorts(2);
  const clientUrl = `http://${HOST}:${clientPort}`;
  const peerUrl = `http://${HOST}:${peerPort}`;
  const child = spawn(
    'etcd',
    [
      '--name',
      'bench',
      '--data-dir',
      join(dir, 'data'),
      '--listen-client-urls',
      clientUrl,
      '--advertise-client-urls',
      clientUrl,
      '--listen-peer-urls',
      peerUrl,
      '--initial-advertise-peer-urls',
      peerUrl,
      '--initial-cluster',
      `bench=${peerUrl}`,
      '--log-level',
      'warn',
    ],
    { stdio: 'ignore', detached: true },
  );
  let exitInfo;
  const exited = new Promise((r) => {
    child.once('exit', (code, signal) => r((exitInfo = { code, signal })));
    child.once('error', (error) => r((exitInfo = { error })));
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (exitInfo === undefined) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const kill = () => {
    if (exitInfo === undefined) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  registerKill(kill);
  const endpoint = `${HOST}:${clientPort}`;
  try {
    await waitUntil(
      () => ready(endpoint),
      `etcd at ${clientUrl}`,
      30000,
      () =>
        exitInfo === undefined
          ? undefined
          : `etcd exited during start-up (${JSON.stringify(exitInfo)})`,
    );
  } catch (e) {
    await stop();
    throw e;
  }
  log(`etcd up: ${clientUrl} (data in ${dir})`);
  return { endpoint, stop, kill };
}
