import { toHex } from '@tikv-ts/codec';
import type { errorpb, kvrpcpb } from '@tikv-ts/proto';
import { TikvError } from '@tikv-ts/util';

/** Base of every error the client throws; branch on the subclass (or `code`). */
export abstract class ClientError extends TikvError {}

/** Another transaction committed one of our keys after our start (or for-update) ts. */
export class WriteConflictError extends ClientError {
  readonly code = 'KV:Client:WriteConflict';
  /** Our start ts. */
  readonly startTs: bigint;
  /** Start ts of the conflicting transaction. */
  readonly conflictTs: bigint;
  /** Commit ts of the conflicting write. */
  readonly conflictCommitTs: bigint;
  readonly key: Uint8Array;
  /** TiKV's reason (`kvrpcpb.WriteConflict_Reason`). */
  readonly reason: number;
  constructor(c: kvrpcpb.WriteConflict) {
    super(`Write conflict on key ${toHex(c.key)}: start ts ${c.startTs}, conflicting txn ${c.conflictTs} committed at ${c.conflictCommitTs}`);
    this.startTs = c.startTs;
    this.conflictTs = c.conflictTs;
    this.conflictCommitTs = c.conflictCommitTs;
    this.key = c.key;
    this.reason = c.reason;
  }
}

/** An insert (or a pessimistic lock with existence check) met an existing key. */
export class KeyExistsError extends ClientError {
  readonly code = 'KV:Client:KeyExists';
  readonly key: Uint8Array;
  constructor(key: Uint8Array) {
    super(`Key ${toHex(key)} already exists`);
    this.key = key;
  }
}

/** A pessimistic lock wait formed a cycle; this transaction was chosen to abort. */
export class DeadlockError extends ClientError {
  readonly code = 'KV:Client:Deadlock';
  /** Start ts of the transaction we waited for. */
  readonly lockTs: bigint;
  readonly lockKey: Uint8Array;
  readonly deadlockKeyHash: bigint;
  constructor(d: kvrpcpb.Deadlock) {
    super(`Deadlock waiting for the lock of txn ${d.lockTs} on key ${toHex(d.lockKey)}`);
    this.lockTs = d.lockTs;
    this.lockKey = d.lockKey;
    this.deadlockKeyHash = d.deadlockKeyHash;
  }
}

/** The operation did not finish within its time budget (backoff exhausted or lock wait too long). */
export class ClientTimeoutError extends ClientError {
  readonly code = 'KV:Client:Timeout';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * A region could not be reached within the retry budget: every attempt met a region error
 * or a send failure. `cause` is the last one.
 */
export class RegionUnavailableError extends ClientError {
  readonly code = 'KV:Client:RegionUnavailable';
  readonly regionId: bigint;
  constructor(regionId: bigint, message: string, options?: ErrorOptions) {
    super(message, options);
    this.regionId = regionId;
  }
}

/** A region error no retry can fix (e.g. `raft_entry_too_large`, `undetermined_result`). */
export class RegionError extends ClientError {
  readonly code = 'KV:Client:RegionError';
  readonly error: errorpb.Error;
  constructor(error: errorpb.Error) {
    super(`Region error: ${error.message}`);
    this.error = error;
  }
}

/** TiKV answered a raw request with an error string. */
export class KvServerError extends ClientError {
  readonly code = 'KV:Client:Server';
  constructor(message: string) {
    super(message);
  }
}

/**
 * The transaction can no longer commit: it was rolled back (by another client resolving its
 * locks, or because its lock expired), TiKV aborted it, or an assertion failed.
 */
export class TxnAbortedError extends ClientError {
  readonly code = 'KV:Client:TxnAborted';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** The commit's outcome is unknown (the primary commit RPC failed without an answer). */
export class UndeterminedError extends ClientError {
  readonly code = 'KV:Client:Undetermined';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** A method was called on a transaction that already committed or rolled back, or on a closed client. */
export class InvalidStateError extends ClientError {
  readonly code = 'KV:Client:InvalidState';
  constructor(message: string) {
    super(message);
  }
}

/** A KeyError that is not one of the typed cases (the server's `abort` / `retryable` text). */
export class KeyErrorUnknown extends ClientError {
  readonly code = 'KV:Client:KeyError';
  readonly keyError: kvrpcpb.KeyError;
  constructor(e: kvrpcpb.KeyError) {
    super(`Key error: ${e.abort || e.retryable || JSON.stringify(Object.keys(e).filter((k) => (e as unknown as Record<string, unknown>)[k] !== undefined))}`);
    this.keyError = e;
  }
}

/**
 * Maps a KeyError (other than `locked`, which callers resolve) to its typed error.
 */
export function keyErrorToError(e: kvrpcpb.KeyError): ClientError {
  if (e.conflict !== undefined) return new WriteConflictError(e.conflict);
  if (e.alreadyExist !== undefined) return new KeyExistsError(e.alreadyExist.key);
  if (e.deadlock !== undefined) return new DeadlockError(e.deadlock);
  if (e.retryable !== '' && /TxnLockNotFound|lock not found/i.test(e.retryable)) return new TxnAbortedError(`Transaction lock not found (rolled back): ${e.retryable}`);
  if (e.txnNotFound !== undefined) return new TxnAbortedError(`Transaction ${e.txnNotFound.startTs} not found`);
  if (e.assertionFailed !== undefined) return new TxnAbortedError(`Assertion failed on key ${toHex(e.assertionFailed.key)}`);
  if (e.abort !== '' && /PessimisticLock(NotFound|RolledBack)|rolled back/i.test(e.abort)) return new TxnAbortedError(e.abort);
  return new KeyErrorUnknown(e);
}
