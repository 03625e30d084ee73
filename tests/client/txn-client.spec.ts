// TransactionClient against real pd-server + tikv-server processes: optimistic and pessimistic
// transactions across regions, conflicts, lock resolution after a client died mid-commit,
// async commit, 1PC, heartbeats, the GC helper, and a concurrent bank transfer.
import { DeadlockError, GrpcTransport, KeyExistsError, type TikvTransport, TransactionClient, type Transaction, TxnAbortedError, UndeterminedError, WriteConflictError } from '@tikv-ts/client';
import { kvrpcpb } from '@tikv-ts/proto';
import { type TestCluster, cleanupDirs, dec, enc, startCluster } from './cluster';

jest.setTimeout(180000);

let cluster: TestCluster;
let client: TransactionClient;

beforeAll(async () => {
  cluster = await startCluster();
  client = await TransactionClient.connect([cluster.pdUrl]);
  // Three regions for the txn keys: [-∞, "m"), ["m", "t"), ["t", +∞) (encoded boundaries).
  await cluster.split(enc('m'), 'txn');
  await cluster.split(enc('t'), 'txn');
});

afterAll(async () => {
  if (process.env['CLIENT_TEST_DUMP'] === '1') console.log(cluster?.kv.proc.out.slice(-5000));
  await client?.close();
  await cluster?.stop();
  cleanupDirs();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sends a kvproto request to the store holding `key` (the "other client" of these tests). */
async function rpc<R>(method: Parameters<TestCluster['raw']['call']>[0], key: Uint8Array, req: object): Promise<R> {
  const context = await cluster.contextFor(key, 'txn');
  return cluster.raw.call<R>(method, { context, ...req });
}

describe('optimistic transactions', () => {
  it('commits across regions, reads its own writes and isolates snapshots', async () => {
    const t0 = await client.begin();
    for (const k of ['a1', 'n1', 'z1']) await t0.put(enc(k), enc(`v0-${k}`));
    const c0 = await t0.commit();
    expect(c0).toBeGreaterThan(t0.startTs);

    const before = await client.currentTimestamp();
    const t = await client.begin();
    expect(dec(await t.get(enc('n1')))).toBe('v0-n1');
    await t.put(enc('n1'), enc('v1'));
    await t.delete(enc('z1'));
    await t.put(enc('s1'), enc('new'));
    expect(dec(await t.get(enc('n1')))).toBe('v1');
    expect(await t.get(enc('z1'))).toBeUndefined();
    const scanned = await t.scan(enc('a'), enc(''));
    expect(scanned.map((p) => `${dec(p.key)}=${dec(p.value)}`)).toEqual(['a1=v0-a1', 'n1=v1', 's1=new']);
    const rev = await t.scan(enc(''), enc(''), { reverse: true, limit: 2 });
    expect(rev.map((p) => dec(p.key))).toEqual(['s1', 'n1']);
    const batch = await t.batchGet([enc('a1'), enc('n1'), enc('z1'), enc('q')]);
    expect(batch.map((p) => dec(p.key))).toEqual(['a1', 'n1']);
    await t.commit();

    // A snapshot taken before sees the old state.
    const snap = client.snapshot(before);
    expect(dec(await snap.get(enc('n1')))).toBe('v0-n1');
    expect(dec(await snap.get(enc('z1')))).toBe('v0-z1');
    expect(await snap.get(enc('s1'))).toBeUndefined();
    const now = client.snapshot(await client.currentTimestamp());
    expect((await now.scan(enc(''), enc(''))).map((p) => dec(p.key))).toEqual(['a1', 'n1', 's1']);
  });

  it('fails the later committer with WriteConflictError and rolls it back', async () => {
    const t1 = await client.begin();
    const t2 = await client.begin();
    await t1.put(enc('wc'), enc('t1'));
    await t2.put(enc('wc'), enc('t2'));
    await t2.put(enc('wc-other'), enc('t2'));
    await t1.commit();
    const err = await t2.commit().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WriteConflictError);
    expect((err as WriteConflictError).key).toEqual(enc('wc'));
    const snap = client.snapshot(await client.currentTimestamp());
    expect(dec(await snap.get(enc('wc')))).toBe('t1');
    expect(await snap.get(enc('wc-other'))).toBeUndefined();
    // An optimistic lockKeys conflicts the same way.
    const t3 = await client.begin();
    await t3.lockKeys([enc('wc')]);
    await t3.put(enc('wc-3'), enc('x'));
    const t4 = await client.begin();
    await t4.put(enc('wc'), enc('t4'));
    await t4.commit();
    await expect(t3.commit()).rejects.toBeInstanceOf(WriteConflictError);
  });

  it('insert fails with KeyExistsError on an existing key', async () => {
    const t = await client.begin();
    await t.put(enc('dup'), enc('1'));
    await t.commit();
    const t2 = await client.begin();
    await t2.insert(enc('dup'), enc('2'));
    await expect(t2.commit()).rejects.toBeInstanceOf(KeyExistsError);
    const t3 = await client.begin();
    await t3.insert(enc('fresh-insert'), enc('ok'));
    await t3.commit();
    expect(dec(await client.snapshot(await client.currentTimestamp()).get(enc('fresh-insert')))).toBe('ok');
  });

  it('rollback discards the writes; a finished transaction refuses more work', async () => {
    const t = await client.begin();
    await t.put(enc('rb'), enc('x'));
    await t.rollback();
    expect(await client.snapshot(await client.currentTimestamp()).get(enc('rb'))).toBeUndefined();
    await expect(t.put(enc('rb'), enc('y'))).rejects.toMatchObject({ code: 'KV:Client:InvalidState' });
  });
});

describe('lock resolution after a client died mid-commit', () => {
  /** Prewrites `keys` (first = primary) with a short TTL as a client that then dies. */
  async function deadPrewrite(keys: string[], ttlMs: bigint): Promise<bigint> {
    const startTs = await client.currentTimestamp();
    const primary = enc(keys[0] as string);
    for (const k of keys) {
      const r = await rpc<kvrpcpb.PrewriteResponse>('kvPrewrite', enc(k), {
        mutations: [{ op: kvrpcpb.Op.Put, key: enc(k), value: enc(`dead-${k}`) }],
        primaryLock: primary,
        startVersion: startTs,
        lockTtl: ttlMs,
      });
      expect(r.regionError).toBeUndefined();
      expect(r.errors).toEqual([]);
    }
    return startTs;
  }

  it('rolls back an expired transaction whose primary was never committed', async () => {
    await deadPrewrite(['d1-a', 'd1-n', 'd1-u'], 300n);
    // Readers resolve the locks once the TTL has passed (they wait meanwhile).
    const snap = client.snapshot(await client.currentTimestamp());
    expect(await snap.get(enc('d1-n'))).toBeUndefined();
    expect(await snap.batchGet([enc('d1-a'), enc('d1-u')])).toEqual([]);
    // And writers proceed.
    const t = await client.begin();
    await t.put(enc('d1-u'), enc('after'));
    await t.commit();
    expect(dec(await client.snapshot(await client.currentTimestamp()).get(enc('d1-u')))).toBe('after');
  });

  it('commits the secondaries of a transaction whose primary was committed', async () => {
    const startTs = await deadPrewrite(['d2-a', 'd2-n', 'd2-u'], 100000n);
    const commitTs = await client.currentTimestamp();
    const r = await rpc<kvrpcpb.CommitResponse>('kvCommit', enc('d2-a'), { keys: [enc('d2-a')], startVersion: startTs, commitVersion: commitTs });
    expect(r.error).toBeUndefined();
    // The lock TTL is long, but the primary says committed: no wait.
    const snap = client.snapshot(await client.currentTimestamp());
    const got = await snap.scan(enc('d2-'), enc('d2.'));
    expect(got.map((p) => `${dec(p.key)}=${dec(p.value)}`)).toEqual(['d2-a=dead-d2-a', 'd2-n=dead-d2-n', 'd2-u=dead-d2-u']);
  });

  it('the GC helper resolves old locks and moves the safe point', async () => {
    await deadPrewrite(['g-a', 'g-n'], 100000n);
    const safePoint = await client.currentTimestamp();
    const sp = await client.gc(safePoint);
    expect(sp).toBe(safePoint);
    const locks = await rpc<kvrpcpb.ScanLockResponse>('kvScanLock', enc('g-a'), { maxVersion: safePoint, limit: 100 });
    expect(locks.locks).toEqual([]);
    expect(await client.snapshot(await client.currentTimestamp()).get(enc('g-n'))).toBeUndefined();
  });

  it('recovers a dead async-commit transaction from its secondaries', async () => {
    const startTs = await client.currentTimestamp();
    const keys = ['ac-a', 'ac-n', 'ac-u'];
    for (const k of keys) {
      const r = await rpc<kvrpcpb.PrewriteResponse>('kvPrewrite', enc(k), {
        mutations: [{ op: kvrpcpb.Op.Put, key: enc(k), value: enc(`async-${k}`) }],
        primaryLock: enc('ac-a'),
        startVersion: startTs,
        lockTtl: 200n,
        useAsyncCommit: true,
        minCommitTs: startTs + 1n,
        secondaries: k === 'ac-a' ? [enc('ac-n'), enc('ac-u')] : [],
      });
      expect(r.errors).toEqual([]);
      expect(r.minCommitTs).toBeGreaterThan(0n);
    }
    // Every prewrite succeeded: the transaction is committed even though no commit was sent.
    await sleep(300);
    const snap = client.snapshot(await client.currentTimestamp());
    expect(dec(await snap.get(enc('ac-n')))).toBe('async-ac-n');
    expect(dec(await snap.get(enc('ac-a')))).toBe('async-ac-a');
  });
});

describe('commit outcomes', () => {
  /** A client whose kvCommit calls go through `hook` first. */
  async function hookedClient(hook: () => Promise<void>, maxBackoffMs = 20000): Promise<TransactionClient> {
    const inner = new GrpcTransport();
    const transport: TikvTransport = {
      close: () => inner.close(),
      async call(addr, method, req, timeoutMs) {
        if (method === 'kvCommit') await hook();
        return inner.call(addr, method, req, timeoutMs);
      },
    };
    return TransactionClient.connect([cluster.pdUrl], { transport, maxBackoffMs });
  }

  it('TxnAbortedError when another client rolled the transaction back before its commit', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let reachedCommit!: () => void;
    const atCommit = new Promise<void>((r) => (reachedCommit = r));
    const slow = await hookedClient(async () => {
      reachedCommit();
      await gate;
    });
    try {
      const t = await slow.begin({ lockTtlMs: 100n, heartbeatIntervalMs: 1e9 });
      await t.put(enc('ab-k'), enc('late'));
      const committing = t.commit().catch((e: unknown) => e);
      await atCommit;
      await sleep(300);
      // Another reader finds the expired lock and rolls the transaction back.
      expect(await client.snapshot(await client.currentTimestamp()).get(enc('ab-k'))).toBeUndefined();
      release();
      expect(await committing).toBeInstanceOf(TxnAbortedError);
      expect(await client.snapshot(await client.currentTimestamp()).get(enc('ab-k'))).toBeUndefined();
    } finally {
      await slow.close();
    }
  });

  it('UndeterminedError when the primary commit cannot be sent', async () => {
    const broken = await hookedClient(async () => {
      throw Object.assign(new Error('14 UNAVAILABLE: injected'), { code: 14 });
    }, 500);
    try {
      const t = await broken.begin();
      await t.put(enc('und-k'), enc('v'));
      await expect(t.commit()).rejects.toBeInstanceOf(UndeterminedError);
    } finally {
      await broken.close();
    }
  });
});

