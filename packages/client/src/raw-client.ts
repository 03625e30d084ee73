import { compareBytes } from '@tikv-ts/codec';
import { RpcPdClient, type PdClient } from '@tikv-ts/pd-client';
import { kvrpcpb } from '@tikv-ts/proto';
import type { Clock } from '@tikv-ts/util';
import { SystemClock } from '@tikv-ts/util/node';
import { Backoffer, KvCluster, splitBatches, type Location } from './cluster';
import { InvalidStateError, KvServerError } from './errors';
import { BatchCommandsTransport } from './batch-transport';
import { GrpcTransport, type TikvTransport } from './transport';

/** A key-value pair. */
export interface KvPair {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** Options shared by {@link RawClient.connect} and {@link TransactionClient.connect}. */
export interface ClientOptions {
  /** Time source for backoff, heartbeats and budgets (default: `SystemClock`). */
  readonly clock?: Clock;
  /**
   * How stores are reached. Default: a {@link BatchCommandsTransport} (TiKV's BatchCommands
   * stream, as client-go), or a {@link GrpcTransport} (one unary RPC per request) when
   * `batchCommands` is false. A given transport is not closed by the client's `close()`.
   */
  readonly transport?: TikvTransport;
  /** Whether the default transport uses the BatchCommands stream (default true); ignored when `transport` is given. */
  readonly batchCommands?: boolean;
  /** Deadline of one RPC attempt in ms (default 20000). */
  readonly requestTimeoutMs?: number;
  /** Total time one operation may spend backing off before it fails, in ms (default 20000). */
  readonly maxBackoffMs?: number;
}

/** client-go's raw batch limits: pairs per request and bytes per request. */
export const RAW_BATCH_PAIR_COUNT = 512;
export const RAW_BATCH_PUT_SIZE = 16 * 1024;
/** Largest `limit` of one scan (client-rust's cap). */
export const MAX_RAW_SCAN_LIMIT = 10240;

/** Options of {@link RawClient.scan}. */
export interface ScanOptions {
  /** At most this many pairs (default and cap {@link MAX_RAW_SCAN_LIMIT}). */
  readonly limit?: number;
  /** Return keys only (values are empty). */
  readonly keyOnly?: boolean;
  /** Descending order, from just below `end` down to `start`. */
  readonly reverse?: boolean;
}

/** Result of {@link RawClient.checksum}: TiKV's Crc64-XOR over the range. */
export interface RawChecksum {
  readonly crc64Xor: bigint;
  readonly totalKvs: bigint;
  readonly totalBytes: bigint;
}

/** Result of {@link RawClient.compareAndSwap}. */
export interface CasResult {
  /** Whether the swap happened. */
  readonly succeed: boolean;
  /** The value before the call (`undefined`: the key did not exist). */
  readonly previous: Uint8Array | undefined;
}

/**
 * The upper bound a reverse scan with an unbounded end starts below: TiKV reads nothing below
 * an empty upper bound, so "+∞" is approximated by 256 bytes of 0xff (keys above it are not seen).
 */
export const MAX_UPPER_BOUND = new Uint8Array(256).fill(0xff);

/**
 * The transport a client builds when none is given: {@link BatchCommandsTransport} on the
 * client's clock, or {@link GrpcTransport} when `options.batchCommands` is false.
 */
export function defaultTransport(options: ClientOptions, clock: Clock): TikvTransport {
  return options.batchCommands === false ? new GrpcTransport() : new BatchCommandsTransport({ clock });
}

function checkRawError(e: string): void {
  if (e !== '') throw new KvServerError(e);
}

/**
 * A raw (non-transactional) key-value client: each call is atomic per key, multi-key calls are
 * split by region and sent in parallel, and every retryable region error is retried with
 * backoff within `maxBackoffMs`.
 *
 * Raw and transactional data must not be mixed on the same keys (TiKV API V1).
 */
export class RawClient {
  readonly #cluster: KvCluster;
  readonly #maxBackoffMs: number;
  readonly #owned: { pd?: PdClient; transport?: TikvTransport };
  #closed = false;

