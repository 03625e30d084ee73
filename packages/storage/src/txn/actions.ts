// Percolator actions on one key (TiKV src/storage/txn/actions): pure decisions over an
// MvccReader, producing modifies in an MvccTxn. Commands (storage.ts) run them under latches.
import { Key, bytesEqual, physicalOf } from '@tikv-ts/codec';
import type { ConcurrencyManager } from '@tikv-ts/concurrency-manager';
import { kvrpcpb } from '@tikv-ts/proto';
import {
  AlreadyExistError,
  AssertionFailedError,
  CommitTsExpiredError,
  CommitTsTooLargeError,
  InvalidRequestError,
  KeyIsLockedError,
  LockTypeNotMatchError,
  PessimisticLockNotFoundError,
  PessimisticLockRolledBackError,
  TxnLockNotFoundError,
  TxnNotFoundError,
  WriteConflictError,
} from '../errors';
import type { MvccReader } from '../mvcc/reader';
import type { MvccTxn } from '../mvcc/txn';
import { Lock, type LockType, type Mutation, TS_MAX, Write, type WriteType, isShortValue } from '../txn-types';

/** A transaction was committed already (returned by cleanup/rollback of a committed key). */
export class CommittedError extends Error {
  constructor(
    readonly startTs: bigint,
    readonly commitTs: bigint,
    readonly key: Uint8Array,
  ) {
    super(`Transaction ${startTs} is already committed at ${commitTs}`);
    this.name = 'CommittedError';
  }
}

/** How a prewrite commits: two-phase, async commit, or one-phase. */
export type CommitKind =
  | { readonly kind: 'twoPc' }
  | { readonly kind: 'async'; readonly maxCommitTs: bigint }
  | { readonly kind: 'onePc'; readonly maxCommitTs: bigint };

/** Properties shared by every mutation of one prewrite (TiKV `TransactionProperties`). */
export interface TxnProps {
  readonly startTs: bigint;
  /** 0 for optimistic transactions. */
  readonly forUpdateTs: bigint;
  readonly isPessimistic: boolean;
  readonly skipConstraintCheck: boolean;
  readonly commitKind: CommitKind;
  readonly primary: Uint8Array;
  readonly txnSize: bigint;
  readonly lockTtl: bigint;
  readonly minCommitTs: bigint;
  readonly assertionLevel: kvrpcpb.AssertionLevel;
  /** `Context.is_retry_request`: a resent prewrite (pessimistic transactions then re-check conflicts). */
  readonly isRetryRequest: boolean;
}

/** What a pessimistic transaction expects of a key at prewrite. */
export type PessimisticAction = 'skip' | 'check';

function lockTypeOf(m: Mutation): LockType | undefined {
  switch (m.type) {
    case 'put':
    case 'insert':
      return 'put';
    case 'delete':
      return 'delete';
    case 'lock':
      return 'lock';
    case 'checkNotExists':
      return undefined;
    default: {
      const never: never = m;
      throw new TypeError(`Unknown mutation ${JSON.stringify(never)}`);
    }
  }
}

function writeConflict(
  startTs: bigint,
  write: Write,
  commitTs: bigint,
  key: Key,
  primary: Uint8Array,
  reason: kvrpcpb.WriteConflict_Reason,
): WriteConflictError {
  return new WriteConflictError(startTs, write.startTs, commitTs, key.toRaw(), primary, reason);
}

/** Whether the newest Put of `key` (visible at `ts`) exists. */
async function latestPut(reader: MvccReader, key: Key, ts: bigint): Promise<{ commitTs: bigint; write: Write } | undefined> {
  const found = await reader.getWrite(key, ts);
  return found !== undefined && found.write.writeType === 'put' ? found : undefined;
}

/**
 * Prewrites one mutation (TiKV `prewrite`). Returns the key's min commit ts (0 for 2PC without a
 * pushed ts), or `'skip'` when the key needs nothing (CheckNotExists, a duplicate prewrite...).
 *
 * @throws KeyIsLockedError, WriteConflictError, AlreadyExistError, PessimisticLockNotFoundError,
 *   CommitTsTooLargeError, AssertionFailedError
 */