describe('pessimistic transactions', () => {
  it('a second locker waits for the first and then sees its write', async () => {
    const t1 = await client.begin({ pessimistic: true });
    await t1.put(enc('p1'), enc('t1'));
    const t2 = await client.begin({ pessimistic: true });
    let t2Locked = false;
    const waiter = t2.getForUpdate(enc('p1')).then((v) => {
      t2Locked = true;
      return v;
    });
    await sleep(300);
    expect(t2Locked).toBe(false);
    await t1.commit();
    expect(dec(await waiter)).toBe('t1');
    await t2.put(enc('p1'), enc('t2'));
    await t2.commit();
    expect(dec(await client.snapshot(await client.currentTimestamp()).get(enc('p1')))).toBe('t2');
  });

  it('reports a deadlock to one of two transactions', async () => {
    const t1 = await client.begin({ pessimistic: true });
    const t2 = await client.begin({ pessimistic: true });
    await t1.lockKeys([enc('dl-a')]);
    await t2.lockKeys([enc('dl-n')]);
    const r1 = t1.lockKeys([enc('dl-n')]).then(
      () => 'ok',
      (e: unknown) => e,
    );
    await sleep(100);
    const r2 = t2.lockKeys([enc('dl-a')]).then(
      () => 'ok',
      (e: unknown) => e,
    );
    const first = await Promise.race([r1, r2]);
    expect(first).toBeInstanceOf(DeadlockError);
    // The loser rolls back; the other proceeds.
    if (first === (await Promise.race([r2, Promise.resolve('pending')]))) {
      await t2.rollback();
      expect(await r1).toBe('ok');
      await t1.commit();
    } else {
      await t1.rollback();
      expect(await r2).toBe('ok');
      await t2.commit();
    }
  });

  it('insert of an existing key fails at once', async () => {
    const t = await client.begin();
    await t.put(enc('pdup'), enc('1'));
    await t.commit();
    const p = await client.begin({ pessimistic: true });
    await expect(p.insert(enc('pdup'), enc('2'))).rejects.toBeInstanceOf(KeyExistsError);
    await p.rollback();
  });

  it('heartbeats keep a long transaction alive past its lock TTL', async () => {
    const t = await client.begin({ pessimistic: true, lockTtlMs: 500n, heartbeatIntervalMs: 100 });
    await t.put(enc('hb'), enc('long'));
    await sleep(1500);
    const status = await rpc<kvrpcpb.CheckTxnStatusResponse>('kvCheckTxnStatus', enc('hb'), {
      primaryKey: enc('hb'),
      lockTs: t.startTs,
      callerStartTs: 0n,
      currentTs: await client.currentTimestamp(),
      rollbackIfNotExist: false,
    });
    expect(status.error).toBeUndefined();
    expect(status.lockTtl).toBeGreaterThan(1500n);
    await t.commit();
    expect(dec(await client.snapshot(await client.currentTimestamp()).get(enc('hb')))).toBe('long');
  });
});

