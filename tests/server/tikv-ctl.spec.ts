// tikv-ctl as a real process (apps/tikv-ctl/dist) against a real tikv-server and pd-server:
// remote mode over the debugpb.Debug service, the refusal of a data directory a running server
// holds, local mode on the stopped server's data directory, and `npx tikv-ctl` from the root.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Key } from '@tikv-ts/codec';
import { kvrpcpb } from '@tikv-ts/proto';
import {
  type PdProc,
  type RegionJson,
  type TikvProc,
  TikvClient,
  cleanupDirs,
  contextOf,
  dec,
  enc,
  regionFor,
  regionsOf,
  startPd,
  startTikv,
} from './harness';

jest.setTimeout(90000);

const ROOT = resolve(__dirname, '..', '..');
const CTL_MAIN = join(ROOT, 'apps', 'tikv-ctl', 'dist', 'main.js');

interface CtlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node apps/tikv-ctl/dist/main.js <args>` (or another command) and collects its output. */
function exec(file: string, args: readonly string[], cwd = ROOT): Promise<CtlResult> {
  return new Promise((res) => {
    execFile(file, [...args], { cwd, timeout: 60000, maxBuffer: 16 << 20 }, (e, stdout, stderr) => {
      const code =
        e === null
          ? 0
          : typeof (e as { code?: unknown }).code === 'number'
            ? (e as { code: number }).code
            : -1;
      res({ code, stdout, stderr });
    });
  });
}
const ctl = (...args: string[]): Promise<CtlResult> => exec(process.execPath, [CTL_MAIN, ...args]);

/** Runs tikv-ctl and expects success; returns stdout. */
async function ok(...args: string[]): Promise<string> {
  const r = await ctl(...args);
  if (r.code !== 0) throw new Error(`tikv-ctl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  expect(r.stderr).toBe('');
  return r.stdout;
}

/** Runs tikv-ctl and expects exit code 1 with a one-line error; returns that line. */
async function fails(...args: string[]): Promise<string> {
  const r = await ctl(...args);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^tikv-ctl: [^\n]+\n$/);
  return r.stderr;
}

const jsonLines = (s: string): Record<string, unknown>[] =>
  s
    .trim()
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** `z` + memcomparable encoding of a user key, escaped as tikv-ctl takes it. */
function mvccKeyArg(raw: string): string {
  return `0x7a${Buffer.from(Key.fromRaw(enc(raw)).asEncoded()).toString('hex')}`;
}

let pd: PdProc;
let kv: TikvProc;
let region: RegionJson;
let storeId: string;

beforeAll(async () => {
  if (!existsSync(CTL_MAIN))
    throw new Error(`${CTL_MAIN} is missing: build it first (npx nx build @tikv-ts/tikv-ctl)`);
  pd = await startPd();
  kv = await startTikv({
    pdUrl: pd.url,
    configToml: '[server]\ngraceful-shutdown-timeout = "5s"\n',
  });
  region = regionFor(await regionsOf(kv.statusUrl), new Uint8Array(0));
  storeId = (region.peers[0] as { store_id: string }).store_id;
  const client = new TikvClient(kv.addr);
  try {
    const c = contextOf(region);
    await client.call(
      'rawPut',
      kvrpcpb.RawPutRequest.fromPartial({ context: c, key: enc('r-a'), value: enc('raw-1') }),
    );
    // k1: committed (start 100, commit 110); k2: a lock left by a prewrite at 200.
    const pw = await client.call<kvrpcpb.PrewriteResponse>('kvPrewrite', {
      context: c,
      mutations: [{ op: kvrpcpb.Op.Put, key: enc('k1'), value: enc('v1') }],
      primaryLock: enc('k1'),
      startVersion: 100n,
      lockTtl: 3000n,
    });
    expect(pw.errors).toEqual([]);
    const cm = await client.call<kvrpcpb.CommitResponse>('kvCommit', {
      context: c,
      keys: [enc('k1')],
      startVersion: 100n,
      commitVersion: 110n,
    });
    expect(cm.error).toBeUndefined();
    const pw2 = await client.call<kvrpcpb.PrewriteResponse>('kvPrewrite', {
      context: c,
      mutations: [{ op: kvrpcpb.Op.Put, key: enc('k2'), value: enc('v2') }],
      primaryLock: enc('k2'),
      startVersion: 200n,
      lockTtl: 600000n,
    });
    expect(pw2.errors).toEqual([]);
  } finally {
    client.close();
  }
});