export async function prewriteKey(
  txn: MvccTxn,
  reader: MvccReader,
  cm: ConcurrencyManager<Lock>,
  props: TxnProps,
  mutation: Mutation,
  secondaries: readonly Uint8Array[] | undefined,
  pessimisticAction: PessimisticAction,
): Promise<bigint | 'skip'> {
  const key = Key.fromRaw(mutation.key);
  const rawKey = mutation.key;
  const isPrimary = bytesEqual(rawKey, props.primary);
  const isPessimisticLockKey = pessimisticAction === 'check';
  const shouldNotExist = mutation.type === 'insert' || mutation.type === 'checkNotExists';
  if (props.isPessimistic && mutation.type === 'checkNotExists') {
    throw new InvalidRequestError('Cannot handle CheckNotExists in a pessimistic prewrite');
  }
  // An existence check is a read at start ts: it bumps max ts (linearizability of inserts).
  if (shouldNotExist) cm.updateMaxTs(props.startTs);
  let lockTtl = props.lockTtl;
  let minCommitTsFloor = props.minCommitTs;
  let lockedPessimistically = false;
  let oldLock: Lock | undefined;

  const lock = await reader.loadLock(key);
  if (lock !== undefined) {
    if (lock.ts !== props.startTs) {
      if (isPessimisticLockKey) {
        throw new PessimisticLockNotFoundError(props.startTs, rawKey, 'the key is locked by another transaction');
      }
      const info = lock.toLockInfo(rawKey);
      // TiKV: in pessimistic transactions such conflicts are on unlocked index keys; resolve at once.
      if (props.isPessimistic) info.lockTtl = 0n;
      throw new KeyIsLockedError(info);
    }
    if (lock.lockType === 'pessimistic') {
      if (!props.isPessimistic) throw new LockTypeNotMatchError(props.startTs, rawKey, true);
      // Our own pessimistic lock: overwrite it, keeping a TTL or min commit ts pushed since.
      if (lock.ttl > lockTtl) lockTtl = lock.ttl;
      if (lock.minCommitTs > minCommitTsFloor) minCommitTsFloor = lock.minCommitTs;
      lockedPessimistically = true;
      oldLock = lock;
    } else {
      // Already prewritten by this transaction: an idempotent retry.
      return lock.useAsyncCommit ? lock.minCommitTs : 'skip';
    }
  } else if (isPessimisticLockKey) {
    // TiKV `amend_pessimistic_lock`: the lock may have been lost by pipelined locking; accept the
    // prewrite when nothing was committed at or after the start ts.
    const newest = await reader.seekWrite(key, TS_MAX);
    if (newest !== undefined && newest.commitTs >= props.startTs) {
      throw new PessimisticLockNotFoundError(props.startTs, rawKey, 'the pessimistic lock is missing');
    }
  }

  // Pessimistic transactions checked conflicts when locking; their unlocked keys (secondary
  // index keys) are checked only on retried requests (TiKV `skip_constraint_check`).
  const skipConstraintCheck = props.isPessimistic
    ? isPessimisticLockKey || lockedPessimistically || !props.isRetryRequest
    : props.skipConstraintCheck;
  if (!skipConstraintCheck) {
    // TiKV `check_for_newer_version`.
    const newest = await reader.seekWrite(key, TS_MAX);
    if (newest !== undefined) {
      if (newest.commitTs > props.startTs) {
        throw writeConflict(props.startTs, newest.write, newest.commitTs, key, props.primary, kvrpcpb.WriteConflict_Reason.Optimistic);
      }
      if (
        newest.commitTs === props.startTs &&
        (newest.write.writeType === 'rollback' || newest.write.hasOverlappedRollback)
      ) {
        throw writeConflict(props.startTs, newest.write, newest.commitTs, key, props.primary, kvrpcpb.WriteConflict_Reason.SelfRolledBack);
      }
    }
    if (shouldNotExist) {
      const put = await latestPut(reader, key, TS_MAX);
      if (put !== undefined) throw new AlreadyExistError(rawKey, put.write.startTs);
    }
  }
  await checkAssertion(reader, key, props, mutation);

  const lockType = lockTypeOf(mutation);
  if (lockType === undefined) {
    // CheckNotExists writes nothing and needs no guard: its min commit ts only has to pass start ts.
    if (props.commitKind.kind === 'twoPc') return 'skip';
    return minCommitTsFloor > props.startTs ? minCommitTsFloor : props.startTs + 1n;
  }

  const newLock = new Lock({
    lockType,
    primary: props.primary,
    ts: props.startTs,
    ttl: lockTtl,
    forUpdateTs: props.isPessimistic ? props.forUpdateTs : 0n,
    txnSize: props.txnSize,
    minCommitTs: minCommitTsFloor,
  });
  if (oldLock !== undefined) newLock.rollbackTs = [...oldLock.rollbackTs];
  if (mutation.type === 'put' || mutation.type === 'insert') {
    if (isShortValue(mutation.value)) newLock.shortValue = mutation.value;
    else txn.putValue(key, props.startTs, mutation.value);
  }

  let finalMinCommitTs = 0n;
  if (props.commitKind.kind !== 'twoPc') {
    if (props.commitKind.kind === 'async') {
      newLock.useAsyncCommit = true;
      if (isPrimary) newLock.secondaries = [...(secondaries ?? [])];
    } else {
      newLock.useOnePc = true;
    }
    // TiKV `async_commit_timestamps`: guard the key, then read max_ts, so a reader either sees
    // the memory lock or bumped max_ts before we read it.
    const guard = cm.lockKey(key.asEncoded());
    const maxTs = cm.maxTs();
    let minCommitTs = maxTs + 1n;
    if (props.startTs + 1n > minCommitTs) minCommitTs = props.startTs + 1n;
    if (props.forUpdateTs + 1n > minCommitTs) minCommitTs = props.forUpdateTs + 1n;
    if (newLock.minCommitTs > minCommitTs) minCommitTs = newLock.minCommitTs;
    const maxCommitTs = props.commitKind.maxCommitTs;
    if (maxCommitTs !== 0n && minCommitTs > maxCommitTs) {
      guard.release();
      throw new CommitTsTooLargeError(props.startTs, minCommitTs, maxCommitTs);
    }
    newLock.minCommitTs = minCommitTs;
    guard.setLock(newLock);
    txn.guards.push(guard);
    finalMinCommitTs = minCommitTs;
  }
  if (props.commitKind.kind !== 'onePc') txn.putLock(key, newLock);
  else if (oldLock !== undefined) txn.unlockKey(key, oldLock);
  return finalMinCommitTs;
}

