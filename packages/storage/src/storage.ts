import { Key } from '@tikv-ts/codec';
import { ConcurrencyManager } from '@tikv-ts/concurrency-manager';
import { kvrpcpb } from '@tikv-ts/proto';
import type { Clock } from '@tikv-ts/util';
import type { Engine, EngineContext, EngineSnapshot, Modify } from './engine';
import {
  CommitTsTooLargeError,
  InvalidRequestError,
  InvalidTxnTsoError,
  KeyIsLockedError,
  PrimaryMismatchError,
  TxnNotFoundError,
} from './errors';
import { keyHash } from './txn/latches';
import { LockManager } from './lock-manager/lock-manager';
import { MvccReader } from './mvcc/reader';
import {
  type ReadOptions,
  type ScanEntry,
  checkLockConflict,
  checksLocks,
  pointGet,
  scanKeys,
} from './mvcc/point-getter';
import { MvccTxn, type ReleasedLock } from './mvcc/txn';
import {
  CommittedError,
  type CommitKind,
  type PessimisticAction,
  type TxnProps,
  type TxnStatus,
  acquirePessimisticLock,
  checkSecondaryLock,
  checkTxnStatusLockExists,
  checkTxnStatusMissingLock,
  cleanupKey,
  commitKey,
  commitOnePcLocks,
  gcKey,
  pessimisticRollbackKey,
  prewriteKey,
} from './txn/actions';
import { type CommandPriority, type ProcessResult, Scheduler } from './txn/scheduler';
import type { Lock, Mutation } from './txn-types';

/**
 * The request context storage needs: the engine's region context plus the read options of
 * `kvrpcpb.Context` (a `kvrpcpb.Context` can be passed as is).
 */
export interface TxnContext extends EngineContext {
  /** `kvrpcpb.CommandPri` (Normal 0, Low 1, High 2). */
  readonly priority?: kvrpcpb.CommandPri;
  /** `kvrpcpb.IsolationLevel` (SI 0, RC 1, RCCheckTS 2). Default SI. */
  readonly isolationLevel?: kvrpcpb.IsolationLevel;
  /** Transactions whose locks reads may ignore. */
  readonly resolvedLocks?: readonly bigint[];
  /** Transactions known committed: reads take the value from their locks. */
  readonly committedLocks?: readonly bigint[];
  /** The client resent this request (prewrite of pessimistic transactions then re-checks conflicts). */
  readonly isRetryRequest?: boolean;
}

/** Options of {@link Storage}. */
export interface StorageOptions {
  readonly engine: Engine;
  /** Time for lock-wait timeouts. */
  readonly clock: Clock;
  /** Shared with other components (resolved ts); a new one when absent. */
  readonly concurrencyManager?: ConcurrencyManager<Lock>;
  readonly latchSlots?: number;
  readonly schedulerConcurrency?: number;
  /** ServerIsBusy above this many pending write bytes (TiKV `scheduler-pending-write-threshold`, 100 MiB). */
  readonly pendingWriteThresholdBytes?: number;
  /** TiKV `pessimistic-txn.wait-for-lock-timeout` (default 1000 ms). */
  readonly waitForLockTimeoutMs?: number;
  /** TiKV `pessimistic-txn.wake-up-delay-duration` (default 20 ms). */
  readonly wakeUpDelayMs?: number;
}

/** A pair of a batch get or scan, or the error of one key (`kvrpcpb.KvPair`). */
export type KvPairResult = ScanEntry;

/** Parameters of {@link Storage.prewrite} (fields of `kvrpcpb.PrewriteRequest`). */
export interface PrewriteParams {
  readonly mutations: readonly Mutation[];
  readonly primaryLock: Uint8Array;
  readonly startVersion: bigint;
  readonly lockTtl: bigint;
  readonly skipConstraintCheck?: boolean;
  /** Per mutation (pessimistic transactions): DO_PESSIMISTIC_CHECK expects a pessimistic lock. */
  readonly pessimisticActions?: readonly kvrpcpb.PrewriteRequest_PessimisticAction[];
  readonly txnSize?: bigint;
  /** Non-zero for pessimistic transactions. */
  readonly forUpdateTs?: bigint;
  readonly minCommitTs?: bigint;
  readonly useAsyncCommit?: boolean;
  readonly secondaries?: readonly Uint8Array[];
  readonly tryOnePc?: boolean;
  readonly maxCommitTs?: bigint;
  readonly assertionLevel?: kvrpcpb.AssertionLevel;
}

/** Result of a prewrite (`kvrpcpb.PrewriteResponse` without region error). */
export interface PrewriteResult {
  /** Per-key lock errors (`KeyIsLockedError`); when not empty nothing was written. */
  readonly errors: readonly KeyIsLockedError[];
  /** Async commit: the smallest allowed commit ts (0: not async commit, or fell back to 2PC). */
  readonly minCommitTs: bigint;
  /** 1PC: the commit ts (0: not 1PC, or fell back to 2PC). */
  readonly onePcCommitTs: bigint;
}

/** Parameters of {@link Storage.checkTxnStatus} (`kvrpcpb.CheckTxnStatusRequest`). */
export interface CheckTxnStatusParams {
  readonly primaryKey: Uint8Array;
  readonly lockTs: bigint;
  readonly callerStartTs: bigint;
  readonly currentTs: bigint;
  readonly rollbackIfNotExist?: boolean;
  readonly forceSyncCommit?: boolean;
  readonly resolvingPessimisticLock?: boolean;
  readonly verifyIsPrimary?: boolean;
}

