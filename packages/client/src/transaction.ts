import { compareBytes, keySuccessor, toHex } from '@tikv-ts/codec';
import { RpcPdClient, type PdClient } from '@tikv-ts/pd-client';
import { kvrpcpb } from '@tikv-ts/proto';
import type { TimerHandle } from '@tikv-ts/util';
import { SystemClock } from '@tikv-ts/util/node';
import { Backoffer, KvCluster, splitBatches } from './cluster';
import { InvalidStateError, KeyExistsError, TxnAbortedError, UndeterminedError, WriteConflictError, keyErrorToError, ClientError } from './errors';
import { LockResolver, tsPhysicalMs } from './lock-resolver';
import { defaultTransport, type ClientOptions, type KvPair, type ScanOptions } from './raw-client';
import { Snapshot } from './snapshot';
import type { TikvTransport } from './transport';

/** Bytes of mutations per prewrite/commit request (client-go's txnCommitBatchSize). */
export const TXN_COMMIT_BATCH_SIZE = 16 * 1024;
/** Largest number of keys a transaction may commit with async commit (client-go's default). */
export const ASYNC_COMMIT_MAX_KEYS = 256;
/** Default lock TTLs in ms (client-rust): optimistic prewrites and pessimistic locks. */
export const DEFAULT_OPTIMISTIC_LOCK_TTL_MS = 3000n;
export const DEFAULT_PESSIMISTIC_LOCK_TTL_MS = 20000n;

/** Options of {@link TransactionClient.begin}. */
export interface TransactionOptions {
  /** Pessimistic: writes and {@link Transaction.lockKeys} take locks at once (waiting for other holders). */
  readonly pessimistic?: boolean;
  /** Async commit: the transaction is committed once every prewrite succeeded (one round trip less). */
  readonly asyncCommit?: boolean;
  /** 1PC: a transaction whose keys all live in one region commits in its prewrite. */
  readonly tryOnePc?: boolean;
  /** Lock TTL in ms (defaults: 3000 optimistic, 20000 pessimistic). */
  readonly lockTtlMs?: bigint;
  /** Interval of TxnHeartBeat while the transaction holds locks (default: half the TTL, at most 10 s). */
  readonly heartbeatIntervalMs?: number;
  /** Pessimistic lock wait on TiKV in ms per attempt (0: TiKV's default, negative: no wait). */
  readonly lockWaitTimeoutMs?: bigint;
}

type BufferedOp = 'put' | 'del' | 'insert' | 'lock';
interface Buffered {
  readonly key: Uint8Array;
  op: BufferedOp;
  value: Uint8Array;
}

type TxnState = 'active' | 'committing' | 'committed' | 'rolledBack';

/**
 * A Percolator transaction (snapshot isolation). Writes are buffered and sent at
 * {@link commit}: prewrite of every key (grouped by region, in parallel), then commit of the
 * primary key (the commit point), then of the secondaries. Reads see the transaction's own
 * writes, then the database at {@link startTs}.
 *
 * Pessimistic transactions lock keys when they are written (or {@link lockKeys}-ed), so the
 * commit cannot meet a write conflict on them; optimistic ones detect conflicts at commit
 * ({@link WriteConflictError}).
 */
export class Transaction {
  readonly startTs: bigint;
  readonly #cluster: KvCluster;
  readonly #resolver: LockResolver;
  readonly #snapshot: Snapshot;
  readonly #maxBackoffMs: number;
  readonly #pessimistic: boolean;
  readonly #asyncCommit: boolean;
  readonly #tryOnePc: boolean;
  readonly #lockTtlMs: bigint;
  readonly #heartbeatMs: number;
  readonly #lockWaitMs: bigint;
  readonly #buffer = new Map<string, Buffered>();
  /** Keys holding our pessimistic locks. */
  readonly #locked = new Map<string, Uint8Array>();
  #primary: Uint8Array | undefined;
  #forUpdateTs: bigint;
  #state: TxnState = 'active';
  #prewriteStarted = false;
  #heartbeat: TimerHandle | undefined;
  #commitTs: bigint | undefined;
  readonly #onFinish: ((t: Transaction) => void) | undefined;