describe('async commit and 1PC', () => {
  it('commits with async commit across regions', async () => {
    const t = await client.begin({ asyncCommit: true });
    for (const k of ['as-a', 'as-n', 'as-u']) await t.put(enc(k), enc('async'));
    const commitTs = await t.commit();
    expect(commitTs).toBeGreaterThan(t.startTs);
    const snap = client.snapshot(await client.currentTimestamp());
    expect((await snap.batchGet([enc('as-a'), enc('as-n'), enc('as-u')])).map((p) => dec(p.value))).toEqual(['async', 'async', 'async']);
  });

  it('commits a single-region transaction in one phase', async () => {
    const t = await client.begin({ tryOnePc: true });
    await t.put(enc('one-1'), enc('x'));
    await t.put(enc('one-2'), enc('y'));
    const commitTs = await t.commit();
    expect(commitTs).toBeGreaterThan(t.startTs);
    const m = await rpc<kvrpcpb.MvccGetByKeyResponse>('mvccGetByKey', enc('one-1'), { key: enc('one-1') });
    expect(m.info?.writes.map((w) => w.commitTs)).toContain(commitTs);
    expect(dec(await client.snapshot(await client.currentTimestamp()).get(enc('one-2')))).toBe('y');
  });
});

describe('1PC and async commit fall back to 2PC', () => {
  it('tryOnePc over several regions and asyncCommit over 256 keys still commit', async () => {
    const t = await client.begin({ tryOnePc: true });
    await t.put(enc('fb-a'), enc('1'));
    await t.put(enc('fb-z'), enc('2'));
    const ts = await t.commit();
    const m = await rpc<kvrpcpb.MvccGetByKeyResponse>('mvccGetByKey', enc('fb-z'), { key: enc('fb-z') });
    expect(m.info?.writes.map((w) => w.commitTs)).toContain(ts);
    const big = await client.begin({ asyncCommit: true });
    for (let i = 0; i < 300; i++) await big.put(enc(`fb-big-${String(i).padStart(3, '0')}`), enc(String(i)));
    await big.commit();
    const got = await client.snapshot(await client.currentTimestamp()).scan(enc('fb-big-'), enc('fb-big.'));
    expect(got).toHaveLength(300);
  });
});

