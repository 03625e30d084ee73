import { kvrpcpb } from '@tikv-ts/proto';
import { TikvError } from '@tikv-ts/util';

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** A read or write met another transaction's lock (TiKV `KeyIsLocked`). */
export class KeyIsLockedError extends TikvError {
  readonly code = 'KV:Storage:KeyIsLocked';
  constructor(readonly lockInfo: kvrpcpb.LockInfo) {
    super(`Key ${hex(lockInfo.key)} is locked by transaction ${lockInfo.lockVersion} (primary ${hex(lockInfo.primaryLock)})`);
  }
}

/** A newer write (or a rollback of this transaction) conflicts with a prewrite or lock. */
export class WriteConflictError extends TikvError {
  readonly code = 'KV:Storage:WriteConflict';
  constructor(
    readonly startTs: bigint,
    readonly conflictStartTs: bigint,
    readonly conflictCommitTs: bigint,
    readonly key: Uint8Array,
    readonly primary: Uint8Array,
    readonly reason: kvrpcpb.WriteConflict_Reason,
  ) {
    super(
      `Write conflict on key ${hex(key)}: transaction ${startTs} met ${conflictStartTs} committed at ${conflictCommitTs} (${kvrpcpb.WriteConflict_Reason[reason]})`,
    );
  }
}

/** An Insert or CheckNotExists mutation found the key (TiKV `AlreadyExist`). */
export class AlreadyExistError extends TikvError {
  readonly code = 'KV:Storage:AlreadyExist';
  constructor(
    readonly key: Uint8Array,
    readonly existingStartTs: bigint,
  ) {
    super(`Key ${hex(key)} already exists`);
  }
}

/** A pessimistic lock wait would close a cycle of waiters. */
export class DeadlockError extends TikvError {
  readonly code = 'KV:Storage:Deadlock';
  constructor(
    readonly startTs: bigint,
    readonly lockTs: bigint,
    readonly lockKey: Uint8Array,
    readonly deadlockKeyHash: bigint,
    readonly waitChain: readonly { txn: bigint; waitForTxn: bigint; key: Uint8Array }[],
  ) {
    super(`Deadlock: transaction ${startTs} waits for ${lockTs} on key ${hex(lockKey)}, which waits for it`);
  }
}

/** A commit ts below the lock's min commit ts. */
export class CommitTsExpiredError extends TikvError {
  readonly code = 'KV:Storage:CommitTsExpired';
  constructor(
    readonly startTs: bigint,
    readonly commitTs: bigint,
    readonly key: Uint8Array,
    readonly minCommitTs: bigint,
  ) {
    super(`Commit ts ${commitTs} of transaction ${startTs} is below min commit ts ${minCommitTs} of key ${hex(key)}`);
  }
}

/** CheckTxnStatus found neither a lock nor a commit or rollback record. */
export class TxnNotFoundError extends TikvError {
  readonly code = 'KV:Storage:TxnNotFound';
  constructor(
    readonly startTs: bigint,
    readonly key: Uint8Array,
  ) {
    super(`Transaction ${startTs} not found on key ${hex(key)}`);
  }
}

/** Commit found no lock of the transaction and no commit record (it was rolled back). */
export class TxnLockNotFoundError extends TikvError {
  readonly code = 'KV:Storage:TxnLockNotFound';
  constructor(
    readonly startTs: bigint,
    readonly commitTs: bigint,
    readonly key: Uint8Array,
  ) {
    super(`Lock of transaction ${startTs} not found on key ${hex(key)} when committing at ${commitTs}`);
  }
}

/** A pessimistic prewrite expected its pessimistic lock and did not find it. */
export class PessimisticLockNotFoundError extends TikvError {
  readonly code = 'KV:Storage:PessimisticLockNotFound';
  constructor(
    readonly startTs: bigint,
    readonly key: Uint8Array,
    readonly reason: string,
  ) {
    super(`Pessimistic lock of transaction ${startTs} not found on key ${hex(key)}: ${reason}`);
  }
}

/** A pessimistic lock request found a rollback record of its own transaction. */
export class PessimisticLockRolledBackError extends TikvError {
  readonly code = 'KV:Storage:PessimisticLockRolledBack';
  constructor(
    readonly startTs: bigint,
    readonly key: Uint8Array,
  ) {
    super(`Pessimistic lock of transaction ${startTs} on key ${hex(key)} was rolled back`);
  }
}

/** Async commit or 1PC computed a commit ts above the request's max commit ts. */
export class CommitTsTooLargeError extends TikvError {
  readonly code = 'KV:Storage:CommitTsTooLarge';
  constructor(
    readonly startTs: bigint,
    readonly minCommitTs: bigint,
    readonly maxCommitTs: bigint,
  ) {
    super(`Min commit ts ${minCommitTs} of transaction ${startTs} is above max commit ts ${maxCommitTs}`);
  }
}

/** CheckTxnStatus with verify_is_primary found a lock whose primary is another key. */
export class PrimaryMismatchError extends TikvError {
  readonly code = 'KV:Storage:PrimaryMismatch';
  constructor(readonly lockInfo: kvrpcpb.LockInfo) {
    super(`Key ${hex(lockInfo.key)} is not the primary of transaction ${lockInfo.lockVersion}`);
  }
}

/** A mutation's assertion (Exist/NotExist) does not hold. */
export class AssertionFailedError extends TikvError {
  readonly code = 'KV:Storage:AssertionFailed';
  constructor(
    readonly startTs: bigint,
    readonly key: Uint8Array,
    readonly assertion: kvrpcpb.Assertion,
    readonly existingStartTs: bigint,
    readonly existingCommitTs: bigint,
  ) {
    super(`Assertion ${kvrpcpb.Assertion[assertion]} failed on key ${hex(key)} of transaction ${startTs}`);
  }
}