  /** @internal made by {@link TransactionClient.begin} */
  constructor(cluster: KvCluster, resolver: LockResolver, startTs: bigint, maxBackoffMs: number, options: TransactionOptions, onFinish?: (t: Transaction) => void) {
    this.#onFinish = onFinish;
    this.#cluster = cluster;
    this.#resolver = resolver;
    this.startTs = startTs;
    this.#forUpdateTs = startTs;
    this.#maxBackoffMs = maxBackoffMs;
    this.#snapshot = new Snapshot(cluster, resolver, startTs, maxBackoffMs);
    this.#pessimistic = options.pessimistic ?? false;
    this.#asyncCommit = options.asyncCommit ?? false;
    this.#tryOnePc = options.tryOnePc ?? false;
    this.#lockTtlMs = options.lockTtlMs ?? (this.#pessimistic ? DEFAULT_PESSIMISTIC_LOCK_TTL_MS : DEFAULT_OPTIMISTIC_LOCK_TTL_MS);
    this.#heartbeatMs = options.heartbeatIntervalMs ?? Math.min(10000, Number(this.#lockTtlMs) / 2);
    this.#lockWaitMs = options.lockWaitTimeoutMs ?? 0n;
  }

  /** Whether the transaction is pessimistic. */
  get pessimistic(): boolean {
    return this.#pessimistic;
  }

  /** The commit ts once {@link commit} succeeded. */
  get commitTs(): bigint | undefined {
    return this.#commitTs;
  }

  #assertActive(): void {
    if (this.#state !== 'active') throw new InvalidStateError(`Transaction ${this.startTs} is ${this.#state}`);
  }

  #bo(): Backoffer {
    return new Backoffer(this.#cluster.clock, this.#maxBackoffMs);
  }

