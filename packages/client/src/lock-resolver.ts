import { toHex } from '@tikv-ts/codec';
import { kvrpcpb } from '@tikv-ts/proto';
import type { Backoffer, KvCluster } from './cluster';
import { keyErrorToError } from './errors';

/** Physical milliseconds of a TSO timestamp. */
export function tsPhysicalMs(ts: bigint): bigint {
  return ts >> 18n;
}

/** The status of a transaction, as its primary lock tells. */
export type TxnStatus =
  | { readonly kind: 'committed'; readonly commitTs: bigint }
  | { readonly kind: 'rolledBack' }
  /** Still running: its lock lives `ttlMs` from its start; `pushed`: a reader's ts is now below its min commit ts. */
  | { readonly kind: 'alive'; readonly ttlMs: bigint; readonly pushed: boolean; readonly lock: kvrpcpb.LockInfo | undefined };

/**
 * Resolves locks met by reads and writes (Percolator recovery): asks the lock's primary for
 * its transaction's status (`KvCheckTxnStatus`, pushing the caller's ts or rolling back an
 * expired lock), recovers async-commit transactions from their secondaries
 * (`KvCheckSecondaryLocks`), then commits or rolls back the lock (`KvResolveLock`, or
 * `KVPessimisticRollback` for pessimistic locks).
 */
export class LockResolver {
  readonly #cluster: KvCluster;
  /** Final statuses of transactions (committed or rolled back never change). */
  readonly #resolved = new Map<bigint, TxnStatus>();

  constructor(cluster: KvCluster) {
    this.#cluster = cluster;
  }

  /**
   * Resolves `locks` on behalf of a caller that started at `callerStartTs`.
   * @returns 0 when every lock is gone or no longer blocks the caller; otherwise the ms until
   *   the first blocking lock expires (the caller backs off at most that long and retries)
   */
  async resolveLocks(locks: readonly kvrpcpb.LockInfo[], callerStartTs: bigint, bo: Backoffer, options: { forGc?: boolean } = {}): Promise<number> {
    let waitMs = 0;
    for (const lock of locks) {
      const status = await this.#statusOf(lock, callerStartTs, bo, options.forGc === true);
      if (status.kind === 'alive') {
        if (status.pushed && lock.lockType !== kvrpcpb.Op.PessimisticLock) continue;
        const now = tsPhysicalMs(await this.#cluster.pd.getTimestamp());
        const left = Number(tsPhysicalMs(lock.lockVersion) + status.ttlMs - now);
        const w = Math.max(1, left);
        waitMs = waitMs === 0 ? w : Math.min(waitMs, w);
        continue;
      }
      await this.#resolveLock(lock, status, bo);
    }
    return waitMs;
  }

  async #statusOf(lock: kvrpcpb.LockInfo, callerStartTs: bigint, bo: Backoffer, forGc: boolean): Promise<TxnStatus> {
    const known = this.#resolved.get(lock.lockVersion);
    if (known !== undefined) return known;
    const currentTs = forGc ? 0xffffffffffffffffn : await this.#cluster.pd.getTimestamp();
    const expired = forGc || tsPhysicalMs(currentTs) - tsPhysicalMs(lock.lockVersion) >= lock.lockTtl;
    let status = await this.checkTxnStatus(lock.primaryLock, lock.lockVersion, forGc ? 0n : callerStartTs, currentTs, expired, lock.lockType === kvrpcpb.Op.PessimisticLock, bo);
    if (status.kind === 'alive' && status.lock?.useAsyncCommit === true && expired) {
      status = await this.#recoverAsyncCommit(lock.primaryLock, status.lock, bo);
    }
    if (status.kind !== 'alive') {
      // Final statuses never change; keep a bounded number of them.
      if (this.#resolved.size >= 4096) this.#resolved.clear();
      this.#resolved.set(lock.lockVersion, status);
    }
    return status;
  }

  /**
   * `KvCheckTxnStatus` on the primary key of transaction `startTs`.
   * A missing lock with no record counts as still alive (it may be a prewrite in flight) unless
   * `rollbackIfNotExist`.
   */
  async checkTxnStatus(primary: Uint8Array, startTs: bigint, callerStartTs: bigint, currentTs: bigint, rollbackIfNotExist: boolean, resolvingPessimisticLock: boolean, bo: Backoffer): Promise<TxnStatus> {
    for (;;) {
      const loc = await this.#cluster.locate(primary);
      const r = await this.#cluster.send(
        loc,
        'kvCheckTxnStatus',
        (context) =>
          kvrpcpb.CheckTxnStatusRequest.fromPartial({ context, primaryKey: primary, lockTs: startTs, callerStartTs, currentTs, rollbackIfNotExist, resolvingPessimisticLock }),
        bo,
      );
      if (r === undefined) continue;
      if (r.error !== undefined) {
        if (r.error.txnNotFound !== undefined) return { kind: 'alive', ttlMs: 0n, pushed: false, lock: undefined };
        if (r.error.primaryMismatch?.lockInfo !== undefined) {
          // The key is not that transaction's primary (a pessimistic lock of a different shape): treat its lock's TTL.
          const li = r.error.primaryMismatch.lockInfo;
          return { kind: 'alive', ttlMs: li.lockTtl, pushed: false, lock: li };
        }
        throw keyErrorToError(r.error);
      }
      if (r.commitVersion > 0n) return { kind: 'committed', commitTs: r.commitVersion };
      if (r.lockTtl === 0n) return { kind: 'rolledBack' };
      return { kind: 'alive', ttlMs: r.lockTtl, pushed: r.action === kvrpcpb.Action.MinCommitTSPushed, lock: r.lockInfo };
    }
  }

