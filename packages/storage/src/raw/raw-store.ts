import { compareBytes } from '@tikv-ts/codec';
import type { CfName, EngineIterator, IterOptions } from '@tikv-ts/engine-traits';
import { kvrpcpb } from '@tikv-ts/proto';
import type { Clock } from '@tikv-ts/util';
import type { Engine, EngineContext, EngineSnapshot, Modify } from '../engine';
import { Crc64Xz } from './crc64';
import {
  ApiVersionNotMatchedError,
  InvalidCfError,
  InvalidDeleteRangeError,
  InvalidKeyRangesError,
  KeyTooLargeError,
  ScanLimitExceededError,
  TtlLenNotEqualsToPairsError,
  TtlNotEnabledError,
  UnknownChecksumAlgorithmError,
  type RawCommandKind,
} from './errors';
import { RawLatches } from './raw-latches';
import { U64_MAX, decodeTtlValue, encodeTtlValue, isExpired, ttlToExpireTs } from './raw-value';

/** TiKV's default `storage.max-key-size` (8 KiB). */
export const DEFAULT_MAX_KEY_SIZE_BYTES = 8 * 1024;

const EMPTY = new Uint8Array(0);
/** Entries read from the engine per iterator step. */
const CHUNK = 1024;

/** Options of {@link RawStore}. */
export interface RawStoreOptions {
  /** What raw data is read from and written through (keys are raw keys, in CF default unless `cf`). */
  readonly engine: Engine;
  /** Wall clock for TTL: expire timestamps are unix seconds of `clock.nowMs()`, as in TiKV. */
  readonly clock: Clock;
  /**
   * The storage's API version (TiKV `storage.api-version`): `V1` (default) or `V1TTL`. `V2` is not
   * supported (the constructor throws a RangeError).
   */
  readonly apiVersion?: kvrpcpb.APIVersion;
  /** TiKV `storage.enable-ttl`: with `V1` the storage behaves as `V1TTL`. Default false. */
  readonly enableTtl?: boolean;
  /** TiKV `storage.max-key-size`: longer keys are refused by writes. Default 8192. */
  readonly maxKeySizeBytes?: number;
  /**
   * Refuse scans whose `limit` (or batch scan `eachLimit`) exceeds this. Default: no cap, as TiKV
   * (clients cap themselves at 10240).
   */
  readonly maxScanLimit?: number;
}

/**
 * The request context a raw command needs: the region context of the {@link Engine} plus the
 * client's `api_version`. Any `kvrpcpb.Context` fits. An absent `apiVersion` means `V1`.
 */
export type RawContext = EngineContext & { readonly apiVersion?: kvrpcpb.APIVersion };