describe('concurrent bank transfer', () => {
  it('keeps the total exact under optimistic and pessimistic transfers', async () => {
    const accounts = Array.from({ length: 8 }, (_, i) => enc(`bank-${['a', 'c', 'e', 'n', 'p', 'r', 'u', 'x'][i]}`));
    const init = await client.begin();
    for (const a of accounts) await init.put(a, enc('100'));
    await init.commit();
    const total = (pairs: { value: Uint8Array }[]): number => pairs.reduce((s, p) => s + Number(dec(p.value)), 0);

    // mulberry32; BANK_SEED=<n> replays a run.
    const seed0 = Number(process.env['BANK_SEED'] ?? 12345);
    let seed = seed0;
    const rnd = (n: number): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return ((x ^ (x >>> 14)) >>> 0) % n;
    };
    let done = 0;
    let conflicts = 0;
    let skipped = 0;
    const transfer = async (pessimistic: boolean): Promise<void> => {
      const from = accounts[rnd(accounts.length)] as Uint8Array;
      let to = accounts[rnd(accounts.length)] as Uint8Array;
      if (to === from) to = accounts[(accounts.indexOf(from) + 1) % accounts.length] as Uint8Array;
      const amount = 1 + rnd(20);
      for (;;) {
        const t: Transaction = await client.begin({ pessimistic });
        try {
          const a = Number(dec(pessimistic ? await t.getForUpdate(from) : await t.get(from)));
          const b = Number(dec(pessimistic ? await t.getForUpdate(to) : await t.get(to)));
          if (a < amount) {
            skipped++;
            await t.rollback();
            return;
          }
          await t.put(from, enc(String(a - amount)));
          await t.put(to, enc(String(b + amount)));
          await t.commit();
          done++;
          return;
        } catch (e) {
          if (e instanceof WriteConflictError || e instanceof DeadlockError) {
            conflicts++;
            await t.rollback().catch(() => undefined);
            continue;
          }
          throw e;
        }
      }
    };
    const workers = Array.from({ length: 6 }, (_, w) =>
      (async () => {
        for (let i = 0; i < 15; i++) await transfer(w % 2 === 1);
      })(),
    );
    let checking = true;
    const checker = (async () => {
      let checks = 0;
      while (checking) {
        const snap = client.snapshot(await client.currentTimestamp());
        expect(total(await snap.batchGet(accounts))).toBe(800);
        checks++;
        await sleep(50);
      }
      return checks;
    })();
    await Promise.all(workers);
    checking = false;
    const checks = await checker;
    const final = await client.snapshot(await client.currentTimestamp()).scan(enc('bank-'), enc('bank.'));
    expect(final).toHaveLength(8);
    expect(total(final)).toBe(800);
     
    console.log(`bank (BANK_SEED=${seed0}): ${done} transfers, ${skipped} skipped, ${conflicts} conflicts retried, ${checks} consistent snapshots`);
    expect(done + skipped).toBe(90);
    expect(done).toBeGreaterThan(60);
    expect(checks).toBeGreaterThan(0);
  });
});