/** Result of check txn status (`kvrpcpb.CheckTxnStatusResponse` fields). */
export interface CheckTxnStatusResult {
  readonly lockTtl: bigint;
  readonly commitVersion: bigint;
  readonly action: kvrpcpb.Action;
  readonly lockInfo: kvrpcpb.LockInfo | undefined;
}

/** Parameters of {@link Storage.pessimisticLock} (`kvrpcpb.PessimisticLockRequest`). */
export interface PessimisticLockParams {
  /** Keys to lock; `shouldNotExist` marks Insert-like keys (Op::Insert in the request). */
  readonly keys: readonly { readonly key: Uint8Array; readonly shouldNotExist?: boolean }[];
  readonly primaryLock: Uint8Array;
  readonly startVersion: bigint;
  readonly lockTtl: bigint;
  readonly forUpdateTs: bigint;
  /** 0 = the server default, negative = fail at once, else milliseconds. */
  readonly waitTimeout?: bigint;
  readonly returnValues?: boolean;
  readonly checkExistence?: boolean;
  readonly lockOnlyIfExists?: boolean;
  readonly minCommitTs?: bigint;
  /** `kvrpcpb.PessimisticLockWakeUpMode`: ForceLock locks despite a newer commit and reports it. */
  readonly wakeUpMode?: kvrpcpb.PessimisticLockWakeUpMode;
}

/** Result of {@link Storage.pessimisticLock}. */
export interface PessimisticLockResult {
  /** With `returnValues`: each key's value (empty when not found). */
  readonly values: Uint8Array[];
  /** With `returnValues` or `checkExistence`: whether each key is missing. */
  readonly notFounds: boolean[];
  /** Per key: locked (false when `lockOnlyIfExists` skipped a missing key). */
  readonly locked: boolean[];
  /** Per key: with ForceLock wake-up mode, the newer commit ts it was locked at despite a conflict (0: none). */
  readonly lockedWithConflictTs: bigint[];
}

/** One transaction of a batch resolve (`kvrpcpb.TxnInfo`): commit ts 0 = roll back. */
export interface TxnInfo {
  readonly txn: bigint;
  readonly status: bigint;
}

const RESOLVE_LOCK_BATCH = 256;
const GC_BATCH = 256;

function priorityOf(ctx: TxnContext): CommandPriority {
  switch (ctx.priority) {
    case kvrpcpb.CommandPri.High:
      return 'high';
    case kvrpcpb.CommandPri.Low:
      return 'low';
    case kvrpcpb.CommandPri.Normal:
    case undefined:
      return 'normal';
    default: {
      const never: never = ctx.priority;
      throw new TypeError(`Unknown priority ${String(never)}`);
    }
  }
}

function encoded(raw: Uint8Array): Uint8Array {
  return Key.fromRaw(raw).asEncoded();
}

function releasedHashes(released: readonly ReleasedLock[]): { startTs: bigint; keyHash: bigint }[] {
  return released.map((r) => ({ startTs: r.startTs, keyHash: keyHash(r.key) }));
}

/**
 * The transactional storage of a TiKV node (TiKV `Storage`): MVCC reads straight from
 * snapshots, and Percolator write commands through the latch scheduler. Every method takes the
 * request's context and the request's fields, and throws the typed errors of `errors.ts` (map
 * them with `extractKeyError`; `SchedTooBusyError` is a region error, ServerIsBusy). Keys are user
 * (raw) keys; timestamps are TSO bigints.
 */
export class Storage {
  readonly #engine: Engine;
  readonly #clock: Clock;
  readonly #cm: ConcurrencyManager<Lock>;
  readonly #sched: Scheduler;
  readonly #lockMgr: LockManager;

