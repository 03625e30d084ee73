// `npm start`: the local cluster in one command. Builds if needed (nx, cached), starts a
// pd-server and a tikv-server as child processes with their data under one directory, prints
// the endpoints and the dashboard URL, and stops everything on Ctrl-C or SIGTERM.
// Flags: node tools/start.mjs --help (tools/cluster/args.mjs).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseStartArgs, USAGE } from './cluster/args.mjs';
import { ServerProcess, waitUntil } from './cluster/child.mjs';
import { takeLock } from './cluster/lock.mjs';
import { pickPorts } from './cluster/ports.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PD_MAIN = join(ROOT, 'apps', 'pd-server', 'dist', 'main.js');
const TIKV_MAIN = join(ROOT, 'apps', 'tikv-server', 'dist', 'main.js');

function fail(message, code = 1) {
  console.error(`npm start: ${message}`);
  process.exit(code);
}

let args;
try {
  args = parseStartArgs(process.argv.slice(2));
} catch (e) {
  console.error(`${e.message}\n\n${USAGE}`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

// 1. One instance per data directory. Checked before the build and before --clean wipes anything.
function makeDataDir() {
  mkdirSync(args.dataDir, { recursive: true });
  // Keep a data directory inside the checkout out of git.
  if (args.dataDir.startsWith(`${ROOT}/`) && !existsSync(join(args.dataDir, '.gitignore')))
    writeFileSync(join(args.dataDir, '.gitignore'), '*\n');
}
makeDataDir();
let lock = takeLock(args.dataDir);
if (lock.running !== undefined) {
  const r = lock.running;
  const lines = [
    `A local cluster is already running with data in ${args.dataDir} (pids ${lock.alive.join(', ')}).`,
  ];
  if (r.endpoints?.pd)
    lines.push(`  PD:        ${r.endpoints.pd}`, `  Dashboard: ${r.endpoints.dashboard}`);
  lines.push(
    `Stop it with Ctrl-C in its terminal (or: kill ${r.pid}), or start another one with --data-dir <other dir>.`,
  );
  console.error(lines.join('\n'));
  process.exit(3);
}
if (args.clean) {
  lock.release();
  rmSync(args.dataDir, { recursive: true, force: true });
  makeDataDir();
  lock = takeLock(args.dataDir);
  if (lock.running !== undefined)
    fail(`another instance took ${args.dataDir} while it was being cleaned`);
  console.log(`Wiped ${args.dataDir} (--clean).`);
}
let released = false;
const releaseLock = () => {
  if (!released) lock.release();
  released = true;
};
process.on('exit', releaseLock);

// 2. Build (nx caches: a no-op when nothing changed).
if (args.build) {
  console.log('Building pd-server and tikv-server (nx run-many -t build, cached)...');
  const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' };
  const projects = [
    '@tikv-ts/pd-server',
    ...(existsSync(join(ROOT, 'apps', 'tikv-server', 'src', 'main.ts'))
      ? ['@tikv-ts/tikv-server']
      : []),
  ];
  const build = spawnSync(
    'npx',
    ['nx', 'run-many', '-t', 'build', '-p', ...projects, '--outputStyle=static'],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], env },
  );
  if (build.status !== 0)
    fail('the build failed; run `npx nx run-many -t build` to see why', build.status ?? 1);
}
if (!existsSync(PD_MAIN))
  fail(`${PD_MAIN} is missing: build first (npx nx build @tikv-ts/pd-server) or drop --no-build`);
const haveTikv = existsSync(TIKV_MAIN);

// 3. Ports, directories, processes.
let picked;
try {
  picked = await pickPorts(haveTikv ? args.ports : { pd: args.ports.pd }, args.host);
} catch (e) {
  fail(e.message, 2);
}
for (const m of picked.moved) console.log(`Port ${m.from} (${m.name}) is taken; using ${m.to}.`);
const { ports } = picked;
const host = args.host;
const pdUrl = `http://${host}:${ports.pd}`;
const logs = join(args.dataDir, 'logs');
mkdirSync(logs, { recursive: true });
const pdLog = join(logs, 'pd.log');
const tikvLog = join(logs, 'tikv.log');

const servers = [];
let stopping = false;