afterAll(async () => {
  await kv?.proc.stop();
  await pd?.proc.stop();
  cleanupDirs();
});

describe('remote mode (--host, debugpb.Debug)', () => {
  it('store, cluster and regions', async () => {
    expect(JSON.parse(await ok('--host', kv.addr, 'store'))).toEqual({
      store_id: storeId,
      api_version: 'V1',
    });
    const cluster = JSON.parse(await ok('--host', kv.addr, 'cluster')) as { cluster_id: string };
    expect(BigInt(cluster.cluster_id)).toBeGreaterThan(0n);
    expect(JSON.parse(await ok('--pd', `127.0.0.1:${pd.port}`, 'cluster'))).toEqual(cluster);
    expect(JSON.parse(await ok('--host', kv.addr, 'regions'))).toEqual({ regions: [region.id] });
  });

  it('region and raft region print the region state, raft states absent', async () => {
    for (const cmd of [['region'], ['raft', 'region']]) {
      const r = JSON.parse(await ok('--host', kv.addr, ...cmd, '-r', region.id)) as Record<
        string,
        unknown
      >;
      expect(r).toMatchObject({
        region_id: region.id,
        region_local_state: { state: 'Normal', region: { id: region.id } },
        raft_local_state: null,
        raft_apply_state: null,
      });
    }
    expect(await fails('--host', kv.addr, 'region', '-r', '999999')).toMatch(
      /NOT_FOUND: Region 999999 not found/,
    );
  });

  it('mvcc and scan show the committed key and the lock', async () => {
    const [k1] = jsonLines(await ok('--host', kv.addr, 'mvcc', '-k', mvccKeyArg('k1')));
    expect(k1).toMatchObject({
      raw_key: 'k1',
      lock: null,
      writes: [{ type: 'Put', start_ts: '100', commit_ts: '110', short_value: 'v1' }],
      values: [],
    });
    const scanned = jsonLines(await ok('--host', kv.addr, 'scan', '--from', 'z', '--limit', '10'));
    expect(scanned.map((e) => e['raw_key'])).toEqual(['k1', 'k2']);
    expect(scanned[1]).toMatchObject({ lock: { type: 'Put', start_ts: '200', primary: 'k2' } });
    const onlyLocks = jsonLines(
      await ok(
        '--host',
        kv.addr,
        'scan',
        '--from',
        'z',
        '--to',
        mvccKeyArg('k2'),
        '--show-cf',
        'lock',
      ),
    );
    expect(onlyLocks).toEqual([{ key: expect.any(String) as unknown, raw_key: 'k1', lock: null }]);
    expect(await fails('--host', kv.addr, 'scan', '--from', 'a', '--limit', '1')).toMatch(
      /INVALID_ARGUMENT: .*not a data key/,
    );
  });

  it('print, size and compact; raw-scan is local-only', async () => {
    expect(JSON.parse(await ok('--host', kv.addr, 'print', '-k', 'zr-a'))).toEqual({
      key: 'zr-a',
      cf: 'default',
      value: 'raw-1',
    });
    expect(await fails('--host', kv.addr, 'print', '-k', 'zr-missing')).toMatch(/NOT_FOUND/);
    const size = JSON.parse(await ok('--host', kv.addr, 'size', '-r', region.id)) as {
      total: string;
    };
    expect(BigInt(size.total)).toBeGreaterThan(0n);
    expect(await ok('--host', kv.addr, 'compact', '-c', 'default')).toMatch(/^success/);
    expect(await fails('--host', kv.addr, 'raw-scan', '--from', 'z')).toMatch(
      /only available in local mode/,
    );
  });

  it('metrics and failpoints', async () => {
    expect(await ok('--host', kv.addr, 'metrics')).toMatch(/^# HELP tikv_/m);
    expect(await ok('--host', kv.addr, 'failpoint', 'inject', 'server::ctl_test=return(1)')).toBe(
      'injected server::ctl_test=return(1)\n',
    );
    expect(await ok('--host', kv.addr, 'failpoint', 'list')).toBe('server::ctl_test=return(1)\n');
    expect(await ok('--host', kv.addr, 'fail', 'recover', 'server::ctl_test')).toBe(
      'recovered server::ctl_test\n',
    );
    expect(await ok('--host', kv.addr, 'failpoint', 'list')).toBe('');
    expect(await fails('--host', kv.addr, 'failpoint', 'inject', 'x', 'bogus(')).toMatch(
      /INVALID_ARGUMENT/,
    );
  });

  it('an injected kv_service failpoint fails that command until it is recovered', async () => {
    const client = new TikvClient(kv.addr);
    try {
      const get = (): Promise<kvrpcpb.RawGetResponse> =>
        client.call<kvrpcpb.RawGetResponse>(
          'rawGet',
          kvrpcpb.RawGetRequest.fromPartial({ context: contextOf(region), key: enc('r-a') }),
        );
      await ok('--host', kv.addr, 'failpoint', 'inject', 'kv_service::raw_get=return');
      expect((await get()).error).toMatch(/injected by failpoint kv_service::raw_get/);
      await ok('--host', kv.addr, 'failpoint', 'recover', 'kv_service::raw_get');
      const r = await get();
      expect(r.error).toBe('');
      expect(dec(r.value)).toBe('raw-1');
    } finally {
      client.close();
    }
  });

  it('fails with one line for an unreachable host and bad input', async () => {
    expect(await fails('--host', '127.0.0.1:1', 'store')).toMatch(
      /Cannot reach tikv-server at 127\.0\.0\.1:1/,
    );
    expect(await fails('--host', kv.addr, 'size', '-r', 'abc')).toMatch(/Invalid region id/);
    expect(kv.proc.isRunning).toBe(true);
  });

  it('refuses the data directory of the running server', async () => {
    expect(await fails('--data-dir', kv.dataDir, 'store')).toMatch(
      /locked by a running tikv-server \(pid \d+\)/,
    );
    expect(kv.proc.isRunning).toBe(true);
    expect(JSON.parse(await ok('--host', kv.addr, 'store'))).toMatchObject({ store_id: storeId });
  });
});

describe('local mode (--data-dir) after SIGTERM', () => {
  beforeAll(async () => {
    const exit = await kv.proc.stop('SIGTERM');
    expect(exit.code).toBe(0);
  });

  it('reads the same store', async () => {
    const d = ['--data-dir', kv.dataDir];
    expect(JSON.parse(await ok(...d, 'store'))).toEqual({ store_id: storeId, api_version: 'V1' });
    expect(JSON.parse(await ok(...d, 'regions'))).toEqual({ regions: [region.id] });
    expect(JSON.parse(await ok(...d, 'region', '-r', region.id))).toMatchObject({
      region_local_state: { region: { id: region.id } },
    });
    const [k1] = jsonLines(await ok(...d, 'mvcc', '-k', mvccKeyArg('k1')));
    expect(k1).toMatchObject({ raw_key: 'k1', writes: [{ commit_ts: '110' }] });
    expect(
      jsonLines(await ok(...d, 'scan', '--from', 'z', '--limit', '10')).map((e) => e['raw_key']),
    ).toEqual(['k1', 'k2']);
    const raw = jsonLines(
      await ok(...d, 'raw-scan', '--from', 'zr', '--to', 'zs', '-c', 'default'),
    );
    expect(raw).toEqual([{ key: 'zr-a', value: 'raw-1' }]);
    expect(JSON.parse(await ok(...d, 'print', '-k', 'zr-a'))).toMatchObject({ value: 'raw-1' });
    expect(
      BigInt((JSON.parse(await ok(...d, 'size', '-r', region.id)) as { total: string }).total),
    ).toBeGreaterThan(0n);
    expect(await ok(...d, 'compact', '-c', 'write')).toMatch(/^success/);
    expect(await fails(...d, 'metrics')).toMatch(/only available from a running tikv-server/);
    // The lock file tikv-ctl took is released again.
    expect(existsSync(join(kv.dataDir, 'tikv.lock'))).toBe(false);
  });
});

describe('npx tikv-ctl', () => {
  it('runs from the repository root', async () => {
    const r = await exec('npx', ['--no-install', 'tikv-ctl', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: tikv-ctl');
  });
});