  constructor(options: StorageOptions) {
    this.#engine = options.engine;
    this.#clock = options.clock;
    this.#cm = options.concurrencyManager ?? new ConcurrencyManager<Lock>();
    this.#lockMgr = new LockManager({
      clock: options.clock,
      ...(options.waitForLockTimeoutMs === undefined
        ? {}
        : { defaultWaitTimeoutMs: options.waitForLockTimeoutMs }),
      ...(options.wakeUpDelayMs === undefined ? {} : { wakeUpDelayMs: options.wakeUpDelayMs }),
    });
    this.#sched = new Scheduler({
      engine: options.engine,
      ...(options.latchSlots === undefined ? {} : { latchSlots: options.latchSlots }),
      ...(options.schedulerConcurrency === undefined
        ? {}
        : { concurrency: options.schedulerConcurrency }),
      ...(options.pendingWriteThresholdBytes === undefined
        ? {}
        : { pendingWriteThresholdBytes: options.pendingWriteThresholdBytes }),
      onLocksReleased: (released) => this.#lockMgr.wakeUp(releasedHashes(released)),
    });
  }

  /** The engine storage reads and writes through. */
  get engine(): Engine {
    return this.#engine;
  }

  /** The concurrency manager (max ts and memory locks). */
  get concurrencyManager(): ConcurrencyManager<Lock> {
    return this.#cm;
  }

  /** The lock manager (pessimistic lock waits). */
  get lockManager(): LockManager {
    return this.#lockMgr;
  }

  /** The scheduler (for diagnostics: pending write bytes). */
  get scheduler(): Scheduler {
    return this.#sched;
  }

  #readOptions(ctx: TxnContext, ts: bigint): ReadOptions {
    return {
      ts,
      ...(ctx.isolationLevel === undefined ? {} : { isolationLevel: ctx.isolationLevel }),
      ...(ctx.resolvedLocks === undefined ? {} : { bypassLocks: ctx.resolvedLocks }),
      ...(ctx.committedLocks === undefined ? {} : { accessLocks: ctx.committedLocks }),
    };
  }

  #checkMemoryLock(ctx: TxnContext, rawKey: Uint8Array, ts: bigint): void {
    this.#cm.readKeyCheck(encoded(rawKey), (lock) => {
      const err = checkLockConflict(lock, rawKey, ts, ctx.resolvedLocks, ctx.isolationLevel);
      if (err !== undefined && ctx.committedLocks?.includes(lock.ts) !== true) throw err;
    });
  }

  async #withReader<T>(
    ctx: TxnContext,
    fn: (reader: MvccReader, snap: EngineSnapshot) => Promise<T>,
  ): Promise<T> {
    const snap = await this.#engine.snapshot(ctx);
    const reader = new MvccReader(snap);
    try {
      return await fn(reader, snap);
    } finally {
      reader.close();
      snap.close();
    }
  }

  // ---- reads (KvGet, KvBatchGet, KvScan, KvScanLock, MvccGetByKey, MvccGetByStartTs) ----

  /**
   * The value of `key` at `ts` (KvGet). Raises max ts to `ts`.
   * @throws KeyIsLockedError when a lock (in the engine or in memory) blocks the read
   */
  async get(
    ctx: TxnContext,
    key: Uint8Array,
    ts: bigint,
  ): Promise<{ value: Uint8Array | undefined }> {
    this.#cm.updateMaxTs(ts);
    if (checksLocks(ctx.isolationLevel)) this.#checkMemoryLock(ctx, key, ts);
    return this.#withReader(ctx, async (reader) => {
      const found = await pointGet(reader, key, this.#readOptions(ctx, ts));
      return { value: found?.value };
    });
  }

  /** Values of `keys` at `ts` (KvBatchGet): found pairs and per-key lock errors, in key order given. */
  async batchGet(
    ctx: TxnContext,
    keys: readonly Uint8Array[],
    ts: bigint,
  ): Promise<KvPairResult[]> {
    this.#cm.updateMaxTs(ts);
    // As TiKV: a lock still in memory fails the whole request; engine locks are per-key errors.
    if (checksLocks(ctx.isolationLevel))
      for (const key of keys) this.#checkMemoryLock(ctx, key, ts);
    return this.#withReader(ctx, async (reader) => {
      const out: KvPairResult[] = [];
      for (const key of keys) {
        try {
          const found = await pointGet(reader, key, this.#readOptions(ctx, ts));
          if (found !== undefined) out.push({ key, value: found.value });
        } catch (e: unknown) {
          if (e instanceof KeyIsLockedError) out.push({ key, error: e });
          else throw e;
        }
      }
      return out;
    });
  }

  /**
   * Pairs at `ts` (KvScan). Forward: keys in `[startKey, endKey)` ascending. Reverse, as TiKV's
   * request: `startKey` is the exclusive *upper* bound and `endKey` the inclusive lower bound,
   * keys descending. An empty bound is unbounded. Locked keys appear as per-key errors and count
   * towards `limit` (0 = no limit).
   */
  async scan(
    ctx: TxnContext,
    params: {
      startKey: Uint8Array;
      endKey?: Uint8Array;
      limit: number;
      ts: bigint;
      keyOnly?: boolean;
      reverse?: boolean;
    },
  ): Promise<KvPairResult[]> {
    this.#cm.updateMaxTs(params.ts);
    const iso = ctx.isolationLevel ?? kvrpcpb.IsolationLevel.SI;
    const reverse = params.reverse === true;
    const lower = reverse ? params.endKey : params.startKey;
    const upper = reverse ? params.startKey : params.endKey;
    const start = lower !== undefined && lower.length > 0 ? encoded(lower) : undefined;
    const end = upper !== undefined && upper.length > 0 ? encoded(upper) : undefined;
    if (checksLocks(iso)) {
      this.#cm.readRangeCheck(start, end, (lock, key) => {
        const raw = Key.fromEncoded(key).toRaw();
        const err = checkLockConflict(lock, raw, params.ts, ctx.resolvedLocks, iso);
        if (err !== undefined && ctx.committedLocks?.includes(lock.ts) !== true) throw err;
      });
    }
    return this.#withReader(ctx, (reader) =>
      scanKeys(reader, {
        ...this.#readOptions(ctx, params.ts),
        ...(lower === undefined ? {} : { lowerBound: lower }),
        ...(upper === undefined ? {} : { upperBound: upper }),
        reverse,
        keyOnly: params.keyOnly === true,
        limit: params.limit,
      }),
    );
  }

  /** Locks with `ts <= maxVersion` in `[startKey, endKey)`, at most `limit` (KvScanLock; 0 = no limit). */
  async scanLock(
    ctx: TxnContext,
    params: { maxVersion: bigint; startKey?: Uint8Array; endKey?: Uint8Array; limit?: number },
  ): Promise<kvrpcpb.LockInfo[]> {
    this.#cm.updateMaxTs(params.maxVersion);
    const start =
      params.startKey !== undefined && params.startKey.length > 0
        ? encoded(params.startKey)
        : undefined;
    const end =
      params.endKey !== undefined && params.endKey.length > 0 ? encoded(params.endKey) : undefined;
    const mem: kvrpcpb.LockInfo[] = [];
    this.#cm.readRangeCheck(start, end, (lock, key) => {
      if (lock.ts <= params.maxVersion) mem.push(lock.toLockInfo(Key.fromEncoded(key).toRaw()));
    });
    return this.#withReader(ctx, async (reader) => {
      const { locks } = await reader.scanLocks(
        start,
        end,
        (_k, l) => l.ts <= params.maxVersion,
        params.limit ?? 0,
      );
      const out = locks.map(({ key, lock }) => lock.toLockInfo(key.toRaw()));
      // Memory locks of async-commit/1PC prewrites not yet in the engine.
      for (const m of mem) {
        if (!out.some((o) => Buffer.compare(o.key, m.key) === 0)) out.push(m);
      }
      out.sort((a, b) => Buffer.compare(encoded(a.key), encoded(b.key)));
      return params.limit !== undefined && params.limit > 0 ? out.slice(0, params.limit) : out;
    });
  }

  /** Every MVCC record of `key` (MvccGetByKey): lock, writes (newest first) and values. */
  async mvccGetByKey(ctx: TxnContext, key: Uint8Array): Promise<kvrpcpb.MvccInfo> {
    return this.#withReader(ctx, (reader) => mvccInfo(reader, Key.fromRaw(key)));
  }

  /** The key and MVCC records of the transaction that started at `startTs` (MvccGetByStartTs). */
  async mvccGetByStartTs(
    ctx: TxnContext,
    startTs: bigint,
  ): Promise<{ key: Uint8Array; info: kvrpcpb.MvccInfo } | undefined> {
    return this.#withReader(ctx, async (reader) => {
      const key = await reader.seekTxnKeyByStartTs(startTs);
      if (key === undefined) return undefined;
      return { key: key.toRaw(), info: await mvccInfo(reader, key) };
    });
  }

  // ---- write commands ----

  #run<T>(
    ctx: TxnContext,
    tag: string,
    latchKeys: readonly Uint8Array[],
    writeBytes: number,
    process: (reader: MvccReader) => Promise<ProcessResult<T>>,
  ): Promise<T> {
    return this.#sched.run({
      tag,
      ctx,
      priority: priorityOf(ctx),
      latchKeys,
      writeBytes,
      process: async (snap) => {
        const reader = new MvccReader(snap);
        try {
          return await process(reader);
        } finally {
          reader.close();
        }
      },
    });
  }

  /**
   * Prewrites mutations (KvPrewrite): optimistic or pessimistic (`forUpdateTs` > 0 with
   * `pessimisticActions`), two-phase, async commit (`useAsyncCommit`: `minCommitTs` computed from
   * max ts) or 1PC (`tryOnePc`: committed at once at `onePcCommitTs`). When async commit or 1PC
   * would exceed `maxCommitTs`, falls back to 2PC (both result ts are then 0), as TiKV does.
   *
   * @throws WriteConflictError, AlreadyExistError, PessimisticLockNotFoundError,
   *   AssertionFailedError, SchedTooBusyError (locks of other transactions are in `errors`)
   */
  prewrite(ctx: TxnContext, p: PrewriteParams): Promise<PrewriteResult> {
    if (p.mutations.length === 0)
      return Promise.resolve({ errors: [], minCommitTs: 0n, onePcCommitTs: 0n });
    const keys = p.mutations.map((m) => encoded(m.key));
    let bytes = 0;
    for (const m of p.mutations) bytes += m.key.length + ('value' in m ? m.value.length : 0);
    const forUpdateTs = p.forUpdateTs ?? 0n;
    return this.#run(ctx, 'prewrite', keys, bytes, async (reader) => {
      const requested: CommitKind =
        p.tryOnePc === true
          ? { kind: 'onePc', maxCommitTs: p.maxCommitTs ?? 0n }
          : p.useAsyncCommit === true
            ? { kind: 'async', maxCommitTs: p.maxCommitTs ?? 0n }
            : { kind: 'twoPc' };
      const attempt = async (commitKind: CommitKind): Promise<ProcessResult<PrewriteResult>> => {
        const props: TxnProps = {
          startTs: p.startVersion,
          forUpdateTs,
          isPessimistic: forUpdateTs !== 0n,
          skipConstraintCheck: p.skipConstraintCheck === true,
          commitKind,
          primary: p.primaryLock,
          txnSize: p.txnSize ?? 0n,
          lockTtl: p.lockTtl,
          minCommitTs: p.minCommitTs ?? 0n,
          assertionLevel: p.assertionLevel ?? kvrpcpb.AssertionLevel.Off,
          isRetryRequest: ctx.isRetryRequest === true,
        };
        const txn = new MvccTxn(p.startVersion);
        const locks: KeyIsLockedError[] = [];
        let finalMin = 0n;
        try {
          for (let i = 0; i < p.mutations.length; i++) {
            const m = p.mutations[i] as Mutation;
            const action: PessimisticAction =
              p.pessimisticActions?.[i] ===
              kvrpcpb.PrewriteRequest_PessimisticAction.DO_PESSIMISTIC_CHECK
                ? 'check'
                : 'skip';
            try {
              const r = await prewriteKey(txn, reader, this.#cm, props, m, p.secondaries, action);
              if (r !== 'skip' && r > finalMin) finalMin = r;
            } catch (e: unknown) {
              if (e instanceof KeyIsLockedError) locks.push(e);
              else throw e;
            }
          }
        } catch (e: unknown) {
          txn.releaseGuards();
          throw e;
        }
        if (locks.length > 0) {
          txn.releaseGuards();
          return { result: { errors: locks, minCommitTs: 0n, onePcCommitTs: 0n }, modifies: [] };
        }
        let onePcCommitTs = 0n;
        if (commitKind.kind === 'onePc') {
          // Duplicate prewrites may leave no guard; the commit ts must still exceed start ts.
          if (finalMin === 0n) finalMin = p.startVersion + 1n;
          commitOnePcLocks(txn, finalMin);
          onePcCommitTs = finalMin;
        }
        return {
          result: {
            errors: [],
            minCommitTs: commitKind.kind === 'twoPc' ? 0n : finalMin,
            onePcCommitTs,
          },
          modifies: txn.modifies,
          released: txn.released,
          onFinish: () => txn.releaseGuards(),
        };
      };
      try {
        return await attempt(requested);
      } catch (e: unknown) {
        if (e instanceof CommitTsTooLargeError && requested.kind !== 'twoPc')
          return attempt({ kind: 'twoPc' });
        throw e;
      }
    });
  }

  /**
   * Commits keys of the transaction `startVersion` at `commitVersion` (KvCommit).
   * @throws InvalidTxnTsoError when commit ts <= start ts, CommitTsExpiredError, TxnLockNotFoundError
   */
  commit(
    ctx: TxnContext,
    p: { keys: readonly Uint8Array[]; startVersion: bigint; commitVersion: bigint },
  ): Promise<{ commitVersion: bigint }> {
    if (p.commitVersion <= p.startVersion)
      return Promise.reject(new InvalidTxnTsoError(p.startVersion, p.commitVersion));
    const keys = p.keys.map(encoded);
    return this.#run(ctx, 'commit', keys, keys.length * 32, async (reader) => {
      const txn = new MvccTxn(p.startVersion);
      for (const k of p.keys) await commitKey(txn, reader, Key.fromRaw(k), p.commitVersion);
      return {
        result: { commitVersion: p.commitVersion },
        modifies: txn.modifies,
        released: txn.released,
      };
    });
  }

  /**
   * Rolls back keys of a transaction (KvBatchRollback): removes its locks and leaves rollback
   * records, so a late prewrite of the same transaction fails.
   * @throws CommittedError (mapped to `abort`) when a key is already committed
   */
  batchRollback(
    ctx: TxnContext,
    p: { keys: readonly Uint8Array[]; startVersion: bigint },
  ): Promise<void> {
    const keys = p.keys.map(encoded);
    return this.#run(ctx, 'batch_rollback', keys, keys.length * 32, async (reader) => {
      const txn = new MvccTxn(p.startVersion);
      for (const k of p.keys) await cleanupKey(txn, reader, Key.fromRaw(k), 0n, false);
      return { result: undefined, modifies: txn.modifies, released: txn.released };
    });
  }

  /**
   * Rolls back the lock on `key` if it expired at `currentTs` (KvCleanup; 0 = unconditionally).
   * Returns the commit ts when the transaction is already committed (the response's
   * `commit_version`), else 0.
   * @throws KeyIsLockedError when the lock has not expired
   */
  cleanup(
    ctx: TxnContext,
    p: { key: Uint8Array; startVersion: bigint; currentTs: bigint },
  ): Promise<{ commitVersion: bigint }> {
    this.#cm.updateMaxTs(p.currentTs);
    return this.#run(ctx, 'cleanup', [encoded(p.key)], 32, async (reader) => {
      const txn = new MvccTxn(p.startVersion);
      try {
        await cleanupKey(txn, reader, Key.fromRaw(p.key), p.currentTs, true);
      } catch (e: unknown) {
        if (e instanceof CommittedError)
          return { result: { commitVersion: e.commitTs }, modifies: [] };
        throw e;
      }
      return { result: { commitVersion: 0n }, modifies: txn.modifies, released: txn.released };
    });
  }

  /**
   * The status of the transaction whose primary is `primaryKey` (KvCheckTxnStatus), rolling it
   * back when its lock expired at `currentTs`, pushing its min commit ts past `callerStartTs`, or
   * (with `rollbackIfNotExist`) leaving a protected rollback when nothing is found.
   * @throws TxnNotFoundError, PrimaryMismatchError
   */
  checkTxnStatus(ctx: TxnContext, p: CheckTxnStatusParams): Promise<CheckTxnStatusResult> {
    this.#cm.updateMaxTs(p.callerStartTs);
    const key = Key.fromRaw(p.primaryKey);
    return this.#run(ctx, 'check_txn_status', [key.asEncoded()], 64, async (reader) => {
      const txn = new MvccTxn(p.lockTs);
      const lock = await reader.loadLock(key);
      let status: TxnStatus;
      if (lock !== undefined && lock.ts === p.lockTs) {
        if (p.verifyIsPrimary === true && !key.isEncodedFrom(lock.primary)) {
          if (p.resolvingPessimisticLock !== true && lock.lockType === 'pessimistic') {
            // Resolving a prewrite lock whose primary holds only a pessimistic lock naming
            // another primary: that lock is invalid. Drop it and decide as if it were missing.
            status = await checkTxnStatusMissingLock(
              txn,
              reader,
              key,
              p.rollbackIfNotExist === true ? 'protectedRollback' : 'returnError',
              false,
            );
            txn.unlockKey(key, lock);
            return {
              result: txnStatusResult(status, p.primaryKey),
              modifies: txn.modifies,
              released: txn.released,
            };
          }
          throw new PrimaryMismatchError(lock.toLockInfo(p.primaryKey));
        }
        status = await checkTxnStatusLockExists(
          txn,
          reader,
          key,
          lock,
          p.currentTs,
          p.callerStartTs,
          p.forceSyncCommit === true,
          p.resolvingPessimisticLock === true,
        );
      } else {
        status = await checkTxnStatusMissingLock(
          txn,
          reader,
          key,
          p.rollbackIfNotExist === true ? 'protectedRollback' : 'returnError',
          p.resolvingPessimisticLock === true,
        );
      }
      return {
        result: txnStatusResult(status, p.primaryKey),
        modifies: txn.modifies,
        released: txn.released,
      };
    });
  }

  /**
   * Checks the secondaries of an async-commit transaction (KvCheckSecondaryLocks): returns their
   * locks if all are still locked, or the commit ts if one is committed; a missing lock is
   * replaced by a protected rollback record (then `locks` is empty and `commitTs` 0).
   */
  checkSecondaryLocks(
    ctx: TxnContext,
    p: { keys: readonly Uint8Array[]; startVersion: bigint },
  ): Promise<{ locks: kvrpcpb.LockInfo[]; commitTs: bigint }> {
    const keys = p.keys.map(encoded);
    return this.#run(ctx, 'check_secondary_locks', keys, keys.length * 32, async (reader) => {
      const txn = new MvccTxn(p.startVersion);
      const locks: kvrpcpb.LockInfo[] = [];
      let commitTs = 0n;
      let rolledBack = false;
      for (const raw of p.keys) {
        const s = await checkSecondaryLock(txn, reader, Key.fromRaw(raw));
        if (s.kind === 'locked') locks.push(s.lock.toLockInfo(raw));
        else if (s.kind === 'committed') {
          commitTs = s.commitTs;
          break;
        } else {
          rolledBack = true;
          break;
        }
      }
      const result =
        commitTs !== 0n || rolledBack ? { locks: [], commitTs } : { locks, commitTs: 0n };
      return { result, modifies: txn.modifies, released: txn.released };
    });
  }

  /**
   * Resolves the locks of transactions (KvResolveLock): commits them at their commit ts, or rolls
   * them back (commit ts 0). Either one transaction (`startVersion`, `commitVersion`, optional
   * `keys`) or many (`txnInfos`). Without keys, scans the whole snapshot for their locks, in
   * batches of 256.
   * @throws TxnLockNotFoundError, InvalidTxnTsoError
   */
  async resolveLock(
    ctx: TxnContext,
    p: {
      startVersion?: bigint;
      commitVersion?: bigint;
      keys?: readonly Uint8Array[];
      txnInfos?: readonly TxnInfo[];
    },
  ): Promise<void> {
    const status = new Map<bigint, bigint>();
    if (p.txnInfos !== undefined && p.txnInfos.length > 0) {
      for (const t of p.txnInfos) status.set(t.txn, t.status);
    } else if (p.startVersion !== undefined) {
      status.set(p.startVersion, p.commitVersion ?? 0n);
    } else {
      throw new InvalidRequestError('ResolveLock needs start_version or txn_infos');
    }
    for (const [startTs, commitTs] of status) {
      if (commitTs !== 0n && commitTs <= startTs) throw new InvalidTxnTsoError(startTs, commitTs);
    }
    if (p.keys !== undefined && p.keys.length > 0) {
      await this.#resolveKeys(
        ctx,
        p.keys.map((k) => Key.fromRaw(k)),
        status,
      );
      return;
    }
    let start: Uint8Array | undefined;
    for (;;) {
      const { locks, hasMore } = await this.#withReader(ctx, (reader) =>
        reader.scanLocks(start, undefined, (_k, l) => status.has(l.ts), RESOLVE_LOCK_BATCH),
      );
      if (locks.length > 0)
        await this.#resolveKeys(
          ctx,
          locks.map((l) => l.key),
          status,
        );
      if (!hasMore || locks.length === 0) return;
      const last = locks[locks.length - 1] as { key: Key };
      start = Uint8Array.from([...last.key.asEncoded(), 0]);
    }
  }

  #resolveKeys(
    ctx: TxnContext,
    keys: readonly Key[],
    status: ReadonlyMap<bigint, bigint>,
  ): Promise<void> {
    return this.#run(
      ctx,
      'resolve_lock',
      keys.map((k) => k.asEncoded()),
      keys.length * 32,
      async (reader) => {
        const modifies: Modify[] = [];
        const released: ReleasedLock[] = [];
        for (const key of keys) {
          const lock = await reader.loadLock(key);
          if (lock === undefined) continue;
          const commitTs = status.get(lock.ts);
          if (commitTs === undefined) continue;
          const txn = new MvccTxn(lock.ts);
          if (commitTs === 0n) await cleanupKey(txn, reader, key, 0n, false);
          else await commitKey(txn, reader, key, commitTs);
          modifies.push(...txn.modifies);
          released.push(...txn.released);
        }
        return { result: undefined, modifies, released };
      },
    );
  }

  /**
   * Extends the primary lock's TTL to `adviseLockTtl` if larger (KvTxnHeartBeat); returns the TTL.
   * @throws TxnNotFoundError when the transaction holds no lock on the primary
   */
  txnHeartBeat(
    ctx: TxnContext,
    p: { primaryLock: Uint8Array; startVersion: bigint; adviseLockTtl: bigint },
  ): Promise<{ lockTtl: bigint }> {
    const key = Key.fromRaw(p.primaryLock);
    return this.#run(ctx, 'txn_heart_beat', [key.asEncoded()], 32, async (reader) => {
      const lock = await reader.loadLock(key);
      if (lock === undefined || lock.ts !== p.startVersion)
        throw new TxnNotFoundError(p.startVersion, p.primaryLock);
      if (lock.ttl >= p.adviseLockTtl) return { result: { lockTtl: lock.ttl }, modifies: [] };
      const l = lock.clone();
      l.ttl = p.adviseLockTtl;
      const txn = new MvccTxn(p.startVersion);
      txn.putLock(key, l);
      return { result: { lockTtl: l.ttl }, modifies: txn.modifies };
    });
  }

  /**
   * Acquires pessimistic locks on keys (KvPessimisticLock), all or none. When another
   * transaction's lock is in the way and `waitTimeout` is not negative, waits (up to the
   * timeout; 0 = the server default) for it to go away and retries; fails with `DeadlockError`
   * when waiting would deadlock, and with `KeyIsLockedError` when the wait times out.
   *
   * @throws KeyIsLockedError, DeadlockError, WriteConflictError (PessimisticRetry),
   *   AlreadyExistError, PessimisticLockRolledBackError
   */
  async pessimisticLock(ctx: TxnContext, p: PessimisticLockParams): Promise<PessimisticLockResult> {
    this.#cm.updateMaxTs(p.forUpdateTs);
    const timeoutMs = this.#lockMgr.waitTimeoutMs(p.waitTimeout ?? 0n);
    const deadline = timeoutMs === undefined ? undefined : this.#clock.monotonicMs() + timeoutMs;
    for (;;) {
      try {
        return await this.#pessimisticLockOnce(ctx, p);
      } catch (e: unknown) {
        if (!(e instanceof KeyIsLockedError) || deadline === undefined) throw e;
        const left = deadline - this.#clock.monotonicMs();
        if (left <= 0) throw e;
        const info = e.lockInfo;
        const hash = keyHash(encoded(info.key));
        const wait = this.#lockMgr.wait(p.startVersion, info, hash, left);
        // The lock may have gone between the failed attempt and the registration.
        try {
          const still = await this.#withReader(ctx, (reader) =>
            reader.loadLock(Key.fromRaw(info.key)),
          );
          if (still === undefined || still.ts !== info.lockVersion) wait.cancel();
        } catch (err: unknown) {
          wait.cancel();
          throw err;
        }
        const outcome = await wait.done;
        if (outcome === 'timeout') throw e;
      }
    }
  }

  #pessimisticLockOnce(ctx: TxnContext, p: PessimisticLockParams): Promise<PessimisticLockResult> {
    const keys = p.keys.map((k) => encoded(k.key));
    return this.#run(ctx, 'acquire_pessimistic_lock', keys, keys.length * 32, async (reader) => {
      const txn = new MvccTxn(p.startVersion);
      const values: Uint8Array[] = [];
      const notFounds: boolean[] = [];
      const locked: boolean[] = [];
      const lockedWithConflictTs: bigint[] = [];
      for (const k of p.keys) {
        const r = await acquirePessimisticLock(txn, reader, this.#cm, k.key, {
          primary: p.primaryLock,
          startTs: p.startVersion,
          forUpdateTs: p.forUpdateTs,
          lockTtl: p.lockTtl,
          shouldNotExist: k.shouldNotExist === true,
          needValue: p.returnValues === true,
          needCheckExistence: p.checkExistence === true,
          lockOnlyIfExists: p.lockOnlyIfExists === true,
          minCommitTs: p.minCommitTs ?? 0n,
          allowLockWithConflict:
            p.wakeUpMode === kvrpcpb.PessimisticLockWakeUpMode.WakeUpModeForceLock,
        });
        if (p.returnValues === true) values.push(r.value ?? new Uint8Array(0));
        if (p.returnValues === true || p.checkExistence === true) notFounds.push(!r.exists);
        locked.push(r.locked);
        lockedWithConflictTs.push(r.lockedWithConflictTs);
      }
      return {
        result: { values, notFounds, locked, lockedWithConflictTs },
        modifies: txn.modifies,
      };
    });
  }

  /** Removes the transaction's pessimistic locks on keys (KVPessimisticRollback). */
  pessimisticRollback(
    ctx: TxnContext,
    p: { keys: readonly Uint8Array[]; startVersion: bigint; forUpdateTs: bigint },
  ): Promise<void> {
    const keys = p.keys.map(encoded);
    return this.#run(ctx, 'pessimistic_rollback', keys, keys.length * 32, async (reader) => {
      const txn = new MvccTxn(p.startVersion);
      for (const k of p.keys)
        await pessimisticRollbackKey(txn, reader, Key.fromRaw(k), p.forUpdateTs);
      return { result: undefined, modifies: txn.modifies, released: txn.released };
    });
  }

  /**
   * Deletes every version, lock and value of user keys in `[startKey, endKey)` (KvDeleteRange;
   * an empty end key is unbounded). With `notifyOnly`, writes only the notification.
   */
  deleteRange(
    ctx: TxnContext,
    p: { startKey: Uint8Array; endKey: Uint8Array; notifyOnly?: boolean },
  ): Promise<void> {
    const start = p.startKey.length === 0 ? new Uint8Array(0) : encoded(p.startKey);
    const end = p.endKey.length === 0 ? new Uint8Array(0) : encoded(p.endKey);
    const modifies: Modify[] = (['default', 'lock', 'write'] as const).map((cf) => ({
      type: 'deleteRange',
      cf,
      startKey: start,
      endKey: end,
      ...(p.notifyOnly === true ? { notifyOnly: true } : {}),
    }));
    return this.#engine.write(ctx, modifies);
  }

  /**
   * Destroys all data of `[startKey, endKey)` at once, bypassing MVCC (UnsafeDestroyRange, used
   * after GC; store-wide in TiKV: the server should call it on a storage over the local engine).
   */
  unsafeDestroyRange(
    ctx: TxnContext,
    p: { startKey: Uint8Array; endKey: Uint8Array },
  ): Promise<void> {
    return this.deleteRange(ctx, p);
  }

  /**
   * Garbage-collects MVCC versions up to `safePoint` for user keys in `[startKey, endKey)`
   * (KvGC / the GC worker): keeps the newest version at or below the safe point unless it is a
   * delete, drops every older version and every Lock/Rollback record at or below it.
   * Returns the number of write records removed.
   */
  async gc(
    ctx: TxnContext,
    p: { safePoint: bigint; startKey?: Uint8Array; endKey?: Uint8Array },
  ): Promise<{ removed: number }> {
    const start =
      p.startKey !== undefined && p.startKey.length > 0 ? encoded(p.startKey) : undefined;
    const end = p.endKey !== undefined && p.endKey.length > 0 ? encoded(p.endKey) : undefined;
    let removed = 0;
    let from = start;
    for (;;) {
      const keys = await this.#withReader(ctx, async (_reader, snap) => {
        const it = snap.iterator('write', {
          ...(from === undefined ? {} : { lowerBound: from }),
          ...(end === undefined ? {} : { upperBound: end }),
        });
        try {
          const out: Key[] = [];
          let valid = await it.seekToFirst();
          while (valid && out.length < GC_BATCH) {
            const user = Key.truncateTsFor(it.key()).slice();
            out.push(Key.fromEncoded(user));
            valid = await it.seek(Key.fromEncoded(user).appendTs(0n).asEncoded());
            if (valid && Key.isUserKeyEq(it.key(), user)) valid = await it.next();
          }
          return { keys: out, more: valid };
        } finally {
          it.close();
        }
      });
      if (keys.keys.length > 0) {
        removed += await this.#run(
          ctx,
          'gc',
          keys.keys.map((k) => k.asEncoded()),
          keys.keys.length * 32,
          async (reader) => {
            const txn = new MvccTxn(0n);
            let n = 0;
            for (const k of keys.keys) n += await gcKey(txn, reader, k, p.safePoint);
            return { result: n, modifies: txn.modifies };
          },
        );
      }
      if (!keys.more || keys.keys.length === 0) return { removed };
      const last = keys.keys[keys.keys.length - 1] as Key;
      from = last.appendTs(0n).asEncoded();
      from = Uint8Array.from([...from, 0]);
    }
  }
}