  /** Wraps an existing PD client (not closed by {@link close}). */
  constructor(pd: PdClient, options: ClientOptions = {}) {
    const clock = options.clock ?? new SystemClock();
    const transport = options.transport ?? defaultTransport(options, clock);
    this.#owned = options.transport === undefined ? { transport } : {};
    this.#cluster = new KvCluster({ pd, clock, transport, mode: 'raw', requestTimeoutMs: options.requestTimeoutMs ?? 20000 });
    this.#maxBackoffMs = options.maxBackoffMs ?? 20000;
  }

  /**
   * Connects to PD at `pdUrls` (`http://host:port` or `host:port`) and returns a client.
   * @throws PD client errors when no PD member answers
   */
  static async connect(pdUrls: readonly string[], options: ClientOptions = {}): Promise<RawClient> {
    const clock = options.clock ?? new SystemClock();
    const pd = await RpcPdClient.connect([...pdUrls], { clock });
    const c = new RawClient(pd, { ...options, clock });
    c.#owned.pd = pd;
    return c;
  }

  #bo(): Backoffer {
    if (this.#closed) throw new InvalidStateError('RawClient is closed');
    return new Backoffer(this.#cluster.clock, this.#maxBackoffMs);
  }

  /** Retries `attempt` on a freshly located region until it answers. */
  async #single<R>(key: Uint8Array, attempt: (loc: Location, bo: Backoffer) => Promise<R | undefined>): Promise<R> {
    const bo = this.#bo();
    for (;;) {
      const loc = await this.#cluster.locate(key);
      const r = await attempt(loc, bo);
      if (r !== undefined) return r;
    }
  }

  /** The value of `key`, or `undefined` when absent (an empty value is not absence). */
  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const r = await this.#single(key, (loc, bo) => this.#cluster.send(loc, 'rawGet', (context) => kvrpcpb.RawGetRequest.fromPartial({ context, key }), bo));
    checkRawError(r.error);
    return r.notFound ? undefined : r.value;
  }

