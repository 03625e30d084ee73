import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Key } from '@tikv-ts/codec';
import type { KvEngine } from '@tikv-ts/engine-traits';
import { MemoryEngine } from '@tikv-ts/engine-memory';
import { RocksEngine } from '@tikv-ts/engine-rocks';
import { kvrpcpb } from '@tikv-ts/proto';
import { ManualClock } from '@tikv-ts/util/testing';
import {
  AlreadyExistError,
  CommitTsExpiredError,
  DeadlockError,
  InvalidTxnTsoError,
  KeyIsLockedError,
  LockTypeNotMatchError,
  PessimisticLockNotFoundError,
  PessimisticLockRolledBackError,
  PrimaryMismatchError,
  TxnLockNotFoundError,
  TxnNotFoundError,
  WriteConflictError,
  extractKeyError,
} from './errors';
import type { Engine } from './engine';
import { LocalEngine } from './local-engine';
import { Storage } from './storage';
import { CommittedError } from './txn/actions';
import { Lock, TS_MAX, Write } from './txn-types';
import { ctx, del, k, mustGet, mustPrewrite, mustPut, put, str, ts } from './testdata/txn-helpers';

type EngineName = 'engine-memory' | 'engine-rocks';
const rocksRoot = mkdtempSync(join(tmpdir(), 'storage-spec-'));
let rocksSeq = 0;
const opened: KvEngine[] = [];
afterAll(async () => {
  for (const kv of opened) await kv.close();
  rmSync(rocksRoot, { recursive: true, force: true });
});

async function openKv(name: EngineName): Promise<KvEngine> {
  const kv = name === 'engine-memory' ? MemoryEngine.open() : await RocksEngine.open({ path: join(rocksRoot, `db-${rocksSeq++}`) });
  opened.push(kv);
  return kv;
}

let engineName: EngineName = 'engine-memory';

async function setup(opts: { waitForLockTimeoutMs?: number } = {}): Promise<{ s: Storage; kv: KvEngine; clock: ManualClock }> {
  const kv = await openKv(engineName);
  const clock = new ManualClock();
  const s = new Storage({ engine: new LocalEngine(kv, { sync: false }), clock, ...opts });
  return { s, kv, clock };
}

async function rawLock(kv: KvEngine, key: string): Promise<Lock | undefined> {
  const v = await kv.get('lock', Uint8Array.from([0x7a, ...Key.fromRaw(k(key)).asEncoded()]));
  return v === undefined ? undefined : Lock.parse(v);
}

