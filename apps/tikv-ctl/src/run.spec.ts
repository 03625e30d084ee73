import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Key, STORE_IDENT_KEY, dataKey, regionStateKey } from '@tikv-ts/codec';
import { MemoryEngine } from '@tikv-ts/engine-memory';
import { kvrpcpb, raft_serverpb } from '@tikv-ts/proto';
import { Lock, Write } from '@tikv-ts/storage';
import { parseCommandLine } from './args';
import { LocalBackend, lockDataDir } from './backend';
import { escape } from './escape';
import { main } from './main';
import { runOffline, runOnStore } from './run';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const zKey = (raw: string): Uint8Array => dataKey(Key.fromRaw(enc(raw)).asEncoded());
const zKeyTs = (raw: string, ts: bigint): Uint8Array =>
  dataKey(Key.fromRaw(enc(raw)).appendTs(ts).asEncoded());

async function store(): Promise<MemoryEngine> {
  const kv = MemoryEngine.open();
  const wb = kv.writeBatch();
  wb.put(
    'raft',
    STORE_IDENT_KEY,
    raft_serverpb.StoreIdent.encode({
      clusterId: 77n,
      storeId: 1n,
      apiVersion: kvrpcpb.APIVersion.V1,
    }).finish(),
  );
  wb.put(
    'raft',
    regionStateKey(2n),
    raft_serverpb.RegionLocalState.encode(
      raft_serverpb.RegionLocalState.fromPartial({
        state: raft_serverpb.PeerState.Normal,
        region: {
          id: 2n,
          startKey: new Uint8Array(0),
          endKey: new Uint8Array(0),
          regionEpoch: { confVer: 1n, version: 1n },
          peers: [{ id: 3n, storeId: 1n }],
        },
      }),
    ).finish(),
  );
  wb.put(
    'write',
    zKeyTs('k1', 20n),
    new Write({ writeType: 'put', startTs: 10n, shortValue: enc('v1') }).toBytes(),
  );
  wb.put(
    'lock',
    zKey('k2'),
    new Lock({ lockType: 'delete', primary: enc('k2'), ts: 50n, ttl: 10n }).toBytes(),
  );
  wb.put('default', dataKey(enc('raw')), enc('rv'));
  await wb.write();
  return kv;
}

async function run(argv: string[]): Promise<string> {
  const kv = await store();
  const backend = new LocalBackend(kv);
  let out = '';
  try {
    await runOnStore(
      parseCommandLine(['--data-dir', 'unused', ...argv]),
      backend,
      (s) => (out += s),
    );
  } finally {
    await backend.close();
  }
  return out;
}

describe('commands over a local store', () => {
  it('store, cluster, regions, region', async () => {
    expect(JSON.parse(await run(['store']))).toEqual({ store_id: '1', api_version: 'V1' });
    expect(JSON.parse(await run(['cluster']))).toEqual({ cluster_id: '77' });
    expect(JSON.parse(await run(['regions']))).toEqual({ regions: ['2'] });
    const r = JSON.parse(await run(['raft', 'region', '-r', '2'])) as Record<string, unknown>;
    expect(r).toMatchObject({
      region_id: '2',
      region_local_state: {
        state: 'Normal',
        region: {
          id: '2',
          start_key: '',
          end_key: '',
          peers: [{ id: '3', store_id: '1', role: 'Voter' }],
        },
      },
      raft_local_state: null,
      raft_apply_state: null,
    });
    await expect(run(['region', '-r', '9'])).rejects.toThrow('Region 9 not found on this store');
  });

  it('mvcc and scan print one JSON line per key with the raw key decoded', async () => {
    const k1 = JSON.parse(await run(['mvcc', '-k', escape(zKey('k1'))])) as Record<string, unknown>;
    expect(k1).toEqual({
      key: escape(zKey('k1')),
      raw_key: 'k1',
      lock: null,
      writes: [{ type: 'Put', start_ts: '10', commit_ts: '20', short_value: 'v1' }],
      values: [],
    });
    await expect(run(['mvcc', '-k', escape(zKey('k9'))])).rejects.toThrow(
      /No MVCC records for key/,
    );
    const lines = (await run(['scan', '--from', 'z', '--limit', '10', '--show-cf', 'lock']))
      .trim()
      .split('\n');
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      { key: escape(zKey('k1')), raw_key: 'k1', lock: null },
      {
        key: escape(zKey('k2')),
        raw_key: 'k2',
        lock: expect.objectContaining({
          type: 'Del',
          start_ts: '50',
          primary: 'k2',
          ttl: '10',
        }) as unknown,
      },
    ]);
  });

  it('raw-scan, print, size and compact', async () => {
    const raw = (await run(['raw-scan', '--from', 'z', '--to', 'zs', '-c', 'default']))
      .trim()
      .split('\n');
    expect(raw.map((l) => JSON.parse(l) as unknown)).toEqual([{ key: 'zraw', value: 'rv' }]);
    expect(JSON.parse(await run(['print', '-k', 'zraw']))).toEqual({
      key: 'zraw',
      cf: 'default',
      value: 'rv',
    });
    await expect(run(['print', '-k', 'znothing'])).rejects.toThrow(/not found/);
    const size = JSON.parse(await run(['size', '-r', '2'])) as {
      sizes: Record<string, string>;
      total: string;
    };
    expect(Object.keys(size.sizes)).toEqual(['default', 'write', 'lock']);
    expect(BigInt(size.total)).toBeGreaterThan(0n);
    expect(await run(['compact', '-c', 'write'])).toMatch(/^success/);
  });

  it('metrics and failpoints are remote-only', async () => {
    await expect(run(['metrics'])).rejects.toThrow(/only available from a running tikv-server/);
    await expect(run(['failpoint', 'list'])).rejects.toThrow(
      /only available on a running tikv-server/,
    );
  });
});