  /** The present pairs among `keys` (absent keys are left out), in key order. */
  async batchGet(keys: readonly Uint8Array[]): Promise<KvPair[]> {
    const bo = this.#bo();
    const pairs = await this.#cluster.forEachRegion(
      dedupe(keys),
      (k) => k,
      async (loc, ks) => {
        const r = await this.#cluster.send(loc, 'rawBatchGet', (context) => kvrpcpb.RawBatchGetRequest.fromPartial({ context, keys: ks }), bo);
        if (r === undefined) return false;
        for (const p of r.pairs) if (p.error !== undefined) throw new KvServerError(p.error.abort || 'raw batch get failed');
        return r.pairs.map((p) => ({ key: p.key, value: p.value }));
      },
      bo,
      (ks) => splitBatches(ks, () => 1, RAW_BATCH_PAIR_COUNT, Infinity),
    );
    return pairs.sort((a, b) => compareBytes(a.key, b.key));
  }

  /** Remaining time to live of `key` in seconds (0: no TTL), `undefined` when absent. */
  async getKeyTtl(key: Uint8Array): Promise<bigint | undefined> {
    const r = await this.#single(key, (loc, bo) => this.#cluster.send(loc, 'rawGetKeyTtl', (context) => kvrpcpb.RawGetKeyTTLRequest.fromPartial({ context, key }), bo));
    checkRawError(r.error);
    return r.notFound ? undefined : r.ttl;
  }

  /** Writes `key`; with `ttlSec` the key expires after that many seconds (needs TTL enabled on TiKV). */
  async put(key: Uint8Array, value: Uint8Array, options: { ttlSec?: bigint } = {}): Promise<void> {
    const r = await this.#single(key, (loc, bo) =>
      this.#cluster.send(loc, 'rawPut', (context) => kvrpcpb.RawPutRequest.fromPartial({ context, key, value, ttl: options.ttlSec ?? 0n }), bo),
    );
    checkRawError(r.error);
  }

  /** Writes every pair (split by region and into batches of 512 pairs / 16 KiB, sent in parallel). */
  async batchPut(pairs: readonly KvPair[], options: { ttlSec?: bigint } = {}): Promise<void> {
    const bo = this.#bo();
    await this.#cluster.forEachRegion(
      pairs,
      (p) => p.key,
      async (loc, ps) => {
        const r = await this.#cluster.send(
          loc,
          'rawBatchPut',
          (context) => kvrpcpb.RawBatchPutRequest.fromPartial({ context, pairs: ps.map((p) => ({ key: p.key, value: p.value })), ttls: options.ttlSec === undefined ? [] : [options.ttlSec] }),
          bo,
        );
        if (r === undefined) return false;
        checkRawError(r.error);
        return [];
      },
      bo,
      (ps) => splitBatches(ps, (p) => p.key.length + p.value.length, RAW_BATCH_PAIR_COUNT, RAW_BATCH_PUT_SIZE),
    );
  }

  /** Deletes `key` (absent keys are fine). */
  async delete(key: Uint8Array): Promise<void> {
    const r = await this.#single(key, (loc, bo) => this.#cluster.send(loc, 'rawDelete', (context) => kvrpcpb.RawDeleteRequest.fromPartial({ context, key }), bo));
    checkRawError(r.error);
  }

  /** Deletes every key of `keys` (split by region, in parallel). */
  async batchDelete(keys: readonly Uint8Array[]): Promise<void> {
    const bo = this.#bo();
    await this.#cluster.forEachRegion(
      dedupe(keys),
      (k) => k,
      async (loc, ks) => {
        const r = await this.#cluster.send(loc, 'rawBatchDelete', (context) => kvrpcpb.RawBatchDeleteRequest.fromPartial({ context, keys: ks }), bo);
        if (r === undefined) return false;
        checkRawError(r.error);
        return [];
      },
      bo,
      (ks) => splitBatches(ks, () => 1, RAW_BATCH_PAIR_COUNT, Infinity),
    );
  }

  /**
   * Pairs in `[start, end)` (empty `end`: to the last key) in ascending order, or descending
   * with `reverse`; at most `limit`.
   */
  async scan(start: Uint8Array, end: Uint8Array, options: ScanOptions = {}): Promise<KvPair[]> {
    const limit = Math.min(options.limit ?? MAX_RAW_SCAN_LIMIT, MAX_RAW_SCAN_LIMIT);
    const keyOnly = options.keyOnly ?? false;
    const out: KvPair[] = [];
    if (limit <= 0 || (end.length > 0 && compareBytes(start, end) >= 0)) return out;
    const bo = this.#bo();
    if (options.reverse !== true) {
      let cursor = start;
      for (;;) {
        const loc = await this.#cluster.locate(cursor);
        const want = limit - out.length;
        const r = await this.#cluster.send(loc, 'rawScan', (context) => kvrpcpb.RawScanRequest.fromPartial({ context, startKey: cursor, endKey: end, limit: want, keyOnly }), bo);
        if (r === undefined) continue;
        for (const p of r.kvs) out.push({ key: p.key, value: p.value });
        if (out.length >= limit || loc.end.length === 0 || (end.length > 0 && compareBytes(loc.end, end) >= 0)) return out;
        cursor = loc.end;
      }
    }
    let upper = end.length === 0 ? MAX_UPPER_BOUND : end;
    for (;;) {
      const loc = await this.#cluster.locateEnd(upper);
      const want = limit - out.length;
      const r = await this.#cluster.send(loc, 'rawScan', (context) => kvrpcpb.RawScanRequest.fromPartial({ context, startKey: upper, endKey: start, limit: want, keyOnly, reverse: true }), bo);
      if (r === undefined) continue;
      for (const p of r.kvs) out.push({ key: p.key, value: p.value });
      if (out.length >= limit || loc.start.length === 0 || compareBytes(loc.start, start) <= 0) return out;
      upper = loc.start;
    }
  }

  /** Deletes every key in `[start, end)` (empty `end`: to the last key), region by region. */
  async deleteRange(start: Uint8Array, end: Uint8Array): Promise<void> {
    if (end.length > 0 && compareBytes(start, end) >= 0) return;
    const bo = this.#bo();
    let cursor = start;
    for (;;) {
      const loc = await this.#cluster.locate(cursor);
      const regionEnd = loc.end;
      const clamped = regionEnd.length > 0 && (end.length === 0 || compareBytes(end, regionEnd) > 0) ? regionEnd : end;
      const r = await this.#cluster.send(loc, 'rawDeleteRange', (context) => kvrpcpb.RawDeleteRangeRequest.fromPartial({ context, startKey: cursor, endKey: clamped }), bo);
      if (r === undefined) continue;
      checkRawError(r.error);
      if (clamped === end) return;
      cursor = regionEnd;
    }
  }

  /**
   * Atomically sets `key` to `value` if its current value
   * equals `expected` (`undefined`: the key must be absent). Compare-and-swap is only atomic
   * against other compare-and-swap calls on TiKV (its "atomic mode").
   */
  async compareAndSwap(key: Uint8Array, expected: Uint8Array | undefined, value: Uint8Array, options: { ttlSec?: bigint } = {}): Promise<CasResult> {
    const r = await this.#single(key, (loc, bo) =>
      this.#cluster.send(
        loc,
        'rawCompareAndSwap',
        (context) =>
          kvrpcpb.RawCASRequest.fromPartial({
            context,
            key,
            value,
            previousNotExist: expected === undefined,
            previousValue: expected ?? new Uint8Array(0),
            ttl: options.ttlSec ?? 0n,
          }),
        bo,
      ),
    );
    checkRawError(r.error);
    return { succeed: r.succeed, previous: r.previousNotExist ? undefined : r.previousValue };
  }

  /** TiKV's raw checksum (Crc64-XOR, pair count, bytes) of `[start, end)`, combined over regions. */
  async checksum(start: Uint8Array, end: Uint8Array): Promise<RawChecksum> {
    let crc = 0n;
    let kvs = 0n;
    let bytes = 0n;
    const bo = this.#bo();
    let cursor = start;
    for (;;) {
      const loc = await this.#cluster.locate(cursor);
      const regionEnd = loc.end;
      const clamped = regionEnd.length > 0 && (end.length === 0 || compareBytes(end, regionEnd) > 0) ? regionEnd : end;
      const r = await this.#cluster.send(
        loc,
        'rawChecksum',
        (context) => kvrpcpb.RawChecksumRequest.fromPartial({ context, algorithm: kvrpcpb.ChecksumAlgorithm.Crc64_Xor, ranges: [{ startKey: cursor, endKey: clamped }] }),
        bo,
      );
      if (r === undefined) continue;
      checkRawError(r.error);
      crc ^= r.checksum;
      kvs += r.totalKvs;
      bytes += r.totalBytes;
      if (clamped === end) return { crc64Xor: crc, totalKvs: kvs, totalBytes: bytes };
      cursor = regionEnd;
    }
  }

  /** Closes the connections this client opened (and its PD client when made by {@link connect}). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#owned.transport?.close();
    await this.#owned.pd?.close();
  }
}

function dedupe(keys: readonly Uint8Array[]): Uint8Array[] {
  const sorted = [...keys].sort(compareBytes);
  return sorted.filter((k, i) => i === 0 || compareBytes(k, sorted[i - 1] as Uint8Array) !== 0);
}