async function checkAssertion(reader: MvccReader, key: Key, props: TxnProps, m: Mutation): Promise<void> {
  const assertion = m.assertion ?? kvrpcpb.Assertion.None;
  if (assertion === kvrpcpb.Assertion.None || props.assertionLevel === kvrpcpb.AssertionLevel.Off) return;
  const put = await latestPut(reader, key, TS_MAX);
  const exists = put !== undefined;
  if ((assertion === kvrpcpb.Assertion.Exist && !exists) || (assertion === kvrpcpb.Assertion.NotExist && exists)) {
    throw new AssertionFailedError(props.startTs, key.toRaw(), assertion, put?.write.startTs ?? 0n, put?.commitTs ?? 0n);
  }
}

/**
 * Turns the in-memory locks of a 1PC prewrite into commit records at `commitTs` (TiKV
 * `handle_1pc_locks`). Pessimistic locks the prewrite replaced were removed by `prewriteKey`.
 */
export function commitOnePcLocks(txn: MvccTxn, commitTs: bigint): void {
  for (const g of txn.guards) {
    const lock = g.getLock();
    if (lock === undefined) continue;
    const key = Key.fromEncoded(g.key);
    const write = new Write({ writeType: writeTypeOf(lock.lockType), startTs: lock.ts, shortValue: lock.shortValue });
    txn.putWrite(key, commitTs, write);
  }
}

