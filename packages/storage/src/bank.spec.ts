// A concurrent bank on LocalEngine over engine-rocks (and engine-memory): workers transfer money
// between accounts with Percolator transactions while readers check the total at random
// timestamps. Workers sometimes "crash" after prewrite or after committing only the primary, so
// others must resolve their locks through check txn status and resolve lock. Seeded: set
// SIM_SEED=<n> to replay the choices of a failing run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeTs } from '@tikv-ts/codec';
import type { KvEngine } from '@tikv-ts/engine-traits';
import { MemoryEngine } from '@tikv-ts/engine-memory';
import { RocksEngine } from '@tikv-ts/engine-rocks';
import { SeededRng } from '@tikv-ts/util';
import { ManualClock } from '@tikv-ts/util/testing';
import { kvrpcpb } from '@tikv-ts/proto';
import {
  DeadlockError,
  KeyIsLockedError,
  PessimisticLockNotFoundError,
  PessimisticLockRolledBackError,
  TxnLockNotFoundError,
  WriteConflictError,
} from './errors';
import { LocalEngine } from './local-engine';
import { Storage, type TxnContext } from './storage';

const ACCOUNTS = 16;
const INITIAL = 1000;
const WORKERS = 8;
const READERS = 2;

/** Size of one run: every native engine call costs a thread-pool hop, so rocks runs fewer. */
interface BankSize {
  readonly transfersPerWorker: number;
  readonly readsPerReader: number;
}
const ROCKS_SIZE: BankSize = { transfersPerWorker: 16, readsPerReader: 12 };
const MEMORY_SIZE: BankSize = { transfersPerWorker: 30, readsPerReader: 25 };

const ctx: TxnContext = {};
const acct = (i: number): Uint8Array => new TextEncoder().encode(`acct-${String(i).padStart(3, '0')}`);
const enc = (n: number): Uint8Array => new TextEncoder().encode(String(n));
const dec = (b: Uint8Array | undefined): number => (b === undefined ? 0 : Number(Buffer.from(b).toString()));
const tick = (): Promise<void> => new Promise<void>((r) => setImmediate(r));

/** A timestamp oracle: strictly increasing, one physical ms every 8 allocations. */
class Tso {
  #n = 0;
  next(): bigint {
    this.#n++;
    return composeTs(1_000_000 + Math.floor(this.#n / 8), this.#n % 8);
  }
}

interface Stats {
  committed: number;
  aborted: number;
  resolved: number;
  checks: number;
  pessimistic: number;
  deadlocks: number;
  lockWaitTimeouts: number;
}

async function resolve(s: Storage, tso: Tso, e: KeyIsLockedError, callerStartTs: bigint, stats: Stats): Promise<void> {
  const info = e.lockInfo;
  const st = await s.checkTxnStatus(ctx, {
    primaryKey: info.primaryLock,
    lockTs: info.lockVersion,
    callerStartTs,
    currentTs: tso.next(),
    rollbackIfNotExist: true,
    resolvingPessimisticLock: info.lockType === kvrpcpb.Op.PessimisticLock,
  });
  if (st.commitVersion !== 0n) {
    await s.resolveLock(ctx, { startVersion: info.lockVersion, commitVersion: st.commitVersion, keys: [info.key] });
    stats.resolved++;
  } else if (st.lockTtl === 0n) {
    await s.resolveLock(ctx, { startVersion: info.lockVersion, commitVersion: 0n, keys: [info.key] });
    stats.resolved++;
  } else {
    await tick();
  }
}

async function readAll(s: Storage, tso: Tso, readTs: bigint, stats: Stats): Promise<number[]> {
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const pairs = await s.scan(ctx, { startKey: acct(0), endKey: acct(ACCOUNTS), limit: 0, ts: readTs });
    const locked = pairs.find((p) => p.error !== undefined);
    if (locked?.error !== undefined) {
      await resolve(s, tso, locked.error, readTs, stats);
      continue;
    }
    return pairs.map((p) => {
      if (p.error !== undefined) throw p.error;
      return dec(p.value);
    });
  }
  throw new Error('reader starved');
}

async function transfer(s: Storage, tso: Tso, rng: SeededRng, stats: Stats): Promise<void> {
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const from = rng.nextInt(ACCOUNTS);
    let to = rng.nextInt(ACCOUNTS - 1);
    if (to >= from) to++;
    const startTs = tso.next();
    const keys = [acct(from), acct(to)];
    let balances: number[];
    try {
      balances = [];
      for (const key of keys) balances.push(dec((await s.get(ctx, key, startTs)).value));
    } catch (e: unknown) {
      if (e instanceof KeyIsLockedError) {
        await resolve(s, tso, e, startTs, stats);
        continue;
      }
      throw e;
    }
    const amount = Math.min(balances[0] as number, 1 + rng.nextInt(50));
    const r = await s
      .prewrite(ctx, {
        mutations: [
          { type: 'put', key: keys[0] as Uint8Array, value: enc((balances[0] as number) - amount) },
          { type: 'put', key: keys[1] as Uint8Array, value: enc((balances[1] as number) + amount) },
        ],
        primaryLock: keys[0] as Uint8Array,
        startVersion: startTs,
        lockTtl: 4n,
      })
      .catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
    if (r instanceof WriteConflictError) {
      await s.batchRollback(ctx, { keys, startVersion: startTs });
      stats.aborted++;
      continue;
    }
    if (r instanceof Error) throw r;
    if (r.errors.length > 0) {
      await s.batchRollback(ctx, { keys, startVersion: startTs });
      await resolve(s, tso, r.errors[0] as KeyIsLockedError, startTs, stats);
      stats.aborted++;
      continue;
    }
    // Crash after prewrite: others will find the expired locks and roll them back.
    if (rng.chance(0.05)) return;
    const commitTs = tso.next();
    try {
      await s.commit(ctx, { keys: [keys[0] as Uint8Array], startVersion: startTs, commitVersion: commitTs });
    } catch (e: unknown) {
      if (e instanceof TxnLockNotFoundError) {
        stats.aborted++;
        continue; // rolled back by someone's check txn status
      }
      throw e;
    }
    stats.committed++;
    // Crash after the primary: the secondary lock is committed by a resolver.
    if (rng.chance(0.1)) return;
    await s.commit(ctx, { keys: [keys[1] as Uint8Array], startVersion: startTs, commitVersion: commitTs });
    return;
  }
  throw new Error('worker starved');
}

