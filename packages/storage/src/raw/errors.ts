import { kvrpcpb } from '@tikv-ts/proto';
import { TikvError } from '@tikv-ts/util';

/**
 * TiKV's name of a raw command (`CommandKind` of `src/storage/metrics.rs`), as it appears in
 * error messages.
 */
export type RawCommandKind =
  | 'raw_get'
  | 'raw_batch_get'
  | 'raw_put'
  | 'raw_batch_put'
  | 'raw_delete'
  | 'raw_batch_delete'
  | 'raw_delete_range'
  | 'raw_scan'
  | 'raw_batch_scan'
  | 'raw_get_key_ttl'
  | 'raw_compare_and_swap'
  | 'raw_atomic_store'
  | 'raw_checksum';

/** TiKV's Debug form of an `ApiVersion` (`V1`, `V1ttl`, `V2`). */
export function apiVersionName(v: kvrpcpb.APIVersion): string {
  switch (v) {
    case kvrpcpb.APIVersion.V1:
      return 'V1';
    case kvrpcpb.APIVersion.V1TTL:
      return 'V1ttl';
    case kvrpcpb.APIVersion.V2:
      return 'V2';
    default:
      return String(v);
  }
}

/** Rust's Debug form of a byte slice (`[1, 2, 3]`), as TiKV prints keys in some messages. */
function debugBytes(b: Uint8Array): string {
  return `[${Array.from(b).join(', ')}]`;
}

/** A key longer than `storage.max-key-size` (TiKV `KeyTooLarge`). */
export class KeyTooLargeError extends TikvError {
  readonly code = 'KV:Storage:KeyTooLarge';
  constructor(
    readonly sizeBytes: number,
    readonly limitBytes: number,
  ) {
    super(`max key size exceeded, size: ${sizeBytes}, limit: ${limitBytes}`);
  }
}

/** A raw request named a column family other than default, lock or write (TiKV `InvalidCf`). */
export class InvalidCfError extends TikvError {
  readonly code = 'KV:Storage:InvalidCf';
  constructor(readonly cf: string) {
    super(`invalid cf name: ${cf}`);
  }
}

/** A write carried a TTL while TTL is disabled (API V1 without `storage.enable-ttl`). */
export class TtlNotEnabledError extends TikvError {
  readonly code = 'KV:Storage:TtlNotEnabled';
  constructor() {
    super('ttl is not enabled, but get put request with ttl');
  }
}

/** `RawBatchPut.ttls` has neither 0, 1 nor `pairs.length` entries. */
export class TtlLenNotEqualsToPairsError extends TikvError {
  readonly code = 'KV:Storage:TtlLenNotEqualsToPairs';
  constructor(
    readonly ttls: number,
    readonly pairs: number,
  ) {
    super('The length of ttls does not equal to the length of pairs');
  }
}

/** The request's `context.api_version` is not accepted by the storage's API version. */
export class ApiVersionNotMatchedError extends TikvError {
  readonly code = 'KV:Storage:ApiVersionNotMatched';
  constructor(
    readonly cmd: RawCommandKind,
    readonly storageApiVersion: kvrpcpb.APIVersion,
    readonly requestApiVersion: kvrpcpb.APIVersion,
  ) {
    super(
      `Api version in request does not match with TiKV storage, cmd: ${cmd}, storage: ${apiVersionName(storageApiVersion)}, request: ${apiVersionName(requestApiVersion)}`,
    );
  }
}

/**
 * The ranges of a `RawBatchScan` (or a `RawScan`) are inverted: a forward range whose start is
 * above its end, or a reverse range whose start (its exclusive upper bound) is below its end.
 */
export class InvalidKeyRangesError extends TikvError {
  readonly code = 'KV:Storage:InvalidKeyRanges';
  constructor() {
    super('Invalid KeyRanges');
  }
}

/** A `RawDeleteRange` whose start key is not below its (non-empty) end key. */
export class InvalidDeleteRangeError extends TikvError {
  readonly code = 'KV:Storage:InvalidDeleteRange';
  constructor(
    readonly startKey: Uint8Array,
    readonly endKey: Uint8Array,
  ) {
    super(`invalid delete range command, start_key: ${debugBytes(startKey)}, end_key: ${debugBytes(endKey)}`);
  }
}

/** `RawChecksum` with an algorithm other than `Crc64_Xor`. */
export class UnknownChecksumAlgorithmError extends TikvError {
  readonly code = 'KV:Storage:UnknownChecksumAlgorithm';
  constructor(readonly algorithm: number) {
    super(`unknown checksum algorithm ${kvrpcpb.ChecksumAlgorithm[algorithm] ?? String(algorithm)}`);
  }
}

/** A stored raw value cannot be decoded (an API V1TTL value shorter than its 8-byte expire ts). */
export class RawValueCorruptedError extends TikvError {
  readonly code = 'KV:Storage:RawValueCorrupted';
  constructor(readonly key: Uint8Array) {
    super('bad format value(length)');
  }
}

/** A scan asked for more entries than the configured `maxScanLimit` (off by default, as in TiKV). */
export class ScanLimitExceededError extends TikvError {
  readonly code = 'KV:Storage:ScanLimitExceeded';
  constructor(
    readonly limit: number,
    readonly maxLimit: number,
  ) {
    super(`limit ${limit} exceeds max scan limit ${maxLimit}`);
  }
}