function writeTypeOf(t: LockType): WriteType {
  switch (t) {
    case 'put':
      return 'put';
    case 'delete':
      return 'delete';
    case 'lock':
    case 'pessimistic':
      return 'lock';
    default: {
      const never: never = t;
      throw new TypeError(`Unknown lock type ${String(never)}`);
    }
  }
}

/**
 * Commits one key (TiKV `commit`). Idempotent: committing an already committed key succeeds.
 *
 * @throws CommitTsExpiredError when `commitTs` is below the lock's min commit ts
 * @throws TxnLockNotFoundError when there is no lock and no commit record (rolled back)
 */
export async function commitKey(txn: MvccTxn, reader: MvccReader, key: Key, commitTs: bigint): Promise<void> {
  const lock = await reader.loadLock(key);
  if (lock !== undefined && lock.ts === txn.startTs) {
    if (commitTs < lock.minCommitTs) {
      throw new CommitTsExpiredError(txn.startTs, commitTs, key.toRaw(), lock.minCommitTs);
    }
    // A leftover pessimistic lock of a committed transaction is committed as a Lock record.
    const write = new Write({
      writeType: writeTypeOf(lock.lockType),
      startTs: txn.startTs,
      shortValue: lock.lockType === 'put' ? lock.shortValue : undefined,
    });
    if (lock.rollbackTs.includes(commitTs)) write.hasOverlappedRollback = true;
    txn.putWrite(key, commitTs, write);
    txn.unlockKey(key, lock);
    return;
  }
  const rec = await reader.getTxnCommitRecord(key, txn.startTs);
  if (rec.kind === 'committed') return;
  throw new TxnLockNotFoundError(txn.startTs, commitTs, key.toRaw());
}

/**
 * Writes the rollback record of the transaction on `key` (TiKV `make_rollback`): a rollback
 * record at `key + start_ts`, or, when another transaction committed at exactly that ts, the
 * overlapped-rollback flag on its record (only when the rollback must be protected).
 */
async function writeRollback(
  txn: MvccTxn,
  reader: MvccReader,
  key: Key,
  isProtected: boolean,
  overlapped: { commitTs: bigint; write: Write } | undefined,
): Promise<void> {
  if (overlapped !== undefined) {
    if (isProtected) {
      const w = new Write({ ...overlapped.write, hasOverlappedRollback: true });
      txn.putWrite(key, overlapped.commitTs, w);
    }
    return;
  }
  txn.putWrite(key, txn.startTs, Write.rollback(txn.startTs, isProtected));
  if (isProtected) {
    // An async-commit transaction holding the key may still pick exactly our start ts as its
    // commit ts, and its commit record would replace our rollback record: note the rollback in
    // its lock so that the commit keeps it as the overlapped-rollback flag (TiKV `rollback_ts`).
    const other = await reader.loadLock(key);
    if (
      other !== undefined &&
      other.ts !== txn.startTs &&
      other.useAsyncCommit &&
      other.ts < txn.startTs &&
      other.minCommitTs <= txn.startTs &&
      !other.rollbackTs.includes(txn.startTs)
    ) {
      const l = other.clone();
      l.rollbackTs.push(txn.startTs);
      txn.putLock(key, l);
    }
  }
}

/**
 * Rolls back the transaction's lock on `key` (TiKV `rollback_lock`): drops its long value, writes
 * a rollback record (protected for the primary of a pessimistic transaction, and whenever
 * `forceProtect`), and removes the lock.
 */
export async function rollbackLock(
  txn: MvccTxn,
  reader: MvccReader,
  key: Key,
  lock: Lock,
  forceProtect = false,
): Promise<void> {
  const rec = await reader.getTxnCommitRecord(key, txn.startTs);
  if (rec.kind !== 'none') {
    if (rec.kind === 'committed') {
      throw new Error(`Invariant violated: transaction ${txn.startTs} has a lock and a commit record`);
    }
    txn.unlockKey(key, lock);
    return;
  }
  if (lock.lockType === 'put' && lock.shortValue === undefined) txn.deleteValue(key, lock.ts);
  // TiKV protects the rollback of every primary key (and of pipelined-DML locks).
  const isProtected = forceProtect || key.isEncodedFrom(lock.primary) || lock.generation > 0n;
  await writeRollback(txn, reader, key, isProtected, rec.overlappedWrite);
  txn.unlockKey(key, lock);
}

