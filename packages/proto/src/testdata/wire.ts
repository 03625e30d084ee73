/**
 * Hex and bigint helpers for the proto specs (excluded from the library build).
 * @internal
 */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/**
 * Parses hex written with optional spaces, e.g. `'08 01 10 05'`.
 * @internal
 */
export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '');
  if (clean.length % 2 !== 0) throw new RangeError(`Odd hex length ${clean.length}`);
  return new Uint8Array(Buffer.from(clean, 'hex'));
}

/** 2^53 + 1: the smallest integer a JS number cannot hold exactly. */
export const ABOVE_2_53 = 9007199254740993n;

/** The largest uint64. */
export const U64_MAX = 18446744073709551615n;