/**
 * A pessimistic transfer: lock the two accounts one at a time in random order (so waiters can
 * deadlock), read their values with the locks, prewrite with the pessimistic check, commit.
 */
async function pessimisticTransfer(s: Storage, tso: Tso, rng: SeededRng, stats: Stats): Promise<void> {
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const from = rng.nextInt(ACCOUNTS);
    let to = rng.nextInt(ACCOUNTS - 1);
    if (to >= from) to++;
    const keys = [acct(from), acct(to)];
    const startTs = tso.next();
    const forUpdateTs = tso.next();
    const order = rng.chance(0.5) ? [0, 1] : [1, 0];
    const balances = [0, 0];
    let failed = false;
    for (const i of order) {
      try {
        const r = await s.pessimisticLock(ctx, {
          keys: [{ key: keys[i] as Uint8Array }],
          primaryLock: keys[0] as Uint8Array,
          startVersion: startTs,
          forUpdateTs,
          lockTtl: 20n,
          returnValues: true,
        });
        balances[i] = dec(r.values[0]);
      } catch (e: unknown) {
        failed = true;
        if (e instanceof KeyIsLockedError) {
          stats.lockWaitTimeouts++;
          await resolve(s, tso, e, startTs, stats);
        } else if (e instanceof DeadlockError) {
          stats.deadlocks++;
        } else if (!(e instanceof WriteConflictError || e instanceof PessimisticLockRolledBackError)) {
          throw e;
        }
        break;
      }
    }
    if (failed) {
      await s.pessimisticRollback(ctx, { keys, startVersion: startTs, forUpdateTs });
      stats.aborted++;
      continue;
    }
    const amount = Math.min(balances[0] as number, 1 + rng.nextInt(50));
    const r = await s
      .prewrite(ctx, {
        mutations: [
          { type: 'put', key: keys[0] as Uint8Array, value: enc((balances[0] as number) - amount) },
          { type: 'put', key: keys[1] as Uint8Array, value: enc((balances[1] as number) + amount) },
        ],
        primaryLock: keys[0] as Uint8Array,
        startVersion: startTs,
        forUpdateTs,
        pessimisticActions: [
          kvrpcpb.PrewriteRequest_PessimisticAction.DO_PESSIMISTIC_CHECK,
          kvrpcpb.PrewriteRequest_PessimisticAction.DO_PESSIMISTIC_CHECK,
        ],
        lockTtl: 20n,
      })
      .catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
    if (r instanceof PessimisticLockNotFoundError) {
      // Our locks expired and were resolved by others meanwhile.
      await s.batchRollback(ctx, { keys, startVersion: startTs });
      stats.aborted++;
      continue;
    }
    if (r instanceof Error) throw r;
    if (r.errors.length > 0) throw r.errors[0];
    const commitTs = tso.next();
    try {
      await s.commit(ctx, { keys, startVersion: startTs, commitVersion: commitTs });
    } catch (e: unknown) {
      if (e instanceof TxnLockNotFoundError) {
        stats.aborted++;
        continue;
      }
      throw e;
    }
    stats.committed++;
    stats.pessimistic++;
    return;
  }
  throw new Error('pessimistic worker starved');
}