function txnStatusResult(status: TxnStatus, primaryKey: Uint8Array): CheckTxnStatusResult {
  const base = {
    lockTtl: 0n,
    commitVersion: 0n,
    action: kvrpcpb.Action.NoAction,
    lockInfo: undefined,
  };
  switch (status.kind) {
    case 'rolledBack':
      return base;
    case 'ttlExpire':
      return { ...base, action: kvrpcpb.Action.TTLExpireRollback };
    case 'lockNotExist':
      return { ...base, action: kvrpcpb.Action.LockNotExistRollback };
    case 'committed':
      return { ...base, commitVersion: status.commitTs };
    case 'uncommitted':
      return {
        ...base,
        lockTtl: status.lock.ttl,
        action: status.minCommitTsPushed
          ? kvrpcpb.Action.MinCommitTSPushed
          : kvrpcpb.Action.NoAction,
        lockInfo: status.lock.toLockInfo(primaryKey),
      };
    case 'pessimisticRollBack':
      return { ...base, action: kvrpcpb.Action.TTLExpirePessimisticRollback };
    case 'lockNotExistDoNothing':
      return { ...base, action: kvrpcpb.Action.LockNotExistDoNothing };
    default: {
      const never: never = status;
      throw new TypeError(`Unknown txn status ${JSON.stringify(never)}`);
    }
  }
}

async function mvccInfo(reader: MvccReader, key: Key): Promise<kvrpcpb.MvccInfo> {
  const lock = await reader.loadLock(key);
  const writes = await reader.scanWritesOfKey(key);
  const values = await reader.scanValuesOfKey(key);
  return kvrpcpb.MvccInfo.fromPartial({
    lock: lock?.toMvccLock(),
    writes: writes.map(({ commitTs, write }) => write.toMvccWrite(commitTs)),
    values: values.map((v) =>
      kvrpcpb.MvccValue.fromPartial({ startTs: v.startTs, value: v.value }),
    ),
  });
}
