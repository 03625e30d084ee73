// Raw KV (TiKV's raw_* storage commands, API V1 and V1TTL).
export {
  RawStore,
  DEFAULT_MAX_KEY_SIZE_BYTES,
  type RawStoreOptions,
  type RawContext,
  type RawKvPair,
  type RawKeyRange,
  type RawGetArgs,
  type RawBatchGetArgs,
  type RawPutArgs,
  type RawBatchPutArgs,
  type RawDeleteArgs,
  type RawBatchDeleteArgs,
  type RawDeleteRangeArgs,
  type RawScanArgs,
  type RawBatchScanArgs,
  type RawGetKeyTtlArgs,
  type RawCasArgs,
  type RawCasResult,
  type RawChecksumArgs,
  type RawChecksumResult,
  type RawCompactExpiredOptions,
} from './raw-store';
export { RawLatches, type LatchRelease } from './raw-latches';
export { Crc64Xz, crc64Xz } from './crc64';
export { encodeTtlValue, decodeTtlValue, ttlToExpireTs, isExpired, U64_MAX, TTL_SUFFIX_BYTES, type DecodedTtlValue } from './raw-value';
export {
  KeyTooLargeError,
  InvalidCfError,
  TtlNotEnabledError,
  TtlLenNotEqualsToPairsError,
  ApiVersionNotMatchedError,
  InvalidKeyRangesError,
  InvalidDeleteRangeError,
  UnknownChecksumAlgorithmError,
  RawValueCorruptedError,
  ScanLimitExceededError,
  apiVersionName,
  type RawCommandKind,
} from './errors';