async function runBank(kv: KvEngine, seed: bigint, size: BankSize): Promise<Stats> {
  // Unsynced group commits: durability is not under test here, and fsyncs on a shared disk are slow.
  // Lock waits run on virtual time, advanced from real time so that waits end.
  const clock = new ManualClock();
  const ticker = setInterval(() => clock.advance(5), 1);
  try {
    return await runBankWith(new Storage({ engine: new LocalEngine(kv, { sync: false }), clock, waitForLockTimeoutMs: 30 }), seed, size);
  } finally {
    clearInterval(ticker);
  }
}

async function runBankWith(s: Storage, seed: bigint, size: BankSize): Promise<Stats> {
  const tso = new Tso();
  const stats: Stats = { committed: 0, aborted: 0, resolved: 0, checks: 0, pessimistic: 0, deadlocks: 0, lockWaitTimeouts: 0 };
  const initTs = tso.next();
  const init = await s.prewrite(ctx, {
    mutations: Array.from({ length: ACCOUNTS }, (_, i) => ({ type: 'put' as const, key: acct(i), value: enc(INITIAL) })),
    primaryLock: acct(0),
    startVersion: initTs,
    lockTtl: 3000n,
  });
  expect(init.errors).toEqual([]);
  const firstCommit = tso.next();
  await s.commit(ctx, { keys: Array.from({ length: ACCOUNTS }, (_, i) => acct(i)), startVersion: initTs, commitVersion: firstCommit });
  const rng = new SeededRng(seed);
  const workers = Array.from({ length: WORKERS }, async (_, w) => {
    const wr = rng.fork(`worker-${w}`);
    // Half the workers run pessimistic transactions.
    for (let t = 0; t < size.transfersPerWorker; t++) {
      if (w % 2 === 1) await pessimisticTransfer(s, tso, wr, stats);
      else await transfer(s, tso, wr, stats);
    }
  });
  const readers = Array.from({ length: READERS }, async (_, r) => {
    const rr = rng.fork(`reader-${r}`);
    for (let i = 0; i < size.readsPerReader; i++) {
      const now = tso.next();
      // A random ts between the initial commit and now (snapshot isolation at any ts).
      const span = Number(now - firstCommit);
      const readTs = firstCommit + BigInt(rr.nextInt(span + 1));
      const balances = await readAll(s, tso, readTs, stats);
      expect(balances.length).toBe(ACCOUNTS);
      expect(balances.reduce((a, b) => a + b, 0)).toBe(ACCOUNTS * INITIAL);
      stats.checks++;
      await tick();
    }
  });
  await Promise.all([...workers, ...readers]);
  // Final state: resolve what crashed workers left, then check at the latest ts.
  const finalBalances = await readAll(s, tso, tso.next(), stats);
  expect(finalBalances.reduce((a, b) => a + b, 0)).toBe(ACCOUNTS * INITIAL);
  expect(finalBalances.every((b) => b >= 0)).toBe(true);
  return stats;
}

const seed = BigInt(process.env['SIM_SEED'] ?? '20261128');

async function withSeed(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e: unknown) {
    process.stderr.write(`bank test failed: SIM_SEED=${seed}\n`);
    throw e;
  }
}

describe('bank: concurrent transfers keep the total', () => {
  it('on LocalEngine(engine-rocks)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'storage-bank-'));
    const kv = await RocksEngine.open({ path: join(dir, 'db') });
    try {
      await withSeed(async () => {
        const stats = await runBank(kv, seed, ROCKS_SIZE);
        process.stdout.write(`bank on engine-rocks: ${JSON.stringify(stats)}\n`);
        expect(stats.committed).toBeGreaterThan(WORKERS * ROCKS_SIZE.transfersPerWorker * 0.5);
        expect(stats.resolved).toBeGreaterThan(0);
        expect(stats.checks).toBe(READERS * ROCKS_SIZE.readsPerReader);
      });
    } finally {
      await kv.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('on LocalEngine(engine-memory)', async () => {
    const kv = MemoryEngine.open();
    try {
      await withSeed(async () => {
        const stats = await runBank(kv, seed + 1n, MEMORY_SIZE);
        process.stdout.write(`bank on engine-memory: ${JSON.stringify(stats)}\n`);
        expect(stats.committed).toBeGreaterThan(WORKERS * MEMORY_SIZE.transfersPerWorker * 0.5);
        expect(stats.resolved).toBeGreaterThan(0);
        expect(stats.checks).toBe(READERS * MEMORY_SIZE.readsPerReader);
      });
    } finally {
      await kv.close();
    }
  }, 60_000);
});