  /** The value of `key`: this transaction's own write, else the database at {@link startTs}. */
  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.#assertActive();
    const b = this.#buffer.get(toHex(key));
    if (b !== undefined && b.op !== 'lock') return b.op === 'del' ? undefined : b.value;
    return this.#snapshot.get(key);
  }

  /**
   * Locks `key` and returns its latest committed value (pessimistic: `KvPessimisticLock` with
   * `return_values`; optimistic: a read at {@link startTs} plus a lock mutation checked at commit).
   */
  async getForUpdate(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.#assertActive();
    if (!this.#pessimistic) {
      await this.lockKeys([key]);
      return this.get(key);
    }
    const values = await this.#lockPessimistic([key], true);
    const b = this.#buffer.get(toHex(key));
    if (b !== undefined && b.op !== 'lock') return b.op === 'del' ? undefined : b.value;
    return values.get(toHex(key));
  }

  /** The present pairs among `keys`, own writes included, in key order. */
  async batchGet(keys: readonly Uint8Array[]): Promise<KvPair[]> {
    this.#assertActive();
    const out: KvPair[] = [];
    const rest: Uint8Array[] = [];
    for (const k of keys) {
      const b = this.#buffer.get(toHex(k));
      if (b === undefined || b.op === 'lock') rest.push(k);
      else if (b.op !== 'del') out.push({ key: k, value: b.value });
    }
    out.push(...(await this.#snapshot.batchGet(rest)));
    return out.sort((a, b) => compareBytes(a.key, b.key));
  }

  /** Pairs of `[start, end)` (empty `end`: no bound) with own writes applied; see {@link Snapshot.scan}. */
  async scan(start: Uint8Array, end: Uint8Array, options: ScanOptions = {}): Promise<KvPair[]> {
    this.#assertActive();
    const inRange = (k: Uint8Array): boolean => compareBytes(k, start) >= 0 && (end.length === 0 || compareBytes(k, end) < 0);
    const own = [...this.#buffer.values()].filter((b) => b.op !== 'lock' && inRange(b.key));
    const deletes = own.filter((b) => b.op === 'del').length;
    const limit = options.limit ?? 10240;
    const base = await this.#snapshot.scan(start, end, { ...options, limit: limit + deletes });
    const merged = new Map<string, KvPair>();
    for (const p of base) merged.set(toHex(p.key), p);
    for (const b of own) {
      if (b.op === 'del') merged.delete(toHex(b.key));
      else merged.set(toHex(b.key), { key: b.key, value: options.keyOnly === true ? new Uint8Array(0) : b.value });
    }
    const sorted = [...merged.values()].sort((a, b) => compareBytes(a.key, b.key));
    if (options.reverse === true) sorted.reverse();
    return sorted.slice(0, limit);
  }

  /** Writes `key` (pessimistic: locks it first). */
  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    this.#assertActive();
    if (this.#pessimistic) await this.#lockPessimistic([key], false);
    this.#setBuffer(key, 'put', value);
  }

  /**
   * Writes `key` only if it does not exist.
   * @throws KeyExistsError at once (pessimistic) or at {@link commit} (optimistic) when it exists
   */
  async insert(key: Uint8Array, value: Uint8Array): Promise<void> {
    this.#assertActive();
    const h = toHex(key);
    const prev = this.#buffer.get(h);
    if (prev !== undefined && (prev.op === 'put' || prev.op === 'insert')) throw new KeyExistsError(key);
    if (prev?.op === 'del') {
      // Deleted in this transaction: the insert becomes a plain write.
      this.#setBuffer(key, 'put', value);
      return;
    }
    if (this.#pessimistic) {
      const values = await this.#lockPessimistic([key], true);
      if (values.get(h) !== undefined) throw new KeyExistsError(key);
    }
    this.#setBuffer(key, 'insert', value);
  }

  /** Deletes `key` (pessimistic: locks it first). */
  async delete(key: Uint8Array): Promise<void> {
    this.#assertActive();
    if (this.#pessimistic) await this.#lockPessimistic([key], false);
    this.#setBuffer(key, 'del', new Uint8Array(0));
  }

  /**
   * Locks `keys` without writing them: pessimistic transactions lock at once (waiting for
   * other holders, resolving dead ones); optimistic ones add lock mutations, so the commit
   * fails with {@link WriteConflictError} if another transaction wrote them after {@link startTs}.
   */
  async lockKeys(keys: readonly Uint8Array[]): Promise<void> {
    this.#assertActive();
    if (this.#pessimistic) {
      await this.#lockPessimistic(keys, false);
      return;
    }
    for (const k of keys) if (!this.#buffer.has(toHex(k))) this.#buffer.set(toHex(k), { key: k, op: 'lock', value: new Uint8Array(0) });
  }

  #setBuffer(key: Uint8Array, op: BufferedOp, value: Uint8Array): void {
    const h = toHex(key);
    const prev = this.#buffer.get(h);
    // An insert followed by a put stays an insert (the key must still not exist).
    const finalOp = prev?.op === 'insert' && op === 'put' ? 'insert' : op;
    this.#buffer.set(h, { key, op: finalOp, value });
  }

  /** Takes pessimistic locks on the keys not yet locked; returns the latest values when asked. */
  async #lockPessimistic(keys: readonly Uint8Array[], returnValues: boolean): Promise<Map<string, Uint8Array | undefined>> {
    const values = new Map<string, Uint8Array | undefined>();
    const need = keys.filter((k, i) => (returnValues || !this.#locked.has(toHex(k))) && keys.findIndex((x) => compareBytes(x, k) === 0) === i);
    if (need.length === 0) return values;
    if (this.#primary === undefined) this.#primary = need[0] as Uint8Array;
    const primary = this.#primary;
    const bo = this.#bo();
    for (let attempt = 0; ; attempt++) {
      const forUpdateTs = await this.#cluster.pd.getTimestamp();
      try {
        // The primary goes first, so no secondary lock exists without its primary.
        const first = this.#locked.has(toHex(primary)) ? [] : need.filter((k) => compareBytes(k, primary) === 0);
        const rest = need.filter((k) => !first.includes(k));
        for (const batch of [first, rest]) {
          const got = await this.#cluster.forEachRegion(
            batch,
            (k) => k,
            async (loc, ks) => {
              const r = await this.#cluster.send(
                loc,
                'kvPessimisticLock',
                (context) =>
                  kvrpcpb.PessimisticLockRequest.fromPartial({
                    context,
                    mutations: ks.map((key) => ({ op: kvrpcpb.Op.PessimisticLock, key })),
                    primaryLock: primary,
                    startVersion: this.startTs,
                    lockTtl: this.#elapsedMs() + this.#lockTtlMs,
                    forUpdateTs,
                    isFirstLock: this.#locked.size === 0 && ks.length === 1,
                    waitTimeout: this.#lockWaitMs,
                    returnValues,
                  }),
                bo,
              );
              if (r === undefined) return false;
              const locks = r.errors.flatMap((e) => (e.locked !== undefined ? [e.locked] : []));
              const other = r.errors.find((e) => e.locked === undefined);
              if (other !== undefined) throw keyErrorToError(other);
              if (locks.length > 0) {
                const waitMs = await this.#resolver.resolveLocks(locks, this.startTs, bo);
                if (waitMs > 0) await bo.backoff('txnLock', locks[0], { maxMs: waitMs });
                return false;
              }
              return ks.map((k, i) => [k, returnValues && r.notFounds[i] !== true ? (r.values[i] ?? new Uint8Array(0)) : undefined] as const);
            },
            bo,
          );
          for (const [k, v] of got) {
            this.#locked.set(toHex(k), k);
            values.set(toHex(k), v);
          }
          if (batch === first && first.length > 0) this.#startHeartbeat();
        }
        if (forUpdateTs > this.#forUpdateTs) this.#forUpdateTs = forUpdateTs;
        return values;
      } catch (e) {
        // A newer commit than our for-update ts: lock again on the latest version.
        if (e instanceof WriteConflictError && attempt < 10) {
          await bo.backoff('txnLock', e, { maxMs: 10 });
          continue;
        }
        throw e;
      }
    }
  }

  #elapsedMs(): bigint {
    const now = BigInt(Math.floor(this.#cluster.clock.nowMs()));
    const d = now - tsPhysicalMs(this.startTs);
    return d > 0n ? d : 0n;
  }

  #startHeartbeat(): void {
    if (this.#heartbeat !== undefined || this.#primary === undefined) return;
    const primary = this.#primary;
    const tick = (): void => {
      if (this.#state === 'committed' || this.#state === 'rolledBack') return;
      void (async () => {
        try {
          const bo = this.#bo();
          for (;;) {
            const loc = await this.#cluster.locate(primary);
            const r = await this.#cluster.send(
              loc,
              'kvTxnHeartBeat',
              (context) => kvrpcpb.TxnHeartBeatRequest.fromPartial({ context, primaryLock: primary, startVersion: this.startTs, adviseLockTtl: this.#elapsedMs() + this.#lockTtlMs }),
              bo,
            );
            if (r !== undefined) break;
          }
        } catch {
          // A missed heartbeat is retried on the next tick; the lock TTL covers the gap.
        }
        if (this.#state === 'active' || this.#state === 'committing') this.#heartbeat = this.#cluster.clock.setTimer(this.#heartbeatMs, tick);
      })();
    };
    this.#heartbeat = this.#cluster.clock.setTimer(this.#heartbeatMs, tick);
  }

  #stopHeartbeat(): void {
    this.#heartbeat?.cancel();
  }

  #mutations(): kvrpcpb.Mutation[] {
    const out: kvrpcpb.Mutation[] = [];
    const ops: Record<BufferedOp, kvrpcpb.Op> = { put: kvrpcpb.Op.Put, del: kvrpcpb.Op.Del, insert: kvrpcpb.Op.Insert, lock: kvrpcpb.Op.Lock };
    for (const b of this.#buffer.values()) out.push(kvrpcpb.Mutation.fromPartial({ op: ops[b.op], key: b.key, value: b.value }));
    for (const [h, k] of this.#locked) if (!this.#buffer.has(h)) out.push(kvrpcpb.Mutation.fromPartial({ op: kvrpcpb.Op.Lock, key: k }));
    return out.sort((a, b) => compareBytes(a.key, b.key));
  }

  /**
   * Commits: prewrite (1PC or async commit when enabled and possible), then the primary, then
   * the secondaries. A read-only transaction commits at once.
   * @returns the commit ts (the start ts when nothing was written)
   * @throws WriteConflictError, KeyExistsError, DeadlockError, TxnAbortedError (the transaction
   *   is rolled back); UndeterminedError when the primary's commit outcome is unknown
   */
  async commit(): Promise<bigint> {
    this.#assertActive();
    this.#state = 'committing';
    const mutations = this.#mutations();
    if (mutations.length === 0) {
      this.#finish('committed');
      this.#commitTs = this.startTs;
      return this.startTs;
    }
    const onlyLocks = mutations.every((m) => m.op === kvrpcpb.Op.Lock);
    if (onlyLocks && this.#pessimistic) {
      // Nothing to write: release the pessimistic locks.
      await this.#rollbackKeys().catch(() => undefined);
      this.#finish('committed');
      this.#commitTs = this.startTs;
      return this.startTs;
    }
    const primary = this.#primary ?? (mutations[0] as kvrpcpb.Mutation).key;
    this.#primary = primary;
    let committed = false;
    try {
      const bo = this.#bo();
      const groups = await this.#cluster.groupByRegion(mutations, (m) => m.key);
      const onePc = this.#tryOnePc && groups.length === 1 && mutations.reduce((s, m) => s + m.key.length + m.value.length, 0) <= TXN_COMMIT_BATCH_SIZE;
      const asyncCommit = !onePc && this.#asyncCommit && mutations.length <= ASYNC_COMMIT_MAX_KEYS;
      this.#prewriteStarted = true;
      this.#startHeartbeat();
      const maxCommitTs = asyncCommit || onePc ? (await this.#cluster.pd.getTimestamp()) + (2000n << 18n) : 0n;
      const results = await this.#prewrite(mutations, primary, { asyncCommit, onePc, maxCommitTs }, bo);
      if (onePc && results.every((r) => r.onePcCommitTs > 0n)) {
        committed = true;
        this.#commitTs = results.reduce((m, r) => (r.onePcCommitTs > m ? r.onePcCommitTs : m), 0n);
        this.#finish('committed');
        return this.#commitTs;
      }
      if (asyncCommit && results.every((r) => r.minCommitTs > 0n)) {
        // Committed once every prewrite succeeded: commit ts = the largest min commit ts.
        committed = true;
        const commitTs = results.reduce((m, r) => (r.minCommitTs > m ? r.minCommitTs : m), 0n);
        this.#commitTs = commitTs;
        this.#finish('committed');
        await this.#commitKeys(mutations.map((m) => m.key), commitTs, bo).catch(() => undefined);
        return commitTs;
      }
      let commitTs = await this.#cluster.pd.getTimestamp();
      for (;;) {
        const expired = await this.#commitPrimary(primary, commitTs, bo);
        if (expired === undefined) break;
        commitTs = await this.#cluster.pd.getTimestamp();
        if (commitTs <= expired) commitTs = expired;
      }
      committed = true;
      this.#commitTs = commitTs;
      this.#finish('committed');
      const secondaries = mutations.map((m) => m.key).filter((k) => compareBytes(k, primary) !== 0);
      // Secondaries: best effort (readers resolve what is left from the committed primary).
      await this.#commitKeys(secondaries, commitTs, this.#bo()).catch(() => undefined);
      return commitTs;
    } catch (e) {
      if (!committed && !(e instanceof UndeterminedError)) {
        await this.#rollbackKeys().catch(() => undefined);
        this.#finish('rolledBack');
      } else {
        this.#stopHeartbeat();
        this.#onFinish?.(this);
      }
      throw e;
    }
  }

  async #prewrite(mutations: kvrpcpb.Mutation[], primary: Uint8Array, mode: { asyncCommit: boolean; onePc: boolean; maxCommitTs: bigint }, bo: Backoffer): Promise<kvrpcpb.PrewriteResponse[]> {
    const txnSize = BigInt(mutations.length);
    const secondaries = mode.asyncCommit ? mutations.map((m) => m.key).filter((k) => compareBytes(k, primary) !== 0) : [];
    return this.#cluster.forEachRegion(
      mutations,
      (m) => m.key,
      async (loc, ms) => {
        const hasPrimary = ms.some((m) => compareBytes(m.key, primary) === 0);
        const r = await this.#cluster.send(
          loc,
          'kvPrewrite',
          (context) =>
            kvrpcpb.PrewriteRequest.fromPartial({
              context,
              mutations: ms,
              primaryLock: primary,
              startVersion: this.startTs,
              lockTtl: this.#elapsedMs() + this.#lockTtlMs,
              txnSize,
              forUpdateTs: this.#pessimistic ? this.#forUpdateTs : 0n,
              pessimisticActions: this.#pessimistic
                ? ms.map((m) => (this.#locked.has(toHex(m.key)) ? kvrpcpb.PrewriteRequest_PessimisticAction.DO_PESSIMISTIC_CHECK : kvrpcpb.PrewriteRequest_PessimisticAction.SKIP_PESSIMISTIC_CHECK))
                : [],
              minCommitTs: mode.asyncCommit || mode.onePc ? this.startTs + 1n : 0n,
              useAsyncCommit: mode.asyncCommit,
              secondaries: mode.asyncCommit && hasPrimary ? secondaries : [],
              tryOnePc: mode.onePc,
              maxCommitTs: mode.maxCommitTs,
            }),
          bo,
        );
        if (r === undefined) return false;
        const locks = r.errors.flatMap((e) => (e.locked !== undefined ? [e.locked] : []));
        const other = r.errors.find((e) => e.locked === undefined);
        if (other !== undefined) {
          if (other.commitTsTooLarge !== undefined) return [kvrpcpb.PrewriteResponse.fromPartial({ minCommitTs: 0n })];
          throw keyErrorToError(other);
        }
        if (locks.length > 0) {
          const waitMs = await this.#resolver.resolveLocks(locks, this.startTs, bo);
          if (waitMs > 0) await bo.backoff('txnLock', locks[0], { maxMs: waitMs });
          return false;
        }
        return [r];
      },
      bo,
      (ms) => splitBatches(ms, (m) => m.key.length + m.value.length, Infinity, mode.onePc ? Infinity : TXN_COMMIT_BATCH_SIZE),
    );
  }

  /** Commits the primary; returns the min commit ts when `commitTs` was too small, else undefined. */
  async #commitPrimary(primary: Uint8Array, commitTs: bigint, bo: Backoffer): Promise<bigint | undefined> {
    for (;;) {
      const loc = await this.#cluster.locate(primary);
      let r: kvrpcpb.CommitResponse | undefined;
      try {
        r = await this.#cluster.send(loc, 'kvCommit', (context) => kvrpcpb.CommitRequest.fromPartial({ context, keys: [primary], startVersion: this.startTs, commitVersion: commitTs }), bo);
      } catch (e) {
        if (e instanceof ClientError && !(e instanceof TxnAbortedError)) throw new UndeterminedError(`Commit of transaction ${this.startTs} may or may not have happened`, { cause: e });
        throw e;
      }
      if (r === undefined) continue;
      if (r.error !== undefined) {
        if (r.error.commitTsExpired !== undefined) return r.error.commitTsExpired.minCommitTs;
        const err = keyErrorToError(r.error);
        if (err instanceof TxnAbortedError || r.error.retryable !== '') throw new TxnAbortedError(`Transaction ${this.startTs} was rolled back before its commit: ${err.message}`, { cause: err });
        throw err;
      }
      return undefined;
    }
  }

  async #commitKeys(keys: readonly Uint8Array[], commitTs: bigint, bo: Backoffer): Promise<void> {
    await this.#cluster.forEachRegion(
      keys,
      (k) => k,
      async (loc, ks) => {
        const r = await this.#cluster.send(loc, 'kvCommit', (context) => kvrpcpb.CommitRequest.fromPartial({ context, keys: ks, startVersion: this.startTs, commitVersion: commitTs }), bo);
        if (r === undefined) return false;
        return [];
      },
      bo,
      (ks) => splitBatches(ks, (k) => k.length, Infinity, TXN_COMMIT_BATCH_SIZE),
    );
  }

  /** Rolls back every key this transaction may have locked or prewritten. */
  async #rollbackKeys(): Promise<void> {
    const bo = this.#bo();
    const locked = [...this.#locked.values()];
    if (locked.length > 0) {
      await this.#cluster.forEachRegion(
        locked,
        (k) => k,
        async (loc, ks) => {
          const r = await this.#cluster.send(loc, 'kvPessimisticRollback', (context) => kvrpcpb.PessimisticRollbackRequest.fromPartial({ context, startVersion: this.startTs, forUpdateTs: this.#forUpdateTs, keys: ks }), bo);
          return r === undefined ? false : [];
        },
        bo,
      );
    }
    if (this.#prewriteStarted) {
      const keys = this.#mutations().map((m) => m.key);
      await this.#cluster.forEachRegion(
        keys,
        (k) => k,
        async (loc, ks) => {
          const r = await this.#cluster.send(loc, 'kvBatchRollback', (context) => kvrpcpb.BatchRollbackRequest.fromPartial({ context, startVersion: this.startTs, keys: ks }), bo);
          return r === undefined ? false : [];
        },
        bo,
      );
    }
  }

  #finish(state: 'committed' | 'rolledBack'): void {
    this.#state = state;
    this.#stopHeartbeat();
    this.#onFinish?.(this);
  }

  /** @internal called by the client when it closes: no more heartbeats. */
  abandon(): void {
    if (this.#state === 'active' || this.#state === 'committing') this.#state = 'rolledBack';
    this.#stopHeartbeat();
  }

  /** Discards the writes and releases every lock taken. */
  async rollback(): Promise<void> {
    this.#assertActive();
    this.#finish('rolledBack');
    await this.#rollbackKeys();
  }
}

/**
 * The transactional client: begins transactions at a PD timestamp, takes snapshots, and runs
 * the GC helper. One instance is meant to be shared.
 */
export class TransactionClient {
  readonly #cluster: KvCluster;
  readonly #resolver: LockResolver;
  readonly #maxBackoffMs: number;
  readonly #owned: { pd?: PdClient; transport?: TikvTransport };
  readonly #active = new Set<Transaction>();
  #closed = false;

  /** Wraps an existing PD client (not closed by {@link close}). */
  constructor(pd: PdClient, options: ClientOptions = {}) {
    const clock = options.clock ?? new SystemClock();
    const transport = options.transport ?? defaultTransport(options, clock);
    this.#owned = options.transport === undefined ? { transport } : {};
    this.#cluster = new KvCluster({ pd, clock, transport, mode: 'txn', requestTimeoutMs: options.requestTimeoutMs ?? 20000 });
    this.#resolver = new LockResolver(this.#cluster);
    this.#maxBackoffMs = options.maxBackoffMs ?? 20000;
  }

  /**
   * Connects to PD at `pdUrls` and returns a client.
   * @throws PD client errors when no PD member answers
   */
  static async connect(pdUrls: readonly string[], options: ClientOptions = {}): Promise<TransactionClient> {
    const clock = options.clock ?? new SystemClock();
    const pd = await RpcPdClient.connect([...pdUrls], { clock });
    const c = new TransactionClient(pd, { ...options, clock });
    c.#owned.pd = pd;
    return c;
  }

  #check(): void {
    if (this.#closed) throw new InvalidStateError('TransactionClient is closed');
  }

  /** A fresh timestamp from PD (retried within the backoff budget on retryable PD errors). */
  async currentTimestamp(): Promise<bigint> {
    this.#check();
    const bo = new Backoffer(this.#cluster.clock, this.#maxBackoffMs);
    for (;;) {
      try {
        return await this.#cluster.pd.getTimestamp();
      } catch (e) {
        await bo.backoff('rpc', e);
      }
    }
  }

  /** Begins a transaction at a fresh start ts. */
  async begin(options: TransactionOptions = {}): Promise<Transaction> {
    const startTs = await this.currentTimestamp();
    const t = new Transaction(this.#cluster, this.#resolver, startTs, this.#maxBackoffMs, options, (x) => this.#active.delete(x));
    this.#active.add(t);
    return t;
  }

  /** A read-only view at `ts` (e.g. from {@link currentTimestamp}). */
  snapshot(ts: bigint): Snapshot {
    this.#check();
    return new Snapshot(this.#cluster, this.#resolver, ts, this.#maxBackoffMs);
  }

  /**
   * GC helper: resolves every lock older than `safePoint` (committing or rolling back its
   * transaction as its primary says), then asks PD to move the GC safe point to `safePoint`.
   * @returns the safe point PD holds afterwards (never lower than before)
   */
  async gc(safePoint: bigint): Promise<bigint> {
    this.#check();
    const bo = new Backoffer(this.#cluster.clock, Math.max(this.#maxBackoffMs, 60000));
    let cursor: Uint8Array = new Uint8Array(0);
    const limit = 1024;
    for (;;) {
      const loc = await this.#cluster.locate(cursor);
      const r = await this.#cluster.send(loc, 'kvScanLock', (context) => kvrpcpb.ScanLockRequest.fromPartial({ context, maxVersion: safePoint, startKey: cursor, endKey: loc.end, limit }), bo);
      if (r === undefined) continue;
      if (r.error !== undefined) throw keyErrorToError(r.error);
      if (r.locks.length > 0) {
        const waitMs = await this.#resolver.resolveLocks(r.locks, 0n, bo, { forGc: true });
        if (waitMs > 0) {
          await bo.backoff('txnLock', r.locks[0], { maxMs: waitMs });
          continue;
        }
      }
      if (r.locks.length >= limit) {
        cursor = keySuccessor((r.locks[r.locks.length - 1] as kvrpcpb.LockInfo).key);
        continue;
      }
      if (loc.end.length === 0) break;
      cursor = loc.end;
    }
    return this.#cluster.pd.updateGcSafePoint(safePoint);
  }

  /**
   * Closes the connections this client opened (and its PD client when made by {@link connect}).
   * Unfinished transactions stop their heartbeats (their locks expire and are resolved by others).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#active) t.abandon();
    this.#active.clear();
    this.#owned.transport?.close();
    await this.#owned.pd?.close();
  }
}