async function writesOf(kv: KvEngine, key: string): Promise<{ commitTs: bigint; write: Write }[]> {
  const enc = Uint8Array.from([0x7a, ...Key.fromRaw(k(key)).asEncoded()]);
  const all = await kv.scan('write', { lowerBound: enc, upperBound: Uint8Array.from([...enc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) });
  return all.map((e) => ({ commitTs: Key.decodeTsFrom(e.key), write: Write.parse(e.value) }));
}

describe.each<EngineName>(['engine-memory', 'engine-rocks'])('Storage on LocalEngine(%s)', (name) => {
  beforeAll(() => {
    engineName = name;
  });

  describe('reads and MVCC', () => {
    it('reads the newest version at or below the read ts', async () => {
      const { s } = await setup();
      await mustPut(s, 'a', 'v1', ts(10), ts(11));
      await mustPut(s, 'a', 'v2', ts(20), ts(21));
      await mustPrewrite(s, [del('a')], 'a', ts(30));
      await s.commit(ctx, { keys: [k('a')], startVersion: ts(30), commitVersion: ts(31) });
      expect(await mustGet(s, 'a', ts(5))).toBeUndefined();
      expect(await mustGet(s, 'a', ts(11))).toBe('v1');
      expect(await mustGet(s, 'a', ts(20))).toBe('v1');
      expect(await mustGet(s, 'a', ts(25))).toBe('v2');
      expect(await mustGet(s, 'a', ts(40))).toBeUndefined();
    });

    it('keeps short values in the write record and long ones in CF default', async () => {
      const { s, kv } = await setup();
      const long = 'x'.repeat(300);
      await mustPut(s, 'short', 's'.repeat(255), ts(1), ts(2));
      await mustPut(s, 'long', long, ts(3), ts(4));
      expect((await writesOf(kv, 'short'))[0]?.write.shortValue?.length).toBe(255);
      expect((await writesOf(kv, 'long'))[0]?.write.shortValue).toBeUndefined();
      expect(await mustGet(s, 'long', ts(5))).toBe(long);
      const info = await s.mvccGetByKey(ctx, k('long'));
      expect(info.values.map((v) => v.startTs)).toEqual([ts(3)]);
      expect(info.writes.map((w) => [w.commitTs, w.startTs, w.type])).toEqual([[ts(4), ts(3), kvrpcpb.Op.Put]]);
    });

    it('a lock blocks SI reads at or above its ts, with TiKV exceptions', async () => {
      const { s } = await setup();
      await mustPut(s, 'k', 'old', ts(1), ts(2));
      await mustPrewrite(s, [put('k', 'new')], 'k', ts(10));
      await expect(s.get(ctx, k('k'), ts(20))).rejects.toBeInstanceOf(KeyIsLockedError);
      // Reads below the lock's start ts are not blocked (no dirty read either way).
      expect(await mustGet(s, 'k', ts(5))).toBe('old');
      // resolved_locks bypasses the lock; committed_locks reads the lock's value.
      expect(str((await s.get({ resolvedLocks: [ts(10)] }, k('k'), ts(20))).value)).toBe('old');
      expect(str((await s.get({ committedLocks: [ts(10)] }, k('k'), ts(20))).value)).toBe('new');
      // Read committed ignores locks.
      expect(str((await s.get({ isolationLevel: kvrpcpb.IsolationLevel.RC }, k('k'), ts(20))).value)).toBe('old');
      // RCCheckTS fails on any Put/Delete lock (even a newer one) with an RcCheckTs conflict.
      const rc = await s.get({ isolationLevel: kvrpcpb.IsolationLevel.RCCheckTS }, k('k'), ts(5)).catch((x: unknown) => x);
      expect((rc as WriteConflictError).reason).toBe(kvrpcpb.WriteConflict_Reason.RcCheckTs);
      expect(str((await s.get({ isolationLevel: kvrpcpb.IsolationLevel.RCCheckTS, resolvedLocks: [ts(10)] }, k('k'), ts(5))).value)).toBe('old');
      // A read at the max ts ignores the lock of a (non async-commit) primary key.
      expect(str((await s.get(ctx, k('k'), TS_MAX)).value)).toBe('old');
      try {
        await s.get(ctx, k('k'), ts(20));
      } catch (e: unknown) {
        const ke = extractKeyError(e);
        expect(ke.locked?.lockVersion).toBe(ts(10));
        expect(str(ke.locked?.primaryLock)).toBe('k');
        expect(ke.locked?.lockTtl).toBe(3000n);
      }
    });

    it('Lock-type and pessimistic locks never block reads', async () => {
      const { s } = await setup();
      await mustPut(s, 'a', 'v', ts(1), ts(2));
      await mustPrewrite(s, [{ type: 'lock', key: k('a') }], 'a', ts(10));
      expect(await mustGet(s, 'a', ts(20))).toBe('v');
      await s.pessimisticLock(ctx, { keys: [{ key: k('b') }], primaryLock: k('b'), startVersion: ts(11), forUpdateTs: ts(11), lockTtl: 3000n });
      expect(await mustGet(s, 'b', ts(20))).toBeUndefined();
    });

    it('batch get returns found pairs and per-key lock errors', async () => {
      const { s } = await setup();
      await mustPut(s, 'a', '1', ts(1), ts(2));
      await mustPut(s, 'c', '3', ts(1), ts(2));
      await mustPrewrite(s, [put('c', 'x')], 'c', ts(5));
      const r = await s.batchGet(ctx, [k('a'), k('b'), k('c')], ts(10));
      expect(r.map((p) => [str(p.key), p.error === undefined ? str(p.value) : 'locked'])).toEqual([
        ['a', '1'],
        ['c', 'locked'],
      ]);
    });

    it('scans forward, reverse, key-only, with limit and bounds, reporting locks', async () => {
      const { s } = await setup();
      for (const [i, key] of ['a', 'b', 'c', 'd', 'e'].entries()) await mustPut(s, key, key + '1', ts(10 + i * 2), ts(11 + i * 2));
      await mustPut(s, 'b', 'b2', ts(30), ts(31));
      await mustPrewrite(s, [del('c')], 'c', ts(32));
      await s.commit(ctx, { keys: [k('c')], startVersion: ts(32), commitVersion: ts(33) });
      await mustPrewrite(s, [put('d', 'locked')], 'd', ts(40));
      const fmt = (r: Awaited<ReturnType<Storage['scan']>>) => r.map((p) => (p.error !== undefined ? `${str(p.key)}!` : `${str(p.key)}=${str(p.value)}`));
      expect(fmt(await s.scan(ctx, { startKey: k(''), limit: 0, ts: ts(35) }))).toEqual(['a=a1', 'b=b2', 'd=d1', 'e=e1']);
      expect(fmt(await s.scan(ctx, { startKey: k(''), limit: 0, ts: ts(50) }))).toEqual(['a=a1', 'b=b2', 'd!', 'e=e1']);
      expect(fmt(await s.scan(ctx, { startKey: k('b'), endKey: k('e'), limit: 0, ts: ts(20) }))).toEqual(['b=b1', 'c=c1', 'd=d1']);
      // Reverse, as TiKV's request: start key is the exclusive upper bound, end key the lower bound.
      expect(fmt(await s.scan(ctx, { startKey: k('e'), endKey: k('a'), limit: 2, ts: ts(35), reverse: true }))).toEqual(['d=d1', 'b=b2']);
      expect(fmt(await s.scan(ctx, { startKey: k('e'), endKey: k('b'), limit: 0, ts: ts(35), reverse: true }))).toEqual(['d=d1', 'b=b2']);
      expect(fmt(await s.scan(ctx, { startKey: k(''), limit: 2, ts: ts(35), keyOnly: true }))).toEqual(['a=', 'b=']);
      expect(fmt(await s.scan(ctx, { startKey: k(''), limit: 0, ts: ts(50), reverse: true }))).toEqual(['e=e1', 'd!', 'b=b2', 'a=a1']);
    });
  });

  describe('prewrite and commit', () => {
    it('rejects a prewrite over a newer commit (lost update) and a locked key', async () => {
      const { s } = await setup();
      // Two transactions read-modify-write the same key; the second one to prewrite loses.
      await mustPut(s, 'x', '0', ts(1), ts(2));
      await mustPrewrite(s, [put('x', 'by-t1')], 'x', ts(10));
      const r = await s.prewrite(ctx, { mutations: [put('x', 'by-t2')], primaryLock: k('x'), startVersion: ts(11), lockTtl: 3000n });
      expect(r.errors[0]).toBeInstanceOf(KeyIsLockedError);
      await s.commit(ctx, { keys: [k('x')], startVersion: ts(10), commitVersion: ts(12) });
      const e = await mustPrewrite(s, [put('x', 'by-t2')], 'x', ts(11)).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(WriteConflictError);
      const ke = extractKeyError(e);
      expect(ke.conflict?.conflictCommitTs).toBe(ts(12));
      expect(ke.conflict?.reason).toBe(kvrpcpb.WriteConflict_Reason.Optimistic);
      expect(await mustGet(s, 'x', ts(20))).toBe('by-t1');
    });

    it('write skew on one key: the transaction that read an old version cannot commit over it', async () => {
      const { s } = await setup();
      await mustPut(s, 'balance', '100', ts(1), ts(2));
      // Both read at their start ts, both decide to write; only the first prewrite+commit wins.
      expect(await mustGet(s, 'balance', ts(10))).toBe('100');
      expect(await mustGet(s, 'balance', ts(11))).toBe('100');
      await mustPut(s, 'balance', '50', ts(10), ts(12));
      await expect(mustPrewrite(s, [put('balance', '0')], 'balance', ts(11))).rejects.toBeInstanceOf(WriteConflictError);
    });

    it('no dirty reads: uncommitted data is never returned', async () => {
      const { s } = await setup();
      await mustPrewrite(s, [put('d', 'dirty')], 'd', ts(10));
      await expect(s.get(ctx, k('d'), ts(15))).rejects.toBeInstanceOf(KeyIsLockedError);
      await s.batchRollback(ctx, { keys: [k('d')], startVersion: ts(10) });
      expect(await mustGet(s, 'd', ts(15))).toBeUndefined();
    });

    it('insert and check-not-exists fail on existing keys', async () => {
      const { s } = await setup();
      await mustPut(s, 'a', '1', ts(1), ts(2));
      await expect(mustPrewrite(s, [{ type: 'insert', key: k('a'), value: k('2') }], 'a', ts(5))).rejects.toBeInstanceOf(AlreadyExistError);
      await expect(mustPrewrite(s, [{ type: 'checkNotExists', key: k('a') }], 'a', ts(5))).rejects.toBeInstanceOf(AlreadyExistError);
      await mustPrewrite(s, [{ type: 'insert', key: k('b'), value: k('2') }, { type: 'checkNotExists', key: k('c') }], 'b', ts(6));
      expect(await rawLock((s.engine as LocalEngine).kvEngine, 'c')).toBeUndefined();
      expect(extractKeyError(new AlreadyExistError(k('a'), 1n)).alreadyExist?.key).toEqual(k('a'));
    });

    it('prewrite is idempotent and commit is idempotent', async () => {
      const { s } = await setup();
      await mustPrewrite(s, [put('a', '1')], 'a', ts(5));
      await mustPrewrite(s, [put('a', '1')], 'a', ts(5));
      await s.commit(ctx, { keys: [k('a')], startVersion: ts(5), commitVersion: ts(6) });
      await s.commit(ctx, { keys: [k('a')], startVersion: ts(5), commitVersion: ts(6) });
      expect(await mustGet(s, 'a', ts(7))).toBe('1');
    });

    it('commit errors: invalid ts, expired commit ts, lock not found after rollback', async () => {
      const { s } = await setup();
      await expect(s.commit(ctx, { keys: [k('a')], startVersion: ts(5), commitVersion: ts(5) })).rejects.toBeInstanceOf(InvalidTxnTsoError);
      await mustPrewrite(s, [put('a', '1')], 'a', ts(5), { minCommitTs: ts(8) });
      const e = await s.commit(ctx, { keys: [k('a')], startVersion: ts(5), commitVersion: ts(7) }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(CommitTsExpiredError);
      expect(extractKeyError(e).commitTsExpired?.minCommitTs).toBe(ts(8));
      await s.batchRollback(ctx, { keys: [k('a')], startVersion: ts(5) });
      const e2 = await s.commit(ctx, { keys: [k('a')], startVersion: ts(5), commitVersion: ts(9) }).catch((x: unknown) => x);
      expect(e2).toBeInstanceOf(TxnLockNotFoundError);
      expect(extractKeyError(e2).retryable).toContain('TxnLockNotFound');
    });

    it('a rollback record protects against a late prewrite; rolling back a committed key fails', async () => {
      const { s, kv } = await setup();
      await s.batchRollback(ctx, { keys: [k('a')], startVersion: ts(5) });
      expect((await writesOf(kv, 'a'))[0]?.write.writeType).toBe('rollback');
      const e = await mustPrewrite(s, [put('a', '1')], 'a', ts(5)).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(WriteConflictError);
      expect((e as WriteConflictError).reason).toBe(kvrpcpb.WriteConflict_Reason.SelfRolledBack);
      await mustPut(s, 'b', '1', ts(6), ts(7));
      await expect(s.batchRollback(ctx, { keys: [k('b')], startVersion: ts(6) })).rejects.toBeInstanceOf(CommittedError);
      expect(extractKeyError(new CommittedError(1n, 2n, k('b'))).abort).toContain('committed');
    });

    it('a rollback at the commit ts of a running async-commit transaction survives its commit', async () => {
      const { s, kv } = await setup();
      const asyncPrewrite = (t: bigint) =>
        s.prewrite(ctx, { mutations: [put('k', 'v')], primaryLock: k('k'), startVersion: t, lockTtl: 3000n, useAsyncCommit: true, secondaries: [] });
      await asyncPrewrite(ts(10));
      // Transaction ts(15) is rolled back on k while ts(10) holds it...
      await s.cleanup(ctx, { key: k('k'), startVersion: ts(15), currentTs: 0n });
      expect((await rawLock(kv, 'k'))?.rollbackTs).toEqual([ts(15)]);
      // ...and ts(10) then commits exactly at ts(15): the rollback stays as the overlapped flag.
      await s.commit(ctx, { keys: [k('k')], startVersion: ts(10), commitVersion: ts(15) });
      const w = (await writesOf(kv, 'k')).find((x) => x.commitTs === ts(15));
      expect([w?.write.writeType, w?.write.startTs, w?.write.hasOverlappedRollback]).toEqual(['put', ts(10), true]);
      await expect(mustPrewrite(s, [put('k', 'late')], 'k', ts(15))).rejects.toBeInstanceOf(WriteConflictError);
      // Same through check txn status and check secondary locks.
      await asyncPrewrite(ts(20));
      await s.checkTxnStatus(ctx, { primaryKey: k('k'), lockTs: ts(25), callerStartTs: 0n, currentTs: 0n, rollbackIfNotExist: true });
      await asyncPrewrite(ts(20));
      await s.checkSecondaryLocks(ctx, { keys: [k('k')], startVersion: ts(26) });
      expect((await rawLock(kv, 'k'))?.rollbackTs).toEqual([ts(25), ts(26)]);
      // A lock that started after the rollback ts is not marked.
      await s.commit(ctx, { keys: [k('k')], startVersion: ts(20), commitVersion: ts(30) });
      await asyncPrewrite(ts(40));
      await s.cleanup(ctx, { key: k('k'), startVersion: ts(35), currentTs: 0n });
      expect((await rawLock(kv, 'k'))?.rollbackTs).toEqual([]);
    });

    it('rollback over another transaction committed at the same ts marks it overlapped', async () => {
      const { s, kv } = await setup();
      // t1 commits at ts(10); then the pessimistic primary of a txn that started at ts(10) is rolled back.
      await mustPut(s, 'a', 'v', ts(5), ts(10));
      await s.checkTxnStatus(ctx, { primaryKey: k('a'), lockTs: ts(10), callerStartTs: 0n, currentTs: ts(20), rollbackIfNotExist: true });
      const w = await writesOf(kv, 'a');
      expect(w).toHaveLength(1);
      expect(w[0]?.write.hasOverlappedRollback).toBe(true);
      expect(await mustGet(s, 'a', ts(11))).toBe('v');
      await expect(mustPrewrite(s, [put('a', 'late')], 'a', ts(10))).rejects.toBeInstanceOf(WriteConflictError);
    });
  });

  describe('cleanup, check txn status, heartbeat', () => {
    it('cleanup respects the TTL against current ts and reports a commit', async () => {
      const { s } = await setup();
      await mustPrewrite(s, [put('a', '1')], 'a', ts(100), { lockTtl: 50n });
      await expect(s.cleanup(ctx, { key: k('a'), startVersion: ts(100), currentTs: ts(120) })).rejects.toBeInstanceOf(KeyIsLockedError);
      expect((await s.cleanup(ctx, { key: k('a'), startVersion: ts(100), currentTs: ts(200) })).commitVersion).toBe(0n);
      expect(await mustGet(s, 'a', ts(300))).toBeUndefined();
      await mustPut(s, 'b', '1', ts(5), ts(6));
      expect((await s.cleanup(ctx, { key: k('b'), startVersion: ts(5), currentTs: 0n })).commitVersion).toBe(ts(6));
    });

    it('check txn status: alive, min commit ts pushed, expired, committed, rolled back, not found', async () => {
      const { s } = await setup();
      await mustPrewrite(s, [put('p', '1')], 'p', ts(100), { lockTtl: 100n, minCommitTs: ts(101) });
      let r = await s.checkTxnStatus(ctx, { primaryKey: k('p'), lockTs: ts(100), callerStartTs: 0n, currentTs: ts(150) });
      expect([r.lockTtl, r.action]).toEqual([100n, kvrpcpb.Action.NoAction]);
      expect(r.lockInfo?.lockVersion).toBe(ts(100));
      // A reader at ts(120) pushes min_commit_ts past its start ts.
      r = await s.checkTxnStatus(ctx, { primaryKey: k('p'), lockTs: ts(100), callerStartTs: ts(120), currentTs: ts(110) });
      expect(r.action).toBe(kvrpcpb.Action.MinCommitTSPushed);
      expect(r.lockInfo?.minCommitTs).toBe(ts(120) + 1n);
      await expect(s.commit(ctx, { keys: [k('p')], startVersion: ts(100), commitVersion: ts(120) })).rejects.toBeInstanceOf(CommitTsExpiredError);
      // The reader can now read below the pushed min commit ts.
      expect(await mustGet(s, 'p', ts(120))).toBeUndefined();
      // Expired: rolled back.
      r = await s.checkTxnStatus(ctx, { primaryKey: k('p'), lockTs: ts(100), callerStartTs: 0n, currentTs: ts(300) });
      expect(r.action).toBe(kvrpcpb.Action.TTLExpireRollback);
      r = await s.checkTxnStatus(ctx, { primaryKey: k('p'), lockTs: ts(100), callerStartTs: 0n, currentTs: ts(300) });
      expect([r.action, r.commitVersion, r.lockTtl]).toEqual([kvrpcpb.Action.NoAction, 0n, 0n]);
      // Committed.
      await mustPut(s, 'c', '1', ts(10), ts(11));
      r = await s.checkTxnStatus(ctx, { primaryKey: k('c'), lockTs: ts(10), callerStartTs: 0n, currentTs: ts(300) });
      expect(r.commitVersion).toBe(ts(11));
      // Not found, then rollback-if-not-exist.
      const e = await s.checkTxnStatus(ctx, { primaryKey: k('n'), lockTs: ts(50), callerStartTs: 0n, currentTs: ts(300) }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(TxnNotFoundError);
      expect(extractKeyError(e).txnNotFound?.startTs).toBe(ts(50));
      r = await s.checkTxnStatus(ctx, { primaryKey: k('n'), lockTs: ts(50), callerStartTs: 0n, currentTs: ts(300), rollbackIfNotExist: true });
      expect(r.action).toBe(kvrpcpb.Action.LockNotExistRollback);
      await expect(mustPrewrite(s, [put('n', 'late')], 'n', ts(50))).rejects.toBeInstanceOf(WriteConflictError);
    });

    it('check txn status: async commit locks are left alone unless force_sync_commit', async () => {
      const { s } = await setup();
      const p = await s.prewrite(ctx, {
        mutations: [put('p', '1')],
        primaryLock: k('p'),
        startVersion: ts(100),
        lockTtl: 10n,
        useAsyncCommit: true,
        secondaries: [k('s')],
      });
      expect(p.minCommitTs).toBeGreaterThan(ts(100));
      let r = await s.checkTxnStatus(ctx, { primaryKey: k('p'), lockTs: ts(100), callerStartTs: ts(200), currentTs: ts(500) });
      expect(r.action).toBe(kvrpcpb.Action.NoAction);
      expect(r.lockInfo?.useAsyncCommit).toBe(true);
      expect(r.lockInfo?.secondaries.map(str)).toEqual(['s']);
      r = await s.checkTxnStatus(ctx, { primaryKey: k('p'), lockTs: ts(100), callerStartTs: 0n, currentTs: ts(500), forceSyncCommit: true });
      expect(r.action).toBe(kvrpcpb.Action.TTLExpireRollback);
    });

    it('check txn status: resolving pessimistic locks and verify-is-primary', async () => {
      const { s } = await setup();
      const { kv } = { kv: (s.engine as LocalEngine).kvEngine };
      await s.pessimisticLock(ctx, { keys: [{ key: k('p') }, { key: k('s') }, { key: k('t') }], primaryLock: k('p'), startVersion: ts(100), forUpdateTs: ts(100), lockTtl: 10n });
      // Resolving a pessimistic lock: a key that is not the primary is a mismatch.
      const e = await s
        .checkTxnStatus(ctx, { primaryKey: k('s'), lockTs: ts(100), callerStartTs: 0n, currentTs: ts(500), verifyIsPrimary: true, resolvingPessimisticLock: true })
        .catch((x: unknown) => x);
      expect(e).toBeInstanceOf(PrimaryMismatchError);
      expect(str(extractKeyError(e).primaryMismatch?.lockInfo?.primaryLock)).toBe('p');
      // Resolving a prewrite lock whose "primary" holds a pessimistic lock of another primary:
      // that lock is invalid, dropped, and the status decided as if it were missing.
      const r0 = await s.checkTxnStatus(ctx, { primaryKey: k('t'), lockTs: ts(100), callerStartTs: 0n, currentTs: ts(500), verifyIsPrimary: true, rollbackIfNotExist: true });
      expect(r0.action).toBe(kvrpcpb.Action.LockNotExistRollback);
      expect(await rawLock(kv, 't')).toBeUndefined();
      let r = await s.checkTxnStatus(ctx, { primaryKey: k('p'), lockTs: ts(100), callerStartTs: 0n, currentTs: ts(500), resolvingPessimisticLock: true });
      expect(r.action).toBe(kvrpcpb.Action.TTLExpirePessimisticRollback);
      expect(await rawLock(kv, 'p')).toBeUndefined();
      // Nothing left: an error without rollback-if-not-exist, else "do nothing" for pessimistic resolving.
      await expect(
        s.checkTxnStatus(ctx, { primaryKey: k('p'), lockTs: ts(100), callerStartTs: 0n, currentTs: ts(500), resolvingPessimisticLock: true }),
      ).rejects.toBeInstanceOf(TxnNotFoundError);
      r = await s.checkTxnStatus(ctx, { primaryKey: k('p'), lockTs: ts(100), callerStartTs: 0n, currentTs: ts(500), resolvingPessimisticLock: true, rollbackIfNotExist: true });
      expect(r.action).toBe(kvrpcpb.Action.LockNotExistDoNothing);
    });

    it('txn heartbeat extends the TTL and fails without a lock', async () => {
      const { s } = await setup();
      await mustPrewrite(s, [put('p', '1')], 'p', ts(100), { lockTtl: 100n });
      expect((await s.txnHeartBeat(ctx, { primaryLock: k('p'), startVersion: ts(100), adviseLockTtl: 50n })).lockTtl).toBe(100n);
      expect((await s.txnHeartBeat(ctx, { primaryLock: k('p'), startVersion: ts(100), adviseLockTtl: 500n })).lockTtl).toBe(500n);
      await expect(s.txnHeartBeat(ctx, { primaryLock: k('q'), startVersion: ts(100), adviseLockTtl: 500n })).rejects.toBeInstanceOf(TxnNotFoundError);
    });
  });

  describe('async commit, 1PC, secondaries, resolve lock, scan lock', () => {
    it('async commit computes min commit ts from max ts and fails back to 2PC over max commit ts', async () => {
      const { s } = await setup();
      await s.get(ctx, k('zz'), ts(500));
      const r = await s.prewrite(ctx, { mutations: [put('a', '1'), put('b', '2')], primaryLock: k('a'), startVersion: ts(100), lockTtl: 3000n, useAsyncCommit: true, secondaries: [k('b')] });
      expect(r.minCommitTs).toBe(ts(500) + 1n);
      const fb = await s.prewrite(ctx, { mutations: [put('c', '1')], primaryLock: k('c'), startVersion: ts(101), lockTtl: 3000n, useAsyncCommit: true, secondaries: [], maxCommitTs: ts(200) });
      expect(fb.minCommitTs).toBe(0n);
      expect((await s.mvccGetByKey(ctx, k('c'))).lock?.useAsyncCommit).toBe(false);
      await expect(s.commit(ctx, { keys: [k('a'), k('b')], startVersion: ts(100), commitVersion: ts(500) })).rejects.toBeInstanceOf(CommitTsExpiredError);
      await s.commit(ctx, { keys: [k('a'), k('b')], startVersion: ts(100), commitVersion: ts(501) });
      expect(await mustGet(s, 'b', ts(502))).toBe('2');
    });

    it('memory locks are seen by readers before the engine write', async () => {
      const { s } = await setup();
      const guard = s.concurrencyManager.lockKey(Key.fromRaw(k('m')).asEncoded());
      guard.setLock(new Lock({ lockType: 'put', primary: k('m'), ts: ts(10), minCommitTs: ts(11), useAsyncCommit: true }));
      await expect(s.get(ctx, k('m'), ts(20))).rejects.toBeInstanceOf(KeyIsLockedError);
      await expect(s.batchGet(ctx, [k('a'), k('m')], ts(20))).rejects.toBeInstanceOf(KeyIsLockedError);
      await expect(s.scan(ctx, { startKey: k(''), limit: 0, ts: ts(20) })).rejects.toBeInstanceOf(KeyIsLockedError);
      expect((await s.scanLock(ctx, { maxVersion: ts(20) })).map((l) => str(l.key))).toEqual(['m']);
      guard.release();
      expect(await mustGet(s, 'm', ts(20))).toBeUndefined();
    });

    it('an async-commit prewrite is visible to readers while its engine write is in flight', async () => {
      const { kv } = await setup();
      const inner = new LocalEngine(kv, { sync: false });
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let gated = false;
      const engine: Engine = {
        snapshot: (c) => inner.snapshot(c),
        write: async (c, m) => {
          if (gated) await gate;
          return inner.write(c, m);
        },
      };
      const s = new Storage({ engine, clock: new ManualClock() });
      await s.get(ctx, k('other'), ts(50));
      gated = true;
      const pending = s.prewrite(ctx, { mutations: [put('a', '1')], primaryLock: k('a'), startVersion: ts(40), lockTtl: 3000n, useAsyncCommit: true, secondaries: [] });
      await waitUntil(() => s.concurrencyManager.lockTable.size > 0);
      // Not in the engine yet, but readers above min_commit_ts see the lock...
      await expect(s.get(ctx, k('a'), ts(60))).rejects.toBeInstanceOf(KeyIsLockedError);
      // ...and readers below it (min_commit_ts = max_ts + 1 = ts(50) + 1) are not blocked.
      expect(await mustGet(s, 'a', ts(50))).toBeUndefined();
      release();
      const r = await pending;
      expect(r.minCommitTs).toBe(ts(50) + 1n);
      expect(s.concurrencyManager.lockTable.size).toBe(0);
      await expect(s.get(ctx, k('a'), ts(60))).rejects.toBeInstanceOf(KeyIsLockedError);
    });

    it('1PC commits in the prewrite and leaves no lock', async () => {
      const { s, kv } = await setup();
      await s.get(ctx, k('x'), ts(300));
      const r = await s.prewrite(ctx, { mutations: [put('a', '1'), del('b')], primaryLock: k('a'), startVersion: ts(100), lockTtl: 3000n, tryOnePc: true });
      expect(r.onePcCommitTs).toBe(ts(300) + 1n);
      expect(await rawLock(kv, 'a')).toBeUndefined();
      expect(await mustGet(s, 'a', ts(301))).toBe('1');
      expect(await mustGet(s, 'a', ts(300))).toBeUndefined();
      const fb = await s.prewrite(ctx, { mutations: [put('c', '1')], primaryLock: k('c'), startVersion: ts(101), lockTtl: 3000n, tryOnePc: true, maxCommitTs: ts(200) });
      expect(fb.onePcCommitTs).toBe(0n);
      expect(await rawLock(kv, 'c')).toBeDefined();
    });

    it('check secondary locks: locked, committed, and rolled back with protection', async () => {
      const { s } = await setup();
      await s.prewrite(ctx, { mutations: [put('p', '1'), put('s1', '1'), put('s2', '2')], primaryLock: k('p'), startVersion: ts(100), lockTtl: 3000n, useAsyncCommit: true, secondaries: [k('s1'), k('s2')] });
      let r = await s.checkSecondaryLocks(ctx, { keys: [k('s1'), k('s2')], startVersion: ts(100) });
      expect([r.locks.map((l) => str(l.key)), r.commitTs]).toEqual([['s1', 's2'], 0n]);
      await s.commit(ctx, { keys: [k('s1')], startVersion: ts(100), commitVersion: ts(200) });
      r = await s.checkSecondaryLocks(ctx, { keys: [k('s1'), k('s2')], startVersion: ts(100) });
      expect([r.locks.length, r.commitTs]).toEqual([0, ts(200)]);
      r = await s.checkSecondaryLocks(ctx, { keys: [k('s3')], startVersion: ts(150) });
      expect([r.locks.length, r.commitTs]).toEqual([0, 0n]);
      await expect(mustPrewrite(s, [put('s3', 'late')], 'p', ts(150))).rejects.toBeInstanceOf(WriteConflictError);
    });

    it('resolve lock: one transaction over its keys, or many by txn infos, and scan lock', async () => {
      const { s } = await setup();
      await mustPrewrite(s, [put('a', '1'), put('b', '1')], 'a', ts(10));
      await mustPrewrite(s, [put('c', '1')], 'c', ts(20));
      await mustPrewrite(s, [put('d', '1')], 'd', ts(30));
      expect((await s.scanLock(ctx, { maxVersion: ts(25) })).map((l) => str(l.key))).toEqual(['a', 'b', 'c']);
      expect((await s.scanLock(ctx, { maxVersion: ts(40), limit: 2, startKey: k('b') })).map((l) => str(l.key))).toEqual(['b', 'c']);
      await s.resolveLock(ctx, { startVersion: ts(10), commitVersion: ts(15) });
      expect(await mustGet(s, 'b', ts(16))).toBe('1');
      await s.resolveLock(ctx, { txnInfos: [{ txn: ts(20), status: 0n }, { txn: ts(30), status: ts(31) }] });
      expect(await mustGet(s, 'c', ts(40))).toBeUndefined();
      expect(await mustGet(s, 'd', ts(40))).toBe('1');
      expect(await s.scanLock(ctx, { maxVersion: ts(100) })).toEqual([]);
      await mustPrewrite(s, [put('e', '1'), put('f', '1')], 'e', ts(50));
      await s.resolveLock(ctx, { startVersion: ts(50), commitVersion: 0n, keys: [k('f')] });
      expect((await s.scanLock(ctx, { maxVersion: ts(100) })).map((l) => str(l.key))).toEqual(['e']);
    });
  });

  describe('pessimistic transactions', () => {
    it('locks, returns values and existence, then prewrites with the pessimistic check', async () => {
      const { s } = await setup();
      await mustPut(s, 'a', 'va', ts(1), ts(2));
      const r = await s.pessimisticLock(ctx, {
        keys: [{ key: k('a') }, { key: k('b') }],
        primaryLock: k('a'),
        startVersion: ts(10),
        forUpdateTs: ts(10),
        lockTtl: 3000n,
        returnValues: true,
      });
      expect(r.values.map(str)).toEqual(['va', '']);
      expect(r.notFounds).toEqual([false, true]);
      const e = await s.pessimisticLock(ctx, { keys: [{ key: k('c') }], primaryLock: k('a'), startVersion: ts(10), forUpdateTs: ts(10), lockTtl: 3000n, returnValues: true, lockOnlyIfExists: true });
      expect(e.locked).toEqual([false]);
      expect(e.notFounds).toEqual([true]);
      const ex = await s.pessimisticLock(ctx, { keys: [{ key: k('a') }, { key: k('c') }], primaryLock: k('a'), startVersion: ts(10), forUpdateTs: ts(10), lockTtl: 3000n, checkExistence: true });
      expect(ex.notFounds).toEqual([false, true]);
      expect(ex.values).toEqual([]);
      await mustPrewrite(s, [put('a', 'na'), put('b', 'nb')], 'a', ts(10), { forUpdateTs: ts(10), check: true });
      // A missing pessimistic lock is amended when nothing was committed since start ts...
      await mustPrewrite(s, [put('y', 'amended')], 'a', ts(10), { forUpdateTs: ts(10), check: true });
      // ...and refused when something was.
      await mustPut(s, 'z', 'other', ts(3), ts(12));
      await expect(mustPrewrite(s, [put('z', 'x')], 'a', ts(10), { forUpdateTs: ts(10), check: true })).rejects.toBeInstanceOf(PessimisticLockNotFoundError);
      // An optimistic prewrite over a pessimistic lock of the same transaction is a type mismatch.
      await s.pessimisticLock(ctx, { keys: [{ key: k('m') }], primaryLock: k('m'), startVersion: ts(13), forUpdateTs: ts(13), lockTtl: 3000n });
      await expect(mustPrewrite(s, [put('m', 'x')], 'm', ts(13))).rejects.toBeInstanceOf(LockTypeNotMatchError);
      await s.commit(ctx, { keys: [k('a'), k('b'), k('y')], startVersion: ts(10), commitVersion: ts(11) });
      expect(await mustGet(s, 'b', ts(12))).toBe('nb');
      expect(await mustGet(s, 'y', ts(12))).toBe('amended');
    });

    it('reports PessimisticRetry conflicts, AlreadyExist, rolled back locks, and rolls back', async () => {
      const { s, kv } = await setup();
      await mustPut(s, 'a', 'v', ts(10), ts(20));
      const e = await s.pessimisticLock(ctx, { keys: [{ key: k('a') }], primaryLock: k('a'), startVersion: ts(5), forUpdateTs: ts(15), lockTtl: 3000n }).catch((x: unknown) => x);
      expect((e as WriteConflictError).reason).toBe(kvrpcpb.WriteConflict_Reason.PessimisticRetry);
      await expect(
        s.pessimisticLock(ctx, { keys: [{ key: k('a'), shouldNotExist: true }], primaryLock: k('a'), startVersion: ts(25), forUpdateTs: ts(25), lockTtl: 3000n }),
      ).rejects.toBeInstanceOf(AlreadyExistError);
      await s.batchRollback(ctx, { keys: [k('b')], startVersion: ts(30) });
      await expect(
        s.pessimisticLock(ctx, { keys: [{ key: k('b') }], primaryLock: k('b'), startVersion: ts(30), forUpdateTs: ts(30), lockTtl: 3000n }),
      ).rejects.toBeInstanceOf(PessimisticLockRolledBackError);
      // ForceLock wake-up mode locks despite the newer commit and reports it with the latest value.
      const forced = await s.pessimisticLock(ctx, {
        keys: [{ key: k('a') }],
        primaryLock: k('a'),
        startVersion: ts(5),
        forUpdateTs: ts(15),
        lockTtl: 3000n,
        returnValues: true,
        wakeUpMode: kvrpcpb.PessimisticLockWakeUpMode.WakeUpModeForceLock,
      });
      expect(forced.lockedWithConflictTs).toEqual([ts(20)]);
      expect(forced.values.map(str)).toEqual(['v']);
      expect((await rawLock(kv, 'a'))?.forUpdateTs).toBe(ts(20));
      expect((await rawLock(kv, 'a'))?.isLockedWithConflict).toBe(true);
      await s.pessimisticLock(ctx, { keys: [{ key: k('c') }], primaryLock: k('c'), startVersion: ts(40), forUpdateTs: ts(40), lockTtl: 3000n });
      expect((await rawLock(kv, 'c'))?.lockType).toBe('pessimistic');
      await s.pessimisticRollback(ctx, { keys: [k('c')], startVersion: ts(40), forUpdateTs: ts(40) });
      expect(await rawLock(kv, 'c')).toBeUndefined();
    });

    it('a lock request waits for the lock to go away, then retries', async () => {
      const { s, clock } = await setup();
      await s.pessimisticLock(ctx, { keys: [{ key: k('a') }], primaryLock: k('a'), startVersion: ts(10), forUpdateTs: ts(10), lockTtl: 3000n });
      const waiting = s.pessimisticLock(ctx, { keys: [{ key: k('a') }], primaryLock: k('a'), startVersion: ts(20), forUpdateTs: ts(20), lockTtl: 3000n });
      await waitUntil(() => s.lockManager.waiterCount === 1);
      await s.pessimisticRollback(ctx, { keys: [k('a')], startVersion: ts(10), forUpdateTs: ts(10) });
      await waiting;
      expect(s.lockManager.waiterCount).toBe(0);
      // With a committed holder, the retry reports the newer commit.
      const w2 = s.pessimisticLock(ctx, { keys: [{ key: k('a') }], primaryLock: k('a'), startVersion: ts(21), forUpdateTs: ts(21), lockTtl: 3000n });
      const settled = w2.catch((x: unknown) => x);
      await waitUntil(() => s.lockManager.waiterCount === 1);
      await mustPrewrite(s, [put('a', 'x')], 'a', ts(20), { forUpdateTs: ts(20), check: true });
      await s.commit(ctx, { keys: [k('a')], startVersion: ts(20), commitVersion: ts(30) });
      expect(await settled).toBeInstanceOf(WriteConflictError);
      void clock;
    });

    it('a lock wait times out with the lock, and a negative timeout does not wait', async () => {
      const { s, clock } = await setup({ waitForLockTimeoutMs: 500 });
      await s.pessimisticLock(ctx, { keys: [{ key: k('a') }], primaryLock: k('a'), startVersion: ts(10), forUpdateTs: ts(10), lockTtl: 3000n });
      await expect(
        s.pessimisticLock(ctx, { keys: [{ key: k('a') }], primaryLock: k('a'), startVersion: ts(20), forUpdateTs: ts(20), lockTtl: 3000n, waitTimeout: -1n }),
      ).rejects.toBeInstanceOf(KeyIsLockedError);
      const waiting = s.pessimisticLock(ctx, { keys: [{ key: k('a') }], primaryLock: k('a'), startVersion: ts(20), forUpdateTs: ts(20), lockTtl: 3000n }).catch((x: unknown) => x);
      await waitUntil(() => s.lockManager.waiterCount === 1);
      await clock.advanceAsync(499);
      expect(s.lockManager.waiterCount).toBe(1);
      await clock.advanceAsync(1);
      expect(await waiting).toBeInstanceOf(KeyIsLockedError);
    });

    it('detects a deadlock between two waiters', async () => {
      const { s } = await setup();
      const lock = (key: string, t: number) =>
        s.pessimisticLock(ctx, { keys: [{ key: k(key) }], primaryLock: k(key), startVersion: ts(t), forUpdateTs: ts(t), lockTtl: 3000n });
      await lock('a', 10);
      await lock('b', 20);
      const t10waits = lock('b', 10).catch((x: unknown) => x);
      await waitUntil(() => s.lockManager.waiterCount === 1);
      const e = await lock('a', 20).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(DeadlockError);
      expect(extractKeyError(e).deadlock?.lockTs).toBe(ts(10));
      await s.pessimisticRollback(ctx, { keys: [k('b')], startVersion: ts(20), forUpdateTs: ts(20) });
      expect(await t10waits).toEqual({ values: [], notFounds: [], locked: [true], lockedWithConflictTs: [0n] });
    });
  });

  describe('delete range, GC, MVCC by start ts', () => {
    it('delete range removes every CF of the range', async () => {
      const { s } = await setup();
      for (const key of ['a', 'b', 'c']) await mustPut(s, key, key, ts(1), ts(2));
      await mustPrewrite(s, [put('b', 'x')], 'b', ts(5));
      await s.deleteRange(ctx, { startKey: k('b'), endKey: k('c') });
      expect(await mustGet(s, 'b', ts(10))).toBeUndefined();
      expect(await mustGet(s, 'c', ts(10))).toBe('c');
      expect(await s.scanLock(ctx, { maxVersion: ts(10) })).toEqual([]);
      await s.unsafeDestroyRange(ctx, { startKey: k(''), endKey: k('') });
      expect(await mustGet(s, 'a', ts(10))).toBeUndefined();
    });

    it('mvcc get by start ts finds the key of a transaction', async () => {
      const { s } = await setup();
      await mustPut(s, 'q', 'v', ts(7), ts(8));
      const r = await s.mvccGetByStartTs(ctx, ts(7));
      expect(str(r?.key)).toBe('q');
      expect(r?.info.writes[0]?.commitTs).toBe(ts(8));
      expect(await s.mvccGetByStartTs(ctx, ts(99))).toBeUndefined();
    });

    it('GC keeps exactly the newest version at or below the safe point and drops delete markers', async () => {
      const { s, kv } = await setup();
      const long = (c: string) => c.repeat(300);
      await mustPut(s, 'a', long('1'), ts(10), ts(11));
      await mustPut(s, 'a', long('2'), ts(20), ts(21));
      await mustPrewrite(s, [{ type: 'lock', key: k('a') }], 'a', ts(25));
      await s.commit(ctx, { keys: [k('a')], startVersion: ts(25), commitVersion: ts(26) });
      await s.batchRollback(ctx, { keys: [k('a')], startVersion: ts(27) });
      await mustPut(s, 'a', long('3'), ts(40), ts(41));
      await mustPut(s, 'b', 'x', ts(10), ts(11));
      await mustPrewrite(s, [del('b')], 'b', ts(20));
      await s.commit(ctx, { keys: [k('b')], startVersion: ts(20), commitVersion: ts(21) });
      await mustPut(s, 'c', 'keep', ts(50), ts(51));
      const { removed } = await s.gc(ctx, { safePoint: ts(30) });
      expect((await writesOf(kv, 'a')).map((w) => [w.commitTs, w.write.writeType])).toEqual([
        [ts(41), 'put'],
        [ts(21), 'put'],
      ]);
      expect((await writesOf(kv, 'b')).length).toBe(0);
      expect((await writesOf(kv, 'c')).length).toBe(1);
      expect(removed).toBe(5);
      const values = await s.mvccGetByKey(ctx, k('a'));
      expect(values.values.map((v) => v.startTs)).toEqual([ts(40), ts(20)]);
      expect(await mustGet(s, 'a', ts(30))).toBe(long('2'));
      expect(await mustGet(s, 'a', ts(50))).toBe(long('3'));
    });
  });
});

async function waitUntil(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 100_000; i++) {
    if (cond()) return;
    await new Promise<void>((r) => setImmediate(r));
  }
  throw new Error('condition not reached');
}