/** A timestamp argument is invalid (e.g. commit ts not above start ts). */
export class InvalidTxnTsoError extends TikvError {
  readonly code = 'KV:Storage:InvalidTxnTso';
  constructor(
    readonly startTs: bigint,
    readonly commitTs: bigint,
  ) {
    super(`Invalid transaction timestamps: start ts ${startTs}, commit ts ${commitTs}`);
  }
}

/** A lock of the expected transaction has an unexpected type (e.g. committing a pessimistic lock). */
export class LockTypeNotMatchError extends TikvError {
  readonly code = 'KV:Storage:LockTypeNotMatch';
  constructor(
    readonly startTs: bigint,
    readonly key: Uint8Array,
    readonly pessimistic: boolean,
  ) {
    super(`Lock of transaction ${startTs} on key ${hex(key)} has an unexpected type (pessimistic=${pessimistic})`);
  }
}

/** A write record points at a value that is missing from CF default (data corruption). */
export class DefaultNotFoundError extends TikvError {
  readonly code = 'KV:Storage:DefaultNotFound';
  constructor(
    readonly key: Uint8Array,
    readonly startTs: bigint,
  ) {
    super(`Value of key ${hex(key)} at start ts ${startTs} not found in CF default`);
  }
}

/**
 * The scheduler holds too many pending write bytes; the request was refused before it queued.
 * The server maps it to `errorpb.ServerIsBusy` (a region error), as TiKV does with `SchedTooBusy`.
 */
export class SchedTooBusyError extends TikvError {
  readonly code = 'KV:Storage:SchedTooBusy';
  constructor(
    readonly pendingWriteBytes: number,
    readonly thresholdBytes: number,
  ) {
    super(`Scheduler is too busy: ${pendingWriteBytes} pending write bytes, threshold ${thresholdBytes}`);
  }
}

/** A request argument is invalid (TiKV `InvalidReqRange`, bad limits...). */
export class InvalidRequestError extends TikvError {
  readonly code = 'KV:Storage:InvalidRequest';
}

/** A pessimistic lock wait ran out of time without the lock going away (reported as KeyIsLocked). */
export class LockWaitTimeoutError extends TikvError {
  readonly code = 'KV:Storage:LockWaitTimeout';
  constructor(readonly lockInfo: kvrpcpb.LockInfo) {
    super(`Timed out waiting for lock of transaction ${lockInfo.lockVersion} on key ${hex(lockInfo.key)}`);
  }
}

function debugString(e: TikvError): string {
  return `${e.name}: ${e.message}`;
}

/**
 * The `kvrpcpb.KeyError` for a storage error, as TiKV's `extract_key_error`: typed transaction
 * errors map to their field; "TxnLockNotFound" goes to `retryable`; write conflicts fill both
 * `conflict` and (for compatibility) `retryable`; everything else becomes `abort` with a
 * description. `SchedTooBusyError` is a region error (ServerIsBusy) and must be mapped by the
 * caller before calling this; if it arrives here it becomes `abort`.
 */
export function extractKeyError(e: unknown): kvrpcpb.KeyError {
  const ke = kvrpcpb.KeyError.fromPartial({});
  if (e instanceof KeyIsLockedError || e instanceof LockWaitTimeoutError) {
    ke.locked = e.lockInfo;
  } else if (e instanceof WriteConflictError) {
    ke.conflict = kvrpcpb.WriteConflict.fromPartial({
      startTs: e.startTs,
      conflictTs: e.conflictStartTs,
      conflictCommitTs: e.conflictCommitTs,
      key: e.key,
      primary: e.primary,
      reason: e.reason,
    });
    ke.retryable = debugString(e);
  } else if (e instanceof AlreadyExistError) {
    ke.alreadyExist = kvrpcpb.AlreadyExist.fromPartial({ key: e.key });
  } else if (e instanceof DeadlockError) {
    ke.deadlock = kvrpcpb.Deadlock.fromPartial({
      lockTs: e.lockTs,
      lockKey: e.lockKey,
      deadlockKeyHash: e.deadlockKeyHash,
    });
  } else if (e instanceof CommitTsExpiredError) {
    ke.commitTsExpired = kvrpcpb.CommitTsExpired.fromPartial({
      startTs: e.startTs,
      attemptedCommitTs: e.commitTs,
      key: e.key,
      minCommitTs: e.minCommitTs,
    });
  } else if (e instanceof TxnNotFoundError) {
    ke.txnNotFound = kvrpcpb.TxnNotFound.fromPartial({ startTs: e.startTs, primaryKey: e.key });
  } else if (e instanceof TxnLockNotFoundError) {
    ke.retryable = `TxnLockNotFound { start_ts: ${e.startTs}, commit_ts: ${e.commitTs}, key: ${hex(e.key)} }`;
  } else if (e instanceof CommitTsTooLargeError) {
    ke.commitTsTooLarge = kvrpcpb.CommitTsTooLarge.fromPartial({ commitTs: e.minCommitTs });
  } else if (e instanceof AssertionFailedError) {
    ke.assertionFailed = kvrpcpb.AssertionFailed.fromPartial({
      startTs: e.startTs,
      key: e.key,
      assertion: e.assertion,
      existingStartTs: e.existingStartTs,
      existingCommitTs: e.existingCommitTs,
    });
  } else if (e instanceof PrimaryMismatchError) {
    ke.primaryMismatch = kvrpcpb.PrimaryMismatch.fromPartial({ lockInfo: e.lockInfo });
  } else if (e instanceof TikvError) {
    ke.abort = debugString(e);
  } else if (e instanceof Error) {
    ke.abort = `${e.name}: ${e.message}`;
  } else {
    ke.abort = String(e);
  }
  return ke;
}
