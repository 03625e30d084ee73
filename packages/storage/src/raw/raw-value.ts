import { RawValueCorruptedError } from './errors';

/** Largest uint64: TiKV saturates expire timestamps at it. */
export const U64_MAX = (1n << 64n) - 1n;

/** Bytes of the expire-ts suffix of an API V1TTL raw value. */
export const TTL_SUFFIX_BYTES = 8;

/**
 * The expire timestamp (unix seconds) of a write made at `nowSec` with `ttlSec`, as TiKV's
 * `ttl_to_expire_ts`: 0 (no TTL) for a zero TTL, else `now + ttl` saturated at `U64_MAX`.
 */
export function ttlToExpireTs(ttlSec: bigint, nowSec: bigint): bigint {
  if (ttlSec === 0n) return 0n;
  const t = ttlSec + nowSec;
  return t > U64_MAX ? U64_MAX : t;
}

/**
 * Encodes an API V1TTL raw value: the user value followed by the 8-byte big-endian expire ts
 * (unix seconds; 0 = never expires), as TiKV's `ApiV1Ttl::encode_raw_value`.
 */
export function encodeTtlValue(userValue: Uint8Array, expireTs: bigint): Uint8Array {
  const out = new Uint8Array(userValue.length + TTL_SUFFIX_BYTES);
  out.set(userValue, 0);
  new DataView(out.buffer, out.byteOffset, out.byteLength).setBigUint64(userValue.length, expireTs, false);
  return out;
}

/** A decoded API V1TTL raw value. `userValue` is a view into the stored bytes. */
export interface DecodedTtlValue {
  readonly userValue: Uint8Array;
  /** Unix seconds after which the value is invisible; 0 = no TTL. */
  readonly expireTs: bigint;
}

/**
 * Decodes an API V1TTL raw value stored under `key`.
 * @throws RawValueCorruptedError when it is shorter than the 8-byte suffix
 */
export function decodeTtlValue(key: Uint8Array, stored: Uint8Array): DecodedTtlValue {
  if (stored.length < TTL_SUFFIX_BYTES) throw new RawValueCorruptedError(key);
  const n = stored.length - TTL_SUFFIX_BYTES;
  const expireTs = new DataView(stored.buffer, stored.byteOffset, stored.byteLength).getBigUint64(n, false);
  return { userValue: stored.subarray(0, n), expireTs };
}

/** Whether a value with `expireTs` is expired at `nowSec` (TiKV: `expire_ts <= current_ts`). */
export function isExpired(expireTs: bigint, nowSec: bigint): boolean {
  return expireTs !== 0n && expireTs <= nowSec;
}