  /** Async-commit recovery: the transaction committed iff every secondary is still locked by it. */
  async #recoverAsyncCommit(primary: Uint8Array, primaryLock: kvrpcpb.LockInfo, bo: Backoffer): Promise<TxnStatus> {
    const startTs = primaryLock.lockVersion;
    let commitTs = primaryLock.minCommitTs;
    let rolledBack = false;
    let committedAt = 0n;
    await this.#cluster.forEachRegion(
      primaryLock.secondaries,
      (k) => k,
      async (loc, keys) => {
        const r = await this.#cluster.send(loc, 'kvCheckSecondaryLocks', (context) => kvrpcpb.CheckSecondaryLocksRequest.fromPartial({ context, keys, startVersion: startTs }), bo);
        if (r === undefined) return false;
        if (r.error !== undefined) throw keyErrorToError(r.error);
        if (r.commitTs > 0n) committedAt = r.commitTs;
        else if (r.locks.length < keys.length) rolledBack = true;
        for (const l of r.locks) {
          if (!l.useAsyncCommit) rolledBack = true;
          if (l.minCommitTs > commitTs) commitTs = l.minCommitTs;
        }
        return [];
      },
      bo,
    );
    let status: TxnStatus;
    if (committedAt > 0n) status = { kind: 'committed', commitTs: committedAt };
    else if (rolledBack) status = { kind: 'rolledBack' };
    else status = { kind: 'committed', commitTs };
    // Settle every key of the transaction, primary included.
    await this.#resolveKeys([primary, ...primaryLock.secondaries], startTs, status.kind === 'committed' ? status.commitTs : 0n, bo);
    return status;
  }

  async #resolveKeys(keys: readonly Uint8Array[], startTs: bigint, commitTs: bigint, bo: Backoffer): Promise<void> {
    await this.#cluster.forEachRegion(
      keys,
      (k) => k,
      async (loc, ks) => {
        const r = await this.#cluster.send(loc, 'kvResolveLock', (context) => kvrpcpb.ResolveLockRequest.fromPartial({ context, startVersion: startTs, commitVersion: commitTs, keys: ks }), bo);
        if (r === undefined) return false;
        if (r.error !== undefined) throw keyErrorToError(r.error);
        return [];
      },
      bo,
    );
  }

  async #resolveLock(lock: kvrpcpb.LockInfo, status: TxnStatus, bo: Backoffer): Promise<void> {
    const commitTs = status.kind === 'committed' ? status.commitTs : 0n;
    for (;;) {
      const loc = await this.#cluster.locate(lock.key);
      if (lock.lockType === kvrpcpb.Op.PessimisticLock) {
        const r = await this.#cluster.send(
          loc,
          'kvPessimisticRollback',
          (context) => kvrpcpb.PessimisticRollbackRequest.fromPartial({ context, startVersion: lock.lockVersion, forUpdateTs: lock.lockForUpdateTs, keys: [lock.key] }),
          bo,
        );
        if (r === undefined) continue;
        const e = r.errors[0];
        if (e !== undefined) throw keyErrorToError(e);
        return;
      }
      const r = await this.#cluster.send(loc, 'kvResolveLock', (context) => kvrpcpb.ResolveLockRequest.fromPartial({ context, startVersion: lock.lockVersion, commitVersion: commitTs }), bo);
      if (r === undefined) continue;
      if (r.error !== undefined) throw keyErrorToError(r.error);
      return;
    }
  }

  /** For logs: a short description of a lock. */
  static describe(lock: kvrpcpb.LockInfo): string {
    return `lock of txn ${lock.lockVersion} on ${toHex(lock.key)} (primary ${toHex(lock.primaryLock)}, ttl ${lock.lockTtl} ms)`;
  }
}
