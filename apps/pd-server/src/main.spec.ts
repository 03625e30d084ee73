// Process-level tests of pd-server: the built app (dist/main.js) is started as a child process.
// The nx test target builds the app first.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pdpb } from '@tikv-ts/proto';
import { parseFlags } from './flags';
import { resolveConfig } from './main';

const MAIN = join(__dirname, '..', 'dist', 'main.js');

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Proc {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: string;
}

function start(args: string[]): Proc {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const proc: Proc = {
    child,
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  child.stderr?.on('data', (d: Buffer) => {
    proc.stderr += d.toString();
  });
  return proc;
}

function getMembers(client: pdpb.PDClient): Promise<pdpb.GetMembersResponse> {
  return new Promise((resolve, reject) => {
    client.getMembers(pdpb.GetMembersRequest.fromPartial({}), new grpc.Metadata(), { deadline: Date.now() + 1000 }, (err, res) => (err !== null ? reject(err) : resolve(res)));
  });
}

/** Waits until the server answers GetMembers (deadline 20 s). */
async function waitReady(address: string, proc: Proc): Promise<{ client: pdpb.PDClient; clusterId: bigint }> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const client = new pdpb.PDClient(address, grpc.credentials.createInsecure());
    try {
      const res = await getMembers(client);
      return { client, clusterId: res.header?.clusterId ?? 0n };
    } catch (e: unknown) {
      client.close();
      if (Date.now() > deadline) throw new Error(`pd-server did not start: ${String(e)}\n${proc.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('pd-server process', () => {
  let dir: string;
  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build the app first (nx test builds it)`);
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pd-server-spec-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps TSO strictly increasing across 10 kill -9 restarts, with requests in flight at each kill', async () => {
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const args = ['--name', 'pd-kill', '--data-dir', join(dir, 'data'), '--client-urls', `http://${address}`, '--log-level', 'warn'];
    let maxSeen = 0n;
    let clusterId: bigint | undefined;
    let total = 0;
    for (let round = 0; round < 10; round++) {
      const proc = start(args);
      try {
        const ready = await waitReady(address, proc);
        if (clusterId === undefined) clusterId = ready.clusterId;
        expect(ready.clusterId).toBe(clusterId);
        const stream = ready.client.tso();
        const got: bigint[] = [];
        let firstBatch: () => void = () => undefined;
        const enough = new Promise<void>((resolve) => {
          firstBatch = resolve;
        });
        stream.on('data', (r: pdpb.TsoResponse) => {
          expect(r.header?.error).toBeUndefined();
          got.push(((r.timestamp?.physical ?? 0n) << 18n) + (r.timestamp?.logical ?? 0n));
          if (got.length === 200) firstBatch();
          // Keep requests flowing until the process dies.
          if (!stream.destroyed) stream.write(pdpb.TsoRequest.fromPartial({ header: { clusterId: clusterId ?? 0n }, count: 1 + (got.length % 7) }));
        });
        stream.on('error', () => undefined);
        for (let i = 0; i < 8; i++) stream.write(pdpb.TsoRequest.fromPartial({ header: { clusterId }, count: 3 }));
        await enough;
        proc.child.kill('SIGKILL');
        const exit = await proc.exited;
        expect(exit.signal).toBe('SIGKILL');
        stream.cancel();
        ready.client.close();
        // Every timestamp of this life is above every timestamp of earlier lives, and increasing.
        for (const ts of got) {
          expect(ts).toBeGreaterThan(maxSeen);
          maxSeen = ts;
        }
        total += got.length;
      } finally {
        if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
        await proc.exited;
      }
    }
    expect(total).toBeGreaterThanOrEqual(2000);
  }, 90_000);

  it('shuts down gracefully on SIGTERM and SIGINT and keeps its state', async () => {
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const conf = join(dir, 'pd.toml');
    writeFileSync(conf, `name = "pd-conf"\ndata-dir = "${join(dir, 'data')}"\nclient-urls = "http://${address}"\n[log]\nlevel = "warn"\n[schedule]\nmax-store-down-time = "10m"\n`);
    let clusterId: bigint | undefined;
    const logFile = join(dir, 'pd.log');
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const proc = start(['--config', conf, '--log-file', logFile, '--log-level', 'info']);
      const ready = await waitReady(address, proc);
      clusterId ??= ready.clusterId;
      expect(ready.clusterId).toBe(clusterId);
      const members = await getMembers(ready.client);
      expect(members.leader?.name).toBe('pd-conf');
      const res = await fetch(`http://${address}/pd/api/v1/config`);
      expect(await res.json()).toMatchObject({ schedule: { 'max-store-down-time': '10m0s' } });
      ready.client.close();
      proc.child.kill(signal);
      const exit = await proc.exited;
      expect(exit).toEqual({ code: 0, signal: null });
    }
    const log = readFileSync(logFile, 'utf8');
    expect(log).toContain('["PD is serving"]');
    expect(log).toContain('[signal=SIGINT]');
    expect(log).toContain('["PD is stopped"]');
  }, 60_000);

  it('refuses bad flags and bad config with exit code 2', async () => {
    const bad = start(['--no-such-flag']);
    expect((await bad.exited).code).toBe(2);
    expect(bad.stderr).toMatch(/Unknown option/);
    const conf = join(dir, 'bad.toml');
    writeFileSync(conf, '[replication]\nmax-replicas = "three"\n');
    const badConf = start(['--config', conf]);
    expect((await badConf.exited).code).toBe(2);
    expect(badConf.stderr).toMatch(/max-replicas/);
  }, 30_000);
});

describe('resolveConfig', () => {
  it('layers defaults, TOML and flags, with PD names', () => {
    const toml = 'name = "a"\nclient-urls = "http://127.0.0.1:1,http://127.0.0.1:2"\ntso-save-interval = "5s"\n[replication]\nmax-replicas = 1\n';
    const c = resolveConfig(parseFlags(['--config', 'x.toml', '--name', 'b', '--advertise-client-urls', 'http://h:9']), () => toml);
    expect(c.name).toBe('b');
    expect(c.clientUrls).toEqual(['http://127.0.0.1:1', 'http://127.0.0.1:2']);
    expect(c.advertiseClientUrls).toEqual(['http://h:9']);
    expect(c.tsoSaveIntervalMs).toBe(5000);
    expect(c.maxReplicas).toBe(1);
    expect(c.dataDir).toBe('default.b');
    expect(resolveConfig(parseFlags([]), () => '').dataDir).toBe('default.pd');
  });
});