/** What to do when check-txn-status or cleanup finds no lock. */
export type MissingLockAction = 'rollback' | 'protectedRollback' | 'returnError';

/** The status of a transaction as seen on its primary key (TiKV `TxnStatus`). */
export type TxnStatus =
  | { readonly kind: 'rolledBack' }
  | { readonly kind: 'ttlExpire' }
  | { readonly kind: 'lockNotExist' }
  | { readonly kind: 'committed'; readonly commitTs: bigint }
  | { readonly kind: 'uncommitted'; readonly lock: Lock; readonly minCommitTsPushed: boolean }
  | { readonly kind: 'pessimisticRollBack' }
  | { readonly kind: 'lockNotExistDoNothing' };

/** TiKV `check_txn_status_missing_lock`. */
export async function checkTxnStatusMissingLock(
  txn: MvccTxn,
  reader: MvccReader,
  key: Key,
  action: MissingLockAction,
  resolvingPessimisticLock: boolean,
): Promise<TxnStatus> {
  const rec = await reader.getTxnCommitRecord(key, txn.startTs);
  switch (rec.kind) {
    case 'committed':
      return { kind: 'committed', commitTs: rec.commitTs };
    case 'rolledBack':
      // TiKV upgrades an unprotected rollback to a protected one when asked to protect it.
      if (action === 'protectedRollback' && !rec.write.isProtected()) {
        txn.putWrite(key, txn.startTs, Write.rollback(txn.startTs, true));
      }
      return { kind: 'rolledBack' };
    case 'overlappedRollback':
      return { kind: 'rolledBack' };
    case 'none': {
      if (action === 'returnError') throw new TxnNotFoundError(txn.startTs, key.toRaw());
      if (resolvingPessimisticLock) return { kind: 'lockNotExistDoNothing' };
      await writeRollback(txn, reader, key, action === 'protectedRollback', rec.overlappedWrite);
      return { kind: 'lockNotExist' };
    }
    default: {
      const never: never = rec;
      throw new TypeError(`Unknown commit record ${JSON.stringify(never)}`);
    }
  }
}

/** Whether a lock is expired at `currentTs` (TiKV compares physical ms: `ts.physical + ttl < current.physical`). */
export function isLockExpired(lock: Lock, currentTs: bigint): boolean {
  return physicalOf(lock.ts) + lock.ttl < physicalOf(currentTs);
}

/** TiKV `check_txn_status_lock_exists`. */
export function checkTxnStatusLockExists(
  txn: MvccTxn,
  reader: MvccReader,
  key: Key,
  lock: Lock,
  currentTs: bigint,
  callerStartTs: bigint,
  forceSyncCommit: boolean,
  resolvingPessimisticLock: boolean,
): Promise<TxnStatus> | TxnStatus {
  if (lock.useAsyncCommit && !forceSyncCommit) {
    // The caller must check the secondaries; never roll back or push an async-commit lock here.
    return { kind: 'uncommitted', lock, minCommitTsPushed: false };
  }
  if (lock.lockType === 'pessimistic' && lock.isLockedWithConflict) {
    // A lock taken in ForceLock mode may be stale: trust a commit or rollback record first.
    return reader.getTxnCommitRecord(key, txn.startTs).then((rec) => {
      if (rec.kind === 'none') return checkTxnStatusLockAlive(txn, reader, key, lock, currentTs, callerStartTs, resolvingPessimisticLock);
      txn.unlockKey(key, lock);
      return rec.kind === 'committed' ? { kind: 'committed', commitTs: rec.commitTs } : { kind: 'rolledBack' };
    });
  }
  return checkTxnStatusLockAlive(txn, reader, key, lock, currentTs, callerStartTs, resolvingPessimisticLock);
}