describe('conversions', () => {
  const conv = (argv: string[]): string => {
    let out = '';
    expect(runOffline(parseCommandLine(argv), (s) => (out += s))).toBe(true);
    return out;
  };
  it('--to-hex, --to-escaped, --encode, --decode', () => {
    expect(conv(['--to-hex', 'zt\\x80'])).toBe('7A7480\n');
    expect(conv(['--to-escaped', '7A7480'])).toBe('zt\\x80\n');
    expect(conv(['--encode', 'k1'])).toBe('k1\\x00\\x00\\x00\\x00\\x00\\x00\\xf9\n');
    expect(conv(['--decode', 'k1\\x00\\x00\\x00\\x00\\x00\\x00\\xf9'])).toBe('k1\n');
    expect(() => conv(['--decode', 'k1'])).toThrow(/Cannot decode k1/);
  });
});

describe('main', () => {
  const io = () => {
    const o = { out: '', err: '' };
    return { o, io: { stdout: (s: string) => (o.out += s), stderr: (s: string) => (o.err += s) } };
  };

  it('prints help with exit code 0 and a one-line error with exit code 1', async () => {
    const a = io();
    expect(await main(['--help'], a.io)).toBe(0);
    expect(a.o.out).toContain('Usage: tikv-ctl');
    const b = io();
    expect(await main(['region', '--host', '127.0.0.1:1'], b.io)).toBe(1);
    expect(b.o.err).toBe('tikv-ctl: region needs -r/--region <id>\n');
  });

  it('refuses a directory that is not a data dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tikv-ctl-spec-'));
    try {
      const a = io();
      expect(await main(['--data-dir', dir, 'store'], a.io)).toBe(1);
      expect(a.o.err).toMatch(/^tikv-ctl: .* is not a tikv-server data directory .*\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('lockDataDir', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tikv-ctl-lock-'));
    mkdirSync(join(dir, 'db'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a directory held by a live process and takes over a stale lock', () => {
    // The parent of the test process is alive and is not us.
    writeFileSync(join(dir, 'tikv.lock'), `${process.ppid}\n`);
    expect(() => lockDataDir(dir)).toThrow(
      new RegExp(`locked by a running tikv-server \\(pid ${process.ppid}\\)`),
    );
    // A pid that cannot be alive (above the kernel's pid_max) is stale.
    writeFileSync(join(dir, 'tikv.lock'), '99999999\n');
    const release = lockDataDir(dir);
    expect(readFileSync(join(dir, 'tikv.lock'), 'utf8').trim()).toBe(String(process.pid));
    release();
    expect(() => readFileSync(join(dir, 'tikv.lock'))).toThrow();
  });
});