async function stopAll(reason) {
  if (stopping) return;
  stopping = true;
  if (reason) console.log(reason);
  // TiKV first (it would otherwise retry an absent PD), then PD.
  for (const s of [...servers].reverse()) {
    if (!s.running) continue;
    process.stdout.write(`Stopping ${s.name} (pid ${s.pid})... `);
    const e = await s.stop();
    console.log(
      e.signal === 'SIGKILL'
        ? 'killed after the grace period'
        : `exited (${e.signal ?? `code ${e.code}`})`,
    );
  }
  releaseLock();
}

process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));
let signals = 0;
function onSignal(name) {
  signals++;
  if (signals > 1) {
    console.log(`\n${name} again: killing the servers now.`);
    for (const s of servers) s.kill();
    releaseLock();
    process.exit(130);
  }
  void stopAll(`\n${name}: stopping the local cluster (again to kill at once).`).then(() => {
    console.log('Stopped.');
    process.exit(0);
  });
}

function watch(server, logFile) {
  void server.exited.then((e) => {
    if (stopping) return;
    const how = e.error ? e.error.message : e.signal ? `signal ${e.signal}` : `code ${e.code}`;
    console.error(
      `\n${server.name} (pid ${server.pid}) exited unexpectedly (${how}). Last output:\n${server.tail(logFile)}`,
    );
    void stopAll().then(() => process.exit(1));
  });
}

function startServer(name, main, serverArgs, logFile) {
  const s = new ServerProcess(name, main, serverArgs, join(logs, `${name}.out`));
  servers.push(s);
  lock.update({ children: Object.fromEntries(servers.map((x) => [x.name, x.pid])) });
  watch(s, logFile);
  return s;
}

const exitedReason = (s, logFile) => () =>
  s.running ? undefined : `${s.name} exited during start-up:\n${s.tail(logFile)}`;

try {
  const pd = startServer(
    'pd-server',
    PD_MAIN,
    [
      '--name',
      'pd',
      '--data-dir',
      join(args.dataDir, 'pd'),
      '--client-urls',
      pdUrl,
      '--log-file',
      pdLog,
    ],
    pdLog,
  );
  await waitUntil(
    async () => (await fetch(`${pdUrl}/pd/api/v1/health`)).ok,
    `PD at ${pdUrl}`,
    60000,
    exitedReason(pd, pdLog),
  );
  lock.update({ endpoints: { pd: pdUrl, dashboard: `${pdUrl}/dashboard/` } });

  let tikvAddr;
  let statusUrl;
  if (haveTikv) {
    tikvAddr = `${host}:${ports.tikv}`;
    statusUrl = `http://${host}:${ports.status}`;
    const kv = startServer(
      'tikv-server',
      TIKV_MAIN,
      [
        '--addr',
        tikvAddr,
        '--status-addr',
        `${host}:${ports.status}`,
        '--pd',
        pdUrl,
        '--data-dir',
        join(args.dataDir, 'tikv'),
        '--log-file',
        tikvLog,
      ],
      tikvLog,
    );
    await waitUntil(
      async () => {
        const r = await (await fetch(`${pdUrl}/pd/api/v1/stores`)).json();
        return r.stores.some((s) => s.store.address === tikvAddr && s.store.state_name === 'Up');
      },
      `the store ${tikvAddr} to be Up in PD`,
      60000,
      exitedReason(kv, tikvLog),
    );
    lock.update({
      endpoints: {
        pd: pdUrl,
        dashboard: `${pdUrl}/dashboard/`,
        tikv: tikvAddr,
        tikvStatus: statusUrl,
      },
    });
  }

  const lines = [
    '',
    `Local cluster is up (data in ${args.dataDir}):`,
    `  PD:           ${pdUrl}  (gRPC and HTTP API, e.g. ${pdUrl}/pd/api/v1/stores)`,
    haveTikv
      ? `  TiKV store:   ${tikvAddr}  (gRPC)`
      : '  TiKV store:   not available yet (apps/tikv-server is not built): PD runs alone',
    ...(haveTikv ? [`  TiKV status:  ${statusUrl}  (metrics: ${statusUrl}/metrics)`] : []),
    `  Dashboard:    ${pdUrl}/dashboard/`,
    `  Logs:         ${logs}`,
    'Press Ctrl-C to stop.',
  ];
  console.log(lines.join('\n'));
} catch (e) {
  console.error(`npm start: ${e.message}`);
  await stopAll();
  process.exit(1);
}