function checkTxnStatusLockAlive(
  txn: MvccTxn,
  reader: MvccReader,
  key: Key,
  lock: Lock,
  currentTs: bigint,
  callerStartTs: bigint,
  resolvingPessimisticLock: boolean,
): Promise<TxnStatus> | TxnStatus {
  if (isLockExpired(lock, currentTs)) {
    if (resolvingPessimisticLock && lock.lockType === 'pessimistic') {
      // The transaction may still change its primary: only release the lock, no rollback record.
      txn.unlockKey(key, lock);
      return { kind: 'pessimisticRollBack' };
    }
    return rollbackLock(txn, reader, key, lock).then(() => ({ kind: 'ttlExpire' }) as const);
  }
  if (lock.minCommitTs !== 0n && callerStartTs !== TS_MAX && callerStartTs >= lock.minCommitTs) {
    const pushed = lock.clone();
    pushed.minCommitTs = callerStartTs + 1n;
    if (pushed.minCommitTs < currentTs) pushed.minCommitTs = currentTs;
    txn.putLock(key, pushed);
    return { kind: 'uncommitted', lock: pushed, minCommitTsPushed: true };
  }
  const pushed = (callerStartTs !== 0n && lock.minCommitTs > callerStartTs) || callerStartTs === TS_MAX;
  return { kind: 'uncommitted', lock, minCommitTsPushed: pushed };
}

/**
 * Cleans up one key (TiKV `cleanup`): rolls back the transaction's lock when it expired at
 * `currentTs` (always when `currentTs` is 0), or writes a rollback record when there is no lock.
 *
 * @throws KeyIsLockedError when the lock has not expired
 * @throws CommittedError when the transaction committed on this key
 */
export async function cleanupKey(
  txn: MvccTxn,
  reader: MvccReader,
  key: Key,
  currentTs: bigint,
  protectRollback: boolean,
): Promise<void> {
  const lock = await reader.loadLock(key);
  if (lock !== undefined && lock.ts === txn.startTs) {
    if (currentTs !== 0n && !isLockExpired(lock, currentTs)) {
      throw new KeyIsLockedError(lock.toLockInfo(key.toRaw()));
    }
    // TiKV passes `protect_rollback` only to decide collapsing here; the primary is always protected.
    await rollbackLock(txn, reader, key, lock);
    return;
  }
  const status = await checkTxnStatusMissingLock(
    txn,
    reader,
    key,
    protectRollback ? 'protectedRollback' : 'rollback',
    false,
  );
  if (status.kind === 'committed') throw new CommittedError(txn.startTs, status.commitTs, key.toRaw());
}

/** Result of locking one key pessimistically. */
export interface PessimisticLockKeyResult {
  /** The latest committed value (when asked for values or existence). */
  readonly value: Uint8Array | undefined;
  /** Whether the key exists (when asked). */
  readonly exists: boolean;
  /** False when `lockOnlyIfExists` skipped a missing key. */
  readonly locked: boolean;
  /** With `allowLockWithConflict`: the newer commit ts the key was locked at despite a conflict (0 if none). */
  readonly lockedWithConflictTs: bigint;
}

/** Parameters of {@link acquirePessimisticLock}. */
export interface PessimisticLockParams {
  readonly primary: Uint8Array;
  readonly startTs: bigint;
  readonly forUpdateTs: bigint;
  readonly lockTtl: bigint;
  readonly shouldNotExist: boolean;
  readonly needValue: boolean;
  readonly needCheckExistence: boolean;
  readonly lockOnlyIfExists: boolean;
  readonly minCommitTs: bigint;
  /** TiKV's "force lock" wake-up mode: lock despite a newer commit, reporting it. */
  readonly allowLockWithConflict: boolean;
}

/**
 * Acquires a pessimistic lock on one key (TiKV `acquire_pessimistic_lock`).
 *
 * @throws KeyIsLockedError (another transaction's lock: the caller may wait),
 *   WriteConflictError (PessimisticRetry: a commit newer than for_update_ts),
 *   PessimisticLockRolledBackError, AlreadyExistError, LockTypeNotMatchError
 */
