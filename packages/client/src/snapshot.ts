import { compareBytes, keySuccessor } from '@tikv-ts/codec';
import { kvrpcpb } from '@tikv-ts/proto';
import type { KvCluster} from './cluster';
import { Backoffer, splitBatches } from './cluster';
import { keyErrorToError } from './errors';
import type { LockResolver } from './lock-resolver';
import { MAX_RAW_SCAN_LIMIT, MAX_UPPER_BOUND, type KvPair, type ScanOptions } from './raw-client';

/** Keys per `KvBatchGet` request (client-go's batch get size). */
export const TXN_BATCH_GET_SIZE = 5120;

/**
 * A consistent read-only view of the database at timestamp `ts` (snapshot isolation): every
 * read sees exactly the transactions committed before `ts`. Locks met on the way are resolved
 * (committed or rolled back when their owner is gone, waited for while it is alive).
 */
export class Snapshot {
  readonly ts: bigint;
  readonly #cluster: KvCluster;
  readonly #resolver: LockResolver;
  readonly #maxBackoffMs: number;

  /** @internal made by {@link TransactionClient.snapshot} and transactions */
  constructor(cluster: KvCluster, resolver: LockResolver, ts: bigint, maxBackoffMs: number) {
    this.#cluster = cluster;
    this.#resolver = resolver;
    this.ts = ts;
    this.#maxBackoffMs = maxBackoffMs;
  }

  #bo(): Backoffer {
    return new Backoffer(this.#cluster.clock, this.#maxBackoffMs);
  }

  /** Resolves the locks; waits (within the budget) when one still blocks. */
  async #resolve(locks: kvrpcpb.LockInfo[], bo: Backoffer): Promise<void> {
    const waitMs = await this.#resolver.resolveLocks(locks, this.ts, bo);
    if (waitMs > 0) await bo.backoff('txnLock', locks[0], { maxMs: waitMs });
  }

  /** The value of `key` at {@link ts}, or `undefined`. */
  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const bo = this.#bo();
    for (;;) {
      const loc = await this.#cluster.locate(key);
      const r = await this.#cluster.send(loc, 'kvGet', (context) => kvrpcpb.GetRequest.fromPartial({ context, key, version: this.ts }), bo);
      if (r === undefined) continue;
      if (r.error !== undefined) {
        if (r.error.locked !== undefined) {
          await this.#resolve([r.error.locked], bo);
          continue;
        }
        throw keyErrorToError(r.error);
      }
      return r.notFound ? undefined : r.value;
    }
  }

  /** The present pairs among `keys` at {@link ts}, in key order. */
  async batchGet(keys: readonly Uint8Array[]): Promise<KvPair[]> {
    const bo = this.#bo();
    const pairs = await this.#cluster.forEachRegion(
      keys,
      (k) => k,
      async (loc, ks) => {
        const r = await this.#cluster.send(loc, 'kvBatchGet', (context) => kvrpcpb.BatchGetRequest.fromPartial({ context, keys: ks, version: this.ts }), bo);
        if (r === undefined) return false;
        if (r.error !== undefined) {
          if (r.error.locked === undefined) throw keyErrorToError(r.error);
          await this.#resolve([r.error.locked], bo);
          return false;
        }
        const locks: kvrpcpb.LockInfo[] = [];
        const out: KvPair[] = [];
        for (const p of r.pairs) {
          if (p.error !== undefined) {
            if (p.error.locked === undefined) throw keyErrorToError(p.error);
            locks.push(p.error.locked);
          } else out.push({ key: p.key, value: p.value });
        }
        if (locks.length > 0) {
          await this.#resolve(locks, bo);
          return false;
        }
        return out;
      },
      bo,
      (ks) => splitBatches(ks, () => 1, TXN_BATCH_GET_SIZE, Infinity),
    );
    return pairs.sort((a, b) => compareBytes(a.key, b.key));
  }

  /** Pairs of `[start, end)` at {@link ts} (empty `end`: no bound), ascending or with `reverse` descending; at most `limit` (default and cap 10240). */
  async scan(start: Uint8Array, end: Uint8Array, options: ScanOptions = {}): Promise<KvPair[]> {
    const limit = Math.min(options.limit ?? MAX_RAW_SCAN_LIMIT, MAX_RAW_SCAN_LIMIT);
    const keyOnly = options.keyOnly ?? false;
    const reverse = options.reverse === true;
    const out: KvPair[] = [];
    if (limit <= 0 || (end.length > 0 && compareBytes(start, end) >= 0)) return out;
    const bo = this.#bo();
    // Forward: `cursor` is the inclusive lower bound; reverse: the exclusive upper bound.
    let cursor = reverse ? (end.length === 0 ? MAX_UPPER_BOUND : end) : start;
    for (;;) {
      const loc = reverse ? await this.#cluster.locateEnd(cursor) : await this.#cluster.locate(cursor);
      const want = limit - out.length;
      const r = await this.#cluster.send(
        loc,
        'kvScan',
        (context) =>
          kvrpcpb.ScanRequest.fromPartial(
            reverse ? { context, startKey: cursor, endKey: start, limit: want, version: this.ts, keyOnly, reverse: true } : { context, startKey: cursor, endKey: end, limit: want, version: this.ts, keyOnly },
          ),
        bo,
      );
      if (r === undefined) continue;
      if (r.error !== undefined) {
        if (r.error.locked === undefined) throw keyErrorToError(r.error);
        await this.#resolve([r.error.locked], bo);
        continue;
      }
      const locks = r.pairs.flatMap((p) => (p.error?.locked !== undefined ? [p.error.locked] : []));
      const other = r.pairs.find((p) => p.error !== undefined && p.error.locked === undefined);
      if (other?.error !== undefined) throw keyErrorToError(other.error);
      if (locks.length > 0) {
        // Keep the pairs before the first lock, resolve, and continue from the locked key.
        const before = out.length;
        for (const p of r.pairs) {
          if (p.error !== undefined) break;
          out.push({ key: p.key, value: p.value });
        }
        await this.#resolve(locks, bo);
        const last = out[out.length - 1];
        if (last !== undefined && out.length > before) cursor = reverse ? last.key : keySuccessor(last.key);
        continue;
      }
      for (const p of r.pairs) out.push({ key: p.key, value: p.value });
      if (out.length >= limit) return out;
      if (reverse) {
        if (loc.start.length === 0 || compareBytes(loc.start, start) <= 0) return out;
        cursor = loc.start;
      } else {
        if (loc.end.length === 0 || (end.length > 0 && compareBytes(loc.end, end) >= 0)) return out;
        cursor = loc.end;
      }
    }
  }
}
