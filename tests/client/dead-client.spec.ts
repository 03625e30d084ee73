// A client process killed (SIGKILL) in the middle of a commit: before the primary's commit
// (the transaction must be rolled back, all or nothing) and right after it (every key must
// become visible). The child runs the built client with a transport that kills the process at
// the chosen RPC; the parent reads through its own client, which resolves the orphan locks.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TransactionClient } from '@tikv-ts/client';
import { Proc, tempDir } from '../server/harness';
import { type TestCluster, cleanupDirs, dec, enc, startCluster } from './cluster';

jest.setTimeout(120000);

const CLIENT_DIST = resolve(__dirname, '..', '..', 'packages', 'client', 'dist', 'index.js');

const CHILD = `
const { TransactionClient, GrpcTransport } = require(${JSON.stringify(CLIENT_DIST)});
const [pdUrl, mode, prefix] = process.argv.slice(2);
const inner = new GrpcTransport();
const transport = {
  close: () => inner.close(),
  async call(addr, method, req, timeoutMs) {
    if (method === 'kvCommit' && mode === 'before-primary') { console.log('dying before the primary commit'); process.kill(process.pid, 'SIGKILL'); }
    const r = await inner.call(addr, method, req, timeoutMs);
    if (method === 'kvCommit' && mode === 'after-primary') { console.log('dying after the primary commit'); process.kill(process.pid, 'SIGKILL'); }
    return r;
  },
};
(async () => {
  const client = await TransactionClient.connect([pdUrl], { transport });
  const t = await client.begin({ lockTtlMs: 1000n });
  for (const k of ['a', 'h', 'n', 'q', 'u', 'z']) await t.put(Buffer.from(prefix + k), Buffer.from('from-dead-' + k));
  await t.commit();
  console.log('committed without dying');
})().catch((e) => { console.error(e); process.exit(2); });
`;

describe('a client killed mid-commit', () => {
  let cluster: TestCluster;
  let client: TransactionClient;
  let script: string;

  beforeAll(async () => {
    cluster = await startCluster();
    await cluster.split(enc('m'), 'txn');
    await cluster.split(enc('t'), 'txn');
    client = await TransactionClient.connect([cluster.pdUrl]);
    script = join(tempDir('dead-client'), 'child.js');
    writeFileSync(script, CHILD);
  });

  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
    cleanupDirs();
  });

  async function runChild(mode: string, prefix: string): Promise<void> {
    const child = new Proc('dead-client', [script, cluster.pdUrl, mode, prefix]);
    const exit = await child.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(child.out).toContain('dying');
  }

  it('before the primary commit: all keys are rolled back once the locks expire', async () => {
    await runChild('before-primary', 'x1-');
    const t = await client.begin();
    const got = await t.scan(enc('x1-'), enc('x1.'));
    expect(got).toEqual([]);
    // Writers are not blocked either.
    await t.put(enc('x1-a'), enc('mine'));
    await t.commit();
    expect(dec(await client.snapshot(await client.currentTimestamp()).get(enc('x1-a')))).toBe('mine');
  });

  it('after the primary commit: every key is visible', async () => {
    await runChild('after-primary', 'x2-');
    const got = await client.snapshot(await client.currentTimestamp()).scan(enc('x2-'), enc('x2.'));
    expect(got.map((p) => `${dec(p.key)}=${dec(p.value)}`)).toEqual(['a', 'h', 'n', 'q', 'u', 'z'].map((k) => `x2-${k}=from-dead-${k}`));
  });
});