export async function acquirePessimisticLock(
  txn: MvccTxn,
  reader: MvccReader,
  cm: ConcurrencyManager<Lock>,
  rawKey: Uint8Array,
  p: PessimisticLockParams,
): Promise<PessimisticLockKeyResult> {
  const key = Key.fromRaw(rawKey);
  if (p.lockOnlyIfExists && !p.needValue) {
    throw new InvalidRequestError('lock_only_if_exists of a pessimistic lock request needs return_values');
  }
  // Reading the value (or its existence) is a read at for_update_ts.
  if (p.shouldNotExist || p.needValue || p.needCheckExistence) cm.updateMaxTs(p.forUpdateTs);
  let forUpdateTs = p.forUpdateTs;
  let needLoadValue = p.needValue;

  const lock = await reader.loadLock(key);
  if (lock !== undefined) {
    if (lock.ts !== p.startTs) throw new KeyIsLockedError(lock.toLockInfo(rawKey));
    if (lock.lockType !== 'pessimistic') throw new LockTypeNotMatchError(p.startTs, rawKey, false);
    let lockedWithConflictTs = 0n;
    if (p.allowLockWithConflict && forUpdateTs < lock.forUpdateTs) {
      // A lost response of an earlier locked-with-conflict request: answer the same way.
      needLoadValue = true;
      forUpdateTs = lock.forUpdateTs;
      lockedWithConflictTs = lock.forUpdateTs;
    }
    let value: Uint8Array | undefined;
    let exists = false;
    if (needLoadValue || p.needCheckExistence || p.shouldNotExist) {
      const put = await latestPut(reader, key, forUpdateTs);
      if (put !== undefined) {
        if (p.shouldNotExist) {
          if (put.commitTs > p.forUpdateTs) {
            throw writeConflict(p.startTs, put.write, put.commitTs, key, p.primary, kvrpcpb.WriteConflict_Reason.PessimisticRetry);
          }
          throw new AlreadyExistError(rawKey, put.write.startTs);
        }
        exists = true;
        if (needLoadValue) value = await reader.loadData(key, put.write);
      }
    }
    if (forUpdateTs > lock.forUpdateTs) {
      const l = lock.clone();
      l.forUpdateTs = forUpdateTs;
      l.ttl = p.lockTtl;
      l.minCommitTs = p.minCommitTs;
      txn.putLock(key, l);
    }
    return { value, exists, locked: true, lockedWithConflictTs };
  }

  let conflict: { startTs: bigint; commitTs: bigint; write: Write } | undefined;
  let value: Uint8Array | undefined;
  let exists = false;
  const newest = await reader.seekWrite(key, TS_MAX);
  if (newest !== undefined) {
    const { commitTs, write } = newest;
    if (commitTs > forUpdateTs) {
      if (!p.allowLockWithConflict) {
        throw writeConflict(p.startTs, write, commitTs, key, p.primary, kvrpcpb.WriteConflict_Reason.PessimisticRetry);
      }
      conflict = { startTs: write.startTs, commitTs, write };
      forUpdateTs = commitTs;
      needLoadValue = true;
    }
    // Our own rollback, as a record or as the overlapped flag of another commit at start ts.
    if (commitTs === p.startTs && (write.writeType === 'rollback' || write.hasOverlappedRollback)) {
      throw new PessimisticLockRolledBackError(p.startTs, rawKey);
    }
    if (commitTs > p.startTs) {
      const older = await reader.seekWrite(key, p.startTs);
      if (
        older !== undefined &&
        older.commitTs === p.startTs &&
        (older.write.writeType === 'rollback' || older.write.hasOverlappedRollback)
      ) {
        throw new PessimisticLockRolledBackError(p.startTs, rawKey);
      }
    }
    // The latest data version (skipping Lock and Rollback records).
    const latest = write.writeType === 'put' || write.writeType === 'delete' ? newest : await reader.getWrite(key, commitTs - 1n);
    if (latest !== undefined && latest.write.writeType === 'put') {
      if (p.shouldNotExist) {
        if (conflict !== undefined) {
          throw writeConflict(p.startTs, conflict.write, conflict.commitTs, key, p.primary, kvrpcpb.WriteConflict_Reason.PessimisticRetry);
        }
        throw new AlreadyExistError(rawKey, latest.write.startTs);
      }
      exists = true;
      if (needLoadValue) value = await reader.loadData(key, latest.write);
    }
  }
  if (p.lockOnlyIfExists && !exists) {
    if (conflict !== undefined) {
      throw writeConflict(p.startTs, conflict.write, conflict.commitTs, key, p.primary, kvrpcpb.WriteConflict_Reason.PessimisticRetry);
    }
    return { value: undefined, exists: false, locked: false, lockedWithConflictTs: 0n };
  }
  txn.putLock(
    key,
    new Lock({
      lockType: 'pessimistic',
      primary: p.primary,
      ts: p.startTs,
      ttl: p.lockTtl,
      forUpdateTs,
      minCommitTs: p.minCommitTs,
      isLockedWithConflict: conflict !== undefined,
    }),
  );
  return { value, exists, locked: true, lockedWithConflictTs: conflict?.commitTs ?? 0n };
}