/** A raw key/value pair. Returned arrays may be views into engine memory: do not mutate them. */
export interface RawKvPair {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** A key range `[startKey, endKey)`; an empty or absent `endKey` is unbounded (see each method). */
export interface RawKeyRange {
  readonly startKey: Uint8Array;
  readonly endKey?: Uint8Array;
}

/** Column family of a raw request: `""`/absent (default), `"default"`, `"lock"` or `"write"`. */
interface CfArg {
  readonly cf?: string;
}

/** Arguments of {@link RawStore.get} (a structural subset of `kvrpcpb.RawGetRequest`). */
export interface RawGetArgs extends CfArg {
  readonly key: Uint8Array;
}
/** Arguments of {@link RawStore.batchGet} (`kvrpcpb.RawBatchGetRequest`). */
export interface RawBatchGetArgs extends CfArg {
  readonly keys: readonly Uint8Array[];
}
/** Arguments of {@link RawStore.put} (`kvrpcpb.RawPutRequest`). */
export interface RawPutArgs extends CfArg {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** Seconds to live; 0 (default) = forever. Non-zero needs TTL enabled. */
  readonly ttl?: bigint;
  /** TiKV's atomic mode (`for_cas`): only changes the command name in errors, as every write is latched here. */
  readonly forCas?: boolean;
}
/** Arguments of {@link RawStore.batchPut} (`kvrpcpb.RawBatchPutRequest`). */
export interface RawBatchPutArgs extends CfArg {
  readonly pairs: readonly RawKvPair[];
  /** Empty: no TTL; one entry: applies to every pair; else one per pair. */
  readonly ttls?: readonly bigint[];
  readonly forCas?: boolean;
}
/** Arguments of {@link RawStore.delete} (`kvrpcpb.RawDeleteRequest`). */
export interface RawDeleteArgs extends CfArg {
  readonly key: Uint8Array;
  readonly forCas?: boolean;
}
/** Arguments of {@link RawStore.batchDelete} (`kvrpcpb.RawBatchDeleteRequest`). */
export interface RawBatchDeleteArgs extends CfArg {
  readonly keys: readonly Uint8Array[];
  readonly forCas?: boolean;
}
/** Arguments of {@link RawStore.deleteRange} (`kvrpcpb.RawDeleteRangeRequest`). Empty `endKey`: unbounded. */
export interface RawDeleteRangeArgs extends CfArg {
  readonly startKey: Uint8Array;
  readonly endKey?: Uint8Array;
}
/** Arguments of {@link RawStore.scan} (`kvrpcpb.RawScanRequest`). */
export interface RawScanArgs extends CfArg {
  /** Forward: inclusive lower bound. Reverse: exclusive upper bound (an empty one matches nothing, as in TiKV). */
  readonly startKey: Uint8Array;
  /** Forward: exclusive upper bound. Reverse: inclusive lower bound. Empty/absent: unbounded. */
  readonly endKey?: Uint8Array;
  /** At most this many pairs (a non-negative integer; 0 returns none). */
  readonly limit: number;
  /** Return empty values. */
  readonly keyOnly?: boolean;
  /** Descending scan of `[endKey, startKey)`. */
  readonly reverse?: boolean;
}
/** Arguments of {@link RawStore.batchScan} (`kvrpcpb.RawBatchScanRequest`). */
export interface RawBatchScanArgs extends CfArg {
  /** An empty `endKey` of a range that is not the last means "up to the next range's start". */
  readonly ranges: readonly RawKeyRange[];
  /** At most this many pairs per range. */
  readonly eachLimit: number;
  readonly keyOnly?: boolean;
  readonly reverse?: boolean;
}
/** Arguments of {@link RawStore.getKeyTtl} (`kvrpcpb.RawGetKeyTTLRequest`). */
export interface RawGetKeyTtlArgs extends CfArg {
  readonly key: Uint8Array;
}
/** Arguments of {@link RawStore.compareAndSwap} (`kvrpcpb.RawCASRequest`). */
export interface RawCasArgs extends CfArg {
  readonly key: Uint8Array;
  /** The value to write when the comparison holds. */
  readonly value: Uint8Array;
  /** Expect the key to be absent (then `previousValue` is ignored). */
  readonly previousNotExist?: boolean;
  /** The expected current value (default empty) when `previousNotExist` is not set. */
  readonly previousValue?: Uint8Array;
  readonly ttl?: bigint;
}
/** Result of {@link RawStore.compareAndSwap}. */
export interface RawCasResult {
  /** Whether the comparison held and `value` was written. */
  readonly succeed: boolean;
  /** The value seen before the swap (whether or not it succeeded); undefined = absent. */
  readonly previousValue: Uint8Array | undefined;
}
/** Arguments of {@link RawStore.checksum} (`kvrpcpb.RawChecksumRequest`). */
export interface RawChecksumArgs {
  /** Only `Crc64_Xor` (the default) exists. */
  readonly algorithm?: kvrpcpb.ChecksumAlgorithm;
  /** Forward ranges `[startKey, endKey)`, empty `endKey` unbounded. */
  readonly ranges: readonly RawKeyRange[];
}
/** Result of {@link RawStore.checksum}. */
export interface RawChecksumResult {
  /** XOR over the pairs of CRC-64/XZ(key ‖ value). */
  readonly checksum: bigint;
  readonly totalKvs: bigint;
  /** Σ (key length + value length). */
  readonly totalBytes: bigint;
}
/** Options of {@link RawStore.compactExpired}. */
export interface RawCompactExpiredOptions extends CfArg {
  /** Inclusive start (default: all keys). */
  readonly startKey?: Uint8Array;
  /** Exclusive end; empty/absent: unbounded. */
  readonly endKey?: Uint8Array;
  /** Keys deleted per engine write (default 256). */
  readonly batchSize?: number;
}

function checkCount(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer, got ${n}`);
}

function checkTtl(ttl: bigint): void {
  if (ttl < 0n || ttl > U64_MAX) throw new RangeError(`TTL ${ttl} is not a uint64`);
}

function isEmpty(k: Uint8Array | undefined): k is undefined {
  return k === undefined || k.length === 0;
}

function bounds(lower: Uint8Array | undefined, upper: Uint8Array | undefined): IterOptions {
  const o: { lowerBound?: Uint8Array; upperBound?: Uint8Array } = {};
  if (!isEmpty(lower)) o.lowerBound = lower;
  if (!isEmpty(upper)) o.upperBound = upper;
  return o;
}

/**
 * TiKV's raw KV API (API V1 and V1TTL) on an {@link Engine}: what the server's `Raw*` RPCs call.
 *
 * Storage layout: raw keys are stored as given in the requested CF (default unless the request
 * names `lock` or `write`); the `z` data prefix is the engine's business. With TTL (API V1TTL, or
 * V1 with `enableTtl`) every value is stored as `value ‖ 8-byte big-endian expire ts` (unix seconds,
 * 0 = none); expired values are invisible to every read and are removed by {@link compactExpired}
 * (TiKV drops them in a RocksDB compaction filter).
 *
 * Concurrency: reads run on an engine snapshot taken when they start. Every write is serialized
 * per key through {@link RawLatches} (delete range excludes all writers), and a write's latches
 * are held until the engine write resolved, so {@link compareAndSwap} is atomic against every
 * other raw write of this store. Writes through other stores or paths on the same keys are not
 * covered.
 *
 * Errors: TiKV's checks in TiKV's order per command, as the typed errors of `./errors` (their
 * messages are TiKV's `error` strings); engine and region errors pass through unchanged. Argument
 * values outside the protocol (negative limits, TTLs outside uint64) throw RangeError.
 */
export class RawStore {
  readonly #engine: Engine;
  readonly #clock: Clock;
  readonly #apiVersion: kvrpcpb.APIVersion;
  readonly #ttl: boolean;
  readonly #maxKeySize: number;
  readonly #maxScanLimit: number | undefined;
  readonly #latches = new RawLatches();

  constructor(options: RawStoreOptions) {
    const v = options.apiVersion ?? kvrpcpb.APIVersion.V1;
    if (v === kvrpcpb.APIVersion.V2) throw new RangeError('Raw KV storage with API V2 is not supported');
    if (v !== kvrpcpb.APIVersion.V1 && v !== kvrpcpb.APIVersion.V1TTL) throw new RangeError(`Unknown API version ${v}`);
    this.#engine = options.engine;
    this.#clock = options.clock;
    this.#ttl = v === kvrpcpb.APIVersion.V1TTL || options.enableTtl === true;
    this.#apiVersion = this.#ttl ? kvrpcpb.APIVersion.V1TTL : kvrpcpb.APIVersion.V1;
    this.#maxKeySize = options.maxKeySizeBytes ?? DEFAULT_MAX_KEY_SIZE_BYTES;
    checkCount('maxKeySizeBytes', this.#maxKeySize);
    this.#maxScanLimit = options.maxScanLimit;
    if (this.#maxScanLimit !== undefined) checkCount('maxScanLimit', this.#maxScanLimit);
  }

  /** The effective storage API version: `V1`, or `V1TTL` when TTL is enabled. */
  get apiVersion(): kvrpcpb.APIVersion {
    return this.#apiVersion;
  }

  /** Whether values carry TTLs (API V1TTL). */
  get isTtlEnabled(): boolean {
    return this.#ttl;
  }

  /** The latches serializing raw writes (exposed for tests and metrics). */
  get latches(): RawLatches {
    return this.#latches;
  }

  // ---- reads ----

  /** `RawGet`: the value of `key`, or undefined when absent (or expired). An empty value is a value. */
  async get(ctx: RawContext, args: RawGetArgs): Promise<Uint8Array | undefined> {
    this.#checkApiVersion(ctx, 'raw_get');
    const cf = rawCf(args.cf);
    return this.#withSnapshot(ctx, async (snap, now) => {
      const stored = await snap.get(cf, args.key);
      return stored === undefined ? undefined : this.#visible(args.key, stored, now);
    });
  }

  /** `RawBatchGet`: the pairs of the keys that exist, in request order (duplicates repeated). */
  async batchGet(ctx: RawContext, args: RawBatchGetArgs): Promise<RawKvPair[]> {
    this.#checkApiVersion(ctx, 'raw_batch_get');
    const cf = rawCf(args.cf);
    return this.#withSnapshot(ctx, async (snap, now) => {
      // Issued together, so an engine that batches point reads (engine-rocks) sends one read.
      const stored = await Promise.all(args.keys.map((key) => snap.get(cf, key)));
      const out: RawKvPair[] = [];
      args.keys.forEach((key, i) => {
        const s = stored[i];
        const value = s === undefined ? undefined : this.#visible(key, s, now);
        if (value !== undefined) out.push({ key, value });
      });
      return out;
    });
  }

  /**
   * `RawScan`: at most `limit` pairs of `[startKey, endKey)` ascending, or with `reverse` of
   * `[endKey, startKey)` descending. Expired pairs are skipped.
   * @throws InvalidKeyRangesError when both bounds are non-empty and inverted
   * @throws ScanLimitExceededError when `limit` exceeds the configured `maxScanLimit`
   */
  async scan(ctx: RawContext, args: RawScanArgs): Promise<RawKvPair[]> {
    this.#checkApiVersion(ctx, 'raw_scan');
    const cf = rawCf(args.cf);
    this.#checkScanLimit(args.limit);
    const reverse = args.reverse === true;
    if (!isEmpty(args.endKey) && args.startKey.length > 0) {
      const c = compareBytes(args.startKey, args.endKey);
      if (reverse ? c < 0 : c > 0) throw new InvalidKeyRangesError();
    }
    return this.#withSnapshot(ctx, (snap, now) =>
      this.#scanRange(snap, cf, args.startKey, args.endKey, args.limit, reverse, args.keyOnly === true, now),
    );
  }

  /**
   * `RawBatchScan`: each range scanned as by {@link scan} with `eachLimit`, results concatenated
   * in range order. A range with an empty `endKey` ends at the next range's start (the last one is
   * unbounded).
   * @throws InvalidKeyRangesError as TiKV's `check_key_ranges`: a range with a non-empty
   *   (effective) end whose start is not below it (forward) or not above it (reverse)
   */
  async batchScan(ctx: RawContext, args: RawBatchScanArgs): Promise<RawKvPair[]> {
    this.#checkApiVersion(ctx, 'raw_batch_scan');
    const cf = rawCf(args.cf);
    this.#checkScanLimit(args.eachLimit);
    const reverse = args.reverse === true;
    const ranges = args.ranges;
    const ends: (Uint8Array | undefined)[] = ranges.map((r, i) => {
      if (!isEmpty(r.endKey)) return r.endKey;
      const next = ranges[i + 1];
      return next === undefined ? undefined : next.startKey;
    });
    ranges.forEach((r, i) => {
      const end = ends[i];
      if (isEmpty(end)) return;
      const c = compareBytes(r.startKey, end);
      if (reverse ? c <= 0 : c >= 0) throw new InvalidKeyRangesError();
    });
    return this.#withSnapshot(ctx, async (snap, now) => {
      const out: RawKvPair[] = [];
      for (let i = 0; i < ranges.length; i++) {
        const r = ranges[i] as RawKeyRange;
        const part = await this.#scanRange(snap, cf, r.startKey, ends[i], args.eachLimit, reverse, args.keyOnly === true, now);
        for (const p of part) out.push(p);
      }
      return out;
    });
  }

  /**
   * `RawGetKeyTTL`: the remaining seconds to live of `key`, 0 when it has no TTL, undefined when
   * absent or expired. Without TTL (API V1) every existing key reports 0.
   */
  async getKeyTtl(ctx: RawContext, args: RawGetKeyTtlArgs): Promise<bigint | undefined> {
    this.#checkApiVersion(ctx, 'raw_get_key_ttl');
    const cf = rawCf(args.cf);
    return this.#withSnapshot(ctx, async (snap, now) => {
      const stored = await snap.get(cf, args.key);
      if (stored === undefined) return undefined;
      if (!this.#ttl) return 0n;
      const { expireTs } = decodeTtlValue(args.key, stored);
      if (expireTs === 0n) return 0n;
      return isExpired(expireTs, now) ? undefined : expireTs - now;
    });
  }

  /**
   * `RawChecksum` (`Crc64_Xor`): over the visible pairs of every range, XOR of CRC-64/XZ(key ‖
   * value), the number of pairs and their bytes. Ranges are read from one snapshot; overlapping
   * ranges count their pairs twice, as in TiKV.
   * @throws UnknownChecksumAlgorithmError for another algorithm
   */
  async checksum(ctx: RawContext, args: RawChecksumArgs): Promise<RawChecksumResult> {
    const algorithm = args.algorithm ?? kvrpcpb.ChecksumAlgorithm.Crc64_Xor;
    if (algorithm !== kvrpcpb.ChecksumAlgorithm.Crc64_Xor) throw new UnknownChecksumAlgorithmError(algorithm);
    this.#checkApiVersion(ctx, 'raw_checksum');
    return this.#withSnapshot(ctx, async (snap, now) => {
      let checksum = 0n;
      let totalKvs = 0n;
      let totalBytes = 0;
      for (const r of args.ranges) {
        const it = snap.iterator('default', bounds(r.startKey, r.endKey));
        try {
          await it.seekToFirst();
          for (;;) {
            const chunk = await it.nextv(CHUNK);
            if (chunk.length === 0) break;
            for (const e of chunk) {
              const v = this.#visible(e.key, e.value, now);
              if (v === undefined) continue;
              checksum ^= new Crc64Xz().update(e.key).update(v).digest();
              totalKvs++;
              totalBytes += e.key.length + v.length;
            }
          }
        } finally {
          it.close();
        }
      }
      return { checksum, totalKvs, totalBytes: BigInt(totalBytes) };
    });
  }

  // ---- writes ----

  /**
   * `RawPut`: sets `key` to `value`, with `ttl` seconds to live when TTL is enabled.
   * @throws KeyTooLargeError, TtlNotEnabledError, InvalidCfError, ApiVersionNotMatchedError
   */
  async put(ctx: RawContext, args: RawPutArgs): Promise<void> {
    const ttl = args.ttl ?? 0n;
    checkTtl(ttl);
    this.#checkApiVersion(ctx, args.forCas === true ? 'raw_atomic_store' : 'raw_put');
    this.#checkKeySize([args.key]);
    if (!this.#ttl && ttl !== 0n) throw new TtlNotEnabledError();
    const cf = rawCf(args.cf);
    await this.#latched(ctx, [args.key], () => [this.#putModify(cf, args.key, args.value, ttl, this.#nowSec())]);
  }

  /**
   * `RawBatchPut`: sets every pair in one atomic engine write (a later pair of the same key wins).
   * `ttls`: empty = no TTL, one entry = for every pair, else one per pair.
   * @throws TtlNotEnabledError when a TTL is non-zero without TTL enabled
   * @throws TtlLenNotEqualsToPairsError when `ttls` has another length
   */
  async batchPut(ctx: RawContext, args: RawBatchPutArgs): Promise<void> {
    const given = args.ttls ?? [];
    for (const t of given) checkTtl(t);
    this.#checkApiVersion(ctx, args.forCas === true ? 'raw_atomic_store' : 'raw_batch_put');
    const cf = rawCf(args.cf);
    const keys = args.pairs.map((p) => p.key);
    this.#checkKeySize(keys);
    if (!this.#ttl && given.some((t) => t !== 0n)) throw new TtlNotEnabledError();
    let ttls: readonly bigint[];
    if (given.length === 0) ttls = args.pairs.map(() => 0n);
    else if (given.length === 1) ttls = args.pairs.map(() => given[0] as bigint);
    else if (given.length === args.pairs.length) ttls = given;
    else throw new TtlLenNotEqualsToPairsError(given.length, args.pairs.length);
    await this.#latched(ctx, keys, () => {
      const now = this.#nowSec();
      return args.pairs.map((p, i) => this.#putModify(cf, p.key, p.value, ttls[i] as bigint, now));
    });
  }

  /** `RawDelete`: removes `key` (a no-op when absent). */
  async delete(ctx: RawContext, args: RawDeleteArgs): Promise<void> {
    this.#checkApiVersion(ctx, args.forCas === true ? 'raw_atomic_store' : 'raw_delete');
    this.#checkKeySize([args.key]);
    const cf = rawCf(args.cf);
    await this.#latched(ctx, [args.key], () => [{ type: 'delete', cf, key: args.key }]);
  }

  /** `RawBatchDelete`: removes every key in one atomic engine write. */
  async batchDelete(ctx: RawContext, args: RawBatchDeleteArgs): Promise<void> {
    this.#checkApiVersion(ctx, args.forCas === true ? 'raw_atomic_store' : 'raw_batch_delete');
    const cf = rawCf(args.cf);
    this.#checkKeySize(args.keys);
    await this.#latched(ctx, args.keys, () => args.keys.map((key): Modify => ({ type: 'delete', cf, key })));
  }

  /**
   * `RawDeleteRange`: removes every key of `[startKey, endKey)` (empty `endKey`: to the end).
   * Excludes every other raw write of this store while it runs.
   * @throws KeyTooLargeError when a bound is too long
   * @throws InvalidDeleteRangeError when `endKey` is non-empty and not above `startKey`
   */
  async deleteRange(ctx: RawContext, args: RawDeleteRangeArgs): Promise<void> {
    const endKey = args.endKey ?? EMPTY;
    this.#checkKeySize([args.startKey, endKey]);
    this.#checkApiVersion(ctx, 'raw_delete_range');
    const cf = rawCf(args.cf);
    if (endKey.length > 0 && compareBytes(args.startKey, endKey) >= 0) {
      throw new InvalidDeleteRangeError(args.startKey, endKey);
    }
    const release = await this.#latches.acquireAll();
    try {
      await this.#engine.write(ctx, [{ type: 'deleteRange', cf, startKey: args.startKey, endKey }]);
    } finally {
      release();
    }
  }

  /**
   * `RawCompareAndSwap`: when the current (visible) value of `key` equals the expected one
   * (`previousNotExist`: absent), writes `value` with `ttl`. Returns whether it did and the value
   * seen. Atomic against every other raw write of this store: the key's latch is held from the
   * read until the write resolved.
   * @throws TtlNotEnabledError, InvalidCfError, KeyTooLargeError, ApiVersionNotMatchedError
   */
  async compareAndSwap(ctx: RawContext, args: RawCasArgs): Promise<RawCasResult> {
    const ttl = args.ttl ?? 0n;
    checkTtl(ttl);
    this.#checkApiVersion(ctx, 'raw_compare_and_swap');
    const cf = rawCf(args.cf);
    if (!this.#ttl && ttl !== 0n) throw new TtlNotEnabledError();
    this.#checkKeySize([args.key]);
    const expected = args.previousNotExist === true ? undefined : (args.previousValue ?? EMPTY);
    const release = await this.#latches.acquireKeys([args.key]);
    try {
      const snap = await this.#engine.snapshot(ctx);
      let previous: Uint8Array | undefined;
      const now = this.#nowSec();
      try {
        const stored = await snap.get(cf, args.key);
        previous = stored === undefined ? undefined : this.#visible(args.key, stored, now);
      } finally {
        snap.close();
      }
      const equal =
        previous === undefined || expected === undefined ? previous === expected : compareBytes(previous, expected) === 0;
      if (!equal) return { succeed: false, previousValue: previous };
      await this.#engine.write(ctx, [this.#putModify(cf, args.key, args.value, ttl, now)]);
      return { succeed: true, previousValue: previous };
    } finally {
      release();
    }
  }

  /**
   * Removes the expired values of `[startKey, endKey)` of `cf` (TiKV does it in a compaction
   * filter; call this periodically, e.g. every `storage.ttl-check-poll-interval`). Candidates are
   * found on a snapshot, then re-checked under their key latches on a fresh snapshot, so a key
   * rewritten meanwhile is kept. Returns the number of keys removed; 0 without TTL.
   */
  async compactExpired(ctx: RawContext, options: RawCompactExpiredOptions = {}): Promise<number> {
    if (!this.#ttl) return 0;
    const cf = rawCf(options.cf);
    const batchSize = options.batchSize ?? 256;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    let removed = 0;
    const snap = await this.#engine.snapshot(ctx);
    try {
      const now = this.#nowSec();
      const it = snap.iterator(cf, bounds(options.startKey, options.endKey));
      try {
        await it.seekToFirst();
        let batch: Uint8Array[] = [];
        for (;;) {
          const chunk = await it.nextv(CHUNK);
          if (chunk.length === 0) break;
          for (const e of chunk) {
            if (e.value.length < 8) continue;
            if (isExpired(decodeTtlValue(e.key, e.value).expireTs, now)) batch.push(e.key);
          }
          if (batch.length >= batchSize) {
            removed += await this.#removeIfExpired(ctx, cf, batch);
            batch = [];
          }
        }
        if (batch.length > 0) removed += await this.#removeIfExpired(ctx, cf, batch);
      } finally {
        it.close();
      }
    } finally {
      snap.close();
    }
    return removed;
  }

  // ---- internals ----

  async #removeIfExpired(ctx: RawContext, cf: CfName, keys: readonly Uint8Array[]): Promise<number> {
    const release = await this.#latches.acquireKeys(keys);
    try {
      const snap = await this.#engine.snapshot(ctx);
      const modifies: Modify[] = [];
      try {
        const now = this.#nowSec();
        for (const key of keys) {
          const stored = await snap.get(cf, key);
          if (stored === undefined || stored.length < 8) continue;
          if (isExpired(decodeTtlValue(key, stored).expireTs, now)) modifies.push({ type: 'delete', cf, key });
        }
      } finally {
        snap.close();
      }
      await this.#engine.write(ctx, modifies);
      return modifies.length;
    } finally {
      release();
    }
  }

  async #latched(ctx: RawContext, keys: readonly Uint8Array[], build: () => Modify[]): Promise<void> {
    const release = await this.#latches.acquireKeys(keys);
    try {
      await this.#engine.write(ctx, build());
    } finally {
      release();
    }
  }

  #putModify(cf: CfName, key: Uint8Array, value: Uint8Array, ttl: bigint, nowSec: bigint): Modify {
    const stored = this.#ttl ? encodeTtlValue(value, ttlToExpireTs(ttl, nowSec)) : value;
    return { type: 'put', cf, key, value: stored };
  }

  async #withSnapshot<T>(ctx: RawContext, read: (snap: EngineSnapshot, nowSec: bigint) => Promise<T>): Promise<T> {
    const snap = await this.#engine.snapshot(ctx);
    try {
      return await read(snap, this.#nowSec());
    } finally {
      snap.close();
    }
  }

  async #scanRange(
    snap: EngineSnapshot,
    cf: CfName,
    startKey: Uint8Array,
    endKey: Uint8Array | undefined,
    limit: number,
    reverse: boolean,
    keyOnly: boolean,
    now: bigint,
  ): Promise<RawKvPair[]> {
    checkCount('limit', limit);
    // Reverse: keys below startKey; nothing is below the empty key (TiKV's reverse_seek).
    if (limit === 0 || (reverse && startKey.length === 0)) return [];
    const it: EngineIterator = snap.iterator(cf, reverse ? bounds(endKey, startKey) : bounds(startKey, endKey));
    const out: RawKvPair[] = [];
    try {
      if (reverse) await it.seekToLast();
      else await it.seekToFirst();
      while (out.length < limit) {
        const want = Math.min(limit - out.length, CHUNK);
        const chunk = reverse ? await it.prevv(want) : await it.nextv(want);
        if (chunk.length === 0) break;
        for (const e of chunk) {
          const v = this.#visible(e.key, e.value, now);
          if (v === undefined) continue;
          out.push({ key: e.key, value: keyOnly ? EMPTY : v });
          if (out.length >= limit) break;
        }
      }
    } finally {
      it.close();
    }
    return out;
  }

  /** The user value of a stored value, or undefined when expired. */
  #visible(key: Uint8Array, stored: Uint8Array, nowSec: bigint): Uint8Array | undefined {
    if (!this.#ttl) return stored;
    const d = decodeTtlValue(key, stored);
    return isExpired(d.expireTs, nowSec) ? undefined : d.userValue;
  }

  #nowSec(): bigint {
    const ms = this.#clock.nowMs();
    return ms <= 0 ? 0n : BigInt(Math.floor(ms / 1000));
  }

  #checkApiVersion(ctx: RawContext, cmd: RawCommandKind): void {
    const req = ctx.apiVersion ?? kvrpcpb.APIVersion.V1;
    // V1 storage takes V1 requests; V1TTL storage takes V1 raw requests (TiKV check_api_version).
    if (req !== kvrpcpb.APIVersion.V1) throw new ApiVersionNotMatchedError(cmd, this.#apiVersion, req);
  }

  #checkKeySize(keys: readonly Uint8Array[]): void {
    for (const k of keys) {
      if (k.length > this.#maxKeySize) throw new KeyTooLargeError(k.length, this.#maxKeySize);
    }
  }

  #checkScanLimit(limit: number): void {
    checkCount('limit', limit);
    if (this.#maxScanLimit !== undefined && limit > this.#maxScanLimit) {
      throw new ScanLimitExceededError(limit, this.#maxScanLimit);
    }
  }
}

/** TiKV's `rawkv_cf` for API V1/V1TTL: `""` → default; default, lock, write accepted. */
function rawCf(cf: string | undefined): CfName {
  switch (cf ?? '') {
    case '':
    case 'default':
      return 'default';
    case 'lock':
      return 'lock';
    case 'write':
      return 'write';
    default:
      throw new InvalidCfError(cf ?? '');
  }
}