/** Removes the transaction's pessimistic lock on `key` if its for_update_ts is at most `forUpdateTs` (TiKV `pessimistic_rollback`). */
export async function pessimisticRollbackKey(txn: MvccTxn, reader: MvccReader, key: Key, forUpdateTs: bigint): Promise<void> {
  const lock = await reader.loadLock(key);
  if (
    lock !== undefined &&
    lock.lockType === 'pessimistic' &&
    lock.ts === txn.startTs &&
    (forUpdateTs === 0n || lock.forUpdateTs <= forUpdateTs)
  ) {
    txn.unlockKey(key, lock);
  }
}

/** The outcome of checking one secondary of an async-commit transaction. */
export type SecondaryLockStatus =
  | { readonly kind: 'locked'; readonly lock: Lock }
  | { readonly kind: 'committed'; readonly commitTs: bigint }
  | { readonly kind: 'rolledBack' };

/** TiKV `check_secondary_locks` for one key. */
export async function checkSecondaryLock(txn: MvccTxn, reader: MvccReader, key: Key): Promise<SecondaryLockStatus> {
  const lock = await reader.loadLock(key);
  if (lock !== undefined && lock.ts === txn.startTs) {
    if (lock.lockType === 'pessimistic') {
      // Not prewritten yet, so the transaction cannot have committed: roll it back for good.
      await rollbackLock(txn, reader, key, lock, true);
      return { kind: 'rolledBack' };
    }
    return { kind: 'locked', lock };
  }
  const rec = await reader.getTxnCommitRecord(key, txn.startTs);
  switch (rec.kind) {
    case 'committed':
      return { kind: 'committed', commitTs: rec.commitTs };
    case 'rolledBack':
    case 'overlappedRollback':
      return { kind: 'rolledBack' };
    case 'none':
      // Leave a protected rollback so a late prewrite of this secondary fails.
      await writeRollback(txn, reader, key, true, rec.overlappedWrite);
      return { kind: 'rolledBack' };
    default: {
      const never: never = rec;
      throw new TypeError(`Unknown commit record ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Garbage-collects the versions of one user key below `safePoint` (TiKV's GC rules): versions
 * committed after the safe point stay; of those at or below it, the newest Put stays and every
 * older record goes; a newest Delete goes too (nothing older is visible); Lock and Rollback
 * records at or below the safe point always go. Long values of removed Puts are removed from CF
 * default. Returns the number of write records removed.
 */
export async function gcKey(txn: MvccTxn, reader: MvccReader, key: Key, safePoint: bigint): Promise<number> {
  const writes = await reader.scanWritesOfKey(key);
  let removed = 0;
  let foundLatest = false;
  for (const { commitTs, write } of writes) {
    if (commitTs > safePoint) continue;
    if (!foundLatest) {
      if (write.writeType === 'put') {
        foundLatest = true;
        continue;
      }
      if (write.writeType === 'delete') foundLatest = true;
    }
    txn.deleteWrite(key, commitTs);
    if (write.writeType === 'put' && write.shortValue === undefined) txn.deleteValue(key, write.startTs);
    removed++;
  }
  return removed;
}
