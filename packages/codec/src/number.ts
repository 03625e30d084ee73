import type { ByteWriter } from './byte-writer';
import { checkOffset, ensureAvailable } from './errors';

/** Bytes in an encoded u64/i64/f64 (TiKV `number::U64_SIZE`). */
export const U64_SIZE = 8;
/** Bytes in an encoded u32. */
export const U32_SIZE = 4;
/** Bytes in an encoded u16. */
export const U16_SIZE = 2;

/** The largest u64, `2^64 - 1`. */
export const MAX_U64 = 0xffff_ffff_ffff_ffffn;
/** The smallest i64, `-2^63`. */
export const MIN_I64 = -(1n << 63n);
/** The largest i64, `2^63 - 1`. */
export const MAX_I64 = (1n << 63n) - 1n;

const U64_SIGN = 1n << 63n;

function checkU64(v: bigint): void {
  if (typeof v !== 'bigint' || v < 0n || v > MAX_U64) {
    throw new RangeError(`Value ${String(v)} is not a u64 bigint`);
  }
}

function checkI64(v: bigint): void {
  if (typeof v !== 'bigint' || v < MIN_I64 || v > MAX_I64) {
    throw new RangeError(`Value ${String(v)} is not an i64 bigint`);
  }
}

function checkUint(v: number, bits: 16 | 32): void {
  if (!Number.isInteger(v) || v < 0 || v >= 2 ** bits) {
    throw new RangeError(`Value ${v} is not a u${bits}`);
  }
}

function readU32BE(buf: Uint8Array, at: number): number {
  return (
    (((buf[at] as number) << 24) | ((buf[at + 1] as number) << 16) | ((buf[at + 2] as number) << 8) | (buf[at + 3] as number)) >>> 0
  );
}

function readU32LE(buf: Uint8Array, at: number): number {
  return (
    ((buf[at] as number) | ((buf[at + 1] as number) << 8) | ((buf[at + 2] as number) << 16) | ((buf[at + 3] as number) << 24)) >>> 0
  );
}

function readU64BE(buf: Uint8Array, at: number): bigint {
  return (BigInt(readU32BE(buf, at)) << 32n) | BigInt(readU32BE(buf, at + 4));
}

function writeU32BE(out: Uint8Array, at: number, v: number): void {
  out[at] = v >>> 24;
  out[at + 1] = v >>> 16;
  out[at + 2] = v >>> 8;
  out[at + 3] = v;
}

function writeU32LE(out: Uint8Array, at: number, v: number): void {
  out[at] = v;
  out[at + 1] = v >>> 8;
  out[at + 2] = v >>> 16;
  out[at + 3] = v >>> 24;
}

// Split into two 32-bit halves: cheaper than a DataView per call.
/** Writes `u` (a valid u64) big-endian at `out[at..at+8)`. Internal helper, not exported by the package. */
export function writeU64BE(out: Uint8Array, at: number, u: bigint): void {
  writeU32BE(out, at, Number(u >> 32n));
  writeU32BE(out, at + 4, Number(u & 0xffff_ffffn));
}

function writeU64LE(out: Uint8Array, at: number, u: bigint): void {
  writeU32LE(out, at, Number(u & 0xffff_ffffn));
  writeU32LE(out, at + 4, Number(u >> 32n));
}

/** Appends the 8 bytes of `u` (already validated and transformed) to `w`. */
function put64(w: ByteWriter, u: bigint, le = false): void {
  const at = w.advance(U64_SIZE); // before reading w.raw: advancing may reallocate
  if (le) writeU64LE(w.raw, at, u);
  else writeU64BE(w.raw, at, u);
}

/** The 8 bytes of `u` in a new array. */
function bytes64(u: bigint, le = false): Uint8Array {
  const out = new Uint8Array(U64_SIZE);
  if (le) writeU64LE(out, 0, u);
  else writeU64BE(out, 0, u);
  return out;
}

// ---------------------------------------------------------------------------------------------
// u64

/**
 * Appends `v` as 8 big-endian bytes (TiKV `encode_u64`). Byte order equals numeric order.
 *
 * @throws RangeError if `v` is not a bigint in `[0, 2^64)`
 */
export function encodeU64To(w: ByteWriter, v: bigint): void {
  checkU64(v);
  put64(w, v);
}

/** `v` as 8 big-endian bytes in a new array; see {@link encodeU64To}. */
export function encodeU64(v: bigint): Uint8Array {
  checkU64(v);
  return bytes64(v);
}

/**
 * Reads a big-endian u64 at `offset`.
 *
 * @throws CodecError `KV:Codec:Truncated` if fewer than 8 bytes remain
 */
export function decodeU64(buf: Uint8Array, offset = 0): bigint {
  checkOffset(offset);
  ensureAvailable(buf, offset, U64_SIZE, 'u64');
  return readU64BE(buf, offset);
}

/**
 * Appends `!v` as 8 big-endian bytes (TiKV `encode_u64_desc`): byte order is the reverse of
 * numeric order. Used for the timestamp suffix of MVCC keys, so newer versions sort first.
 *
 * @throws RangeError if `v` is not a bigint in `[0, 2^64)`
 */
export function encodeU64DescTo(w: ByteWriter, v: bigint): void {
  checkU64(v);
  put64(w, v ^ MAX_U64);
}

/** `!v` as 8 big-endian bytes in a new array; see {@link encodeU64DescTo}. */
export function encodeU64Desc(v: bigint): Uint8Array {
  checkU64(v);
  return bytes64(v ^ MAX_U64);
}

/**
 * Reads a u64 written by {@link encodeU64DescTo}.
 *
 * @throws CodecError `KV:Codec:Truncated` if fewer than 8 bytes remain
 */
export function decodeU64Desc(buf: Uint8Array, offset = 0): bigint {
  checkOffset(offset);
  ensureAvailable(buf, offset, U64_SIZE, 'u64');
  return readU64BE(buf, offset) ^ MAX_U64;
}

/**
 * Appends `v` as 8 little-endian bytes (TiKV `encode_u64_le`). Not order-preserving.
 *
 * @throws RangeError if `v` is not a bigint in `[0, 2^64)`
 */
export function encodeU64LeTo(w: ByteWriter, v: bigint): void {
  checkU64(v);
  put64(w, v, true);
}

/** `v` as 8 little-endian bytes in a new array; see {@link encodeU64LeTo}. */
export function encodeU64Le(v: bigint): Uint8Array {
  checkU64(v);
  return bytes64(v, true);
}

/**
 * Reads a little-endian u64 at `offset`.
 *
 * @throws CodecError `KV:Codec:Truncated` if fewer than 8 bytes remain
 */
export function decodeU64Le(buf: Uint8Array, offset = 0): bigint {
  checkOffset(offset);
  ensureAvailable(buf, offset, U64_SIZE, 'u64');
  return (BigInt(readU32LE(buf, offset + 4)) << 32n) | BigInt(readU32LE(buf, offset));
}

// ---------------------------------------------------------------------------------------------
// i64

/**
 * Appends `v` in TiKV's comparable i64 form (`encode_i64`): the two's-complement bits with the
 * sign bit flipped, big-endian, so byte order equals signed numeric order.
 *
 * @throws RangeError if `v` is not a bigint in `[-2^63, 2^63)`
 */
export function encodeI64To(w: ByteWriter, v: bigint): void {
  checkI64(v);
  put64(w, BigInt.asUintN(64, v) ^ U64_SIGN);
}

/** Comparable i64 in a new array; see {@link encodeI64To}. */
export function encodeI64(v: bigint): Uint8Array {
  checkI64(v);
  return bytes64(BigInt.asUintN(64, v) ^ U64_SIGN);
}

/**
 * Reads an i64 written by {@link encodeI64To}.
 *
 * @throws CodecError `KV:Codec:Truncated` if fewer than 8 bytes remain
 */
export function decodeI64(buf: Uint8Array, offset = 0): bigint {
  checkOffset(offset);
  ensureAvailable(buf, offset, U64_SIZE, 'i64');
  return BigInt.asIntN(64, readU64BE(buf, offset) ^ U64_SIGN);
}

/**
 * Appends `v` in descending comparable i64 form (TiKV `encode_i64_desc`): the bitwise-not of
 * {@link encodeI64To}'s bytes, so byte order is the reverse of signed numeric order.
 *
 * @throws RangeError if `v` is not a bigint in `[-2^63, 2^63)`
 */
export function encodeI64DescTo(w: ByteWriter, v: bigint): void {
  checkI64(v);
  put64(w, BigInt.asUintN(64, v) ^ U64_SIGN ^ MAX_U64);
}

/** Descending comparable i64 in a new array; see {@link encodeI64DescTo}. */
export function encodeI64Desc(v: bigint): Uint8Array {
  checkI64(v);
  return bytes64(BigInt.asUintN(64, v) ^ U64_SIGN ^ MAX_U64);
}

/**
 * Reads an i64 written by {@link encodeI64DescTo}.
 *
 * @throws CodecError `KV:Codec:Truncated` if fewer than 8 bytes remain
 */
export function decodeI64Desc(buf: Uint8Array, offset = 0): bigint {
  checkOffset(offset);
  ensureAvailable(buf, offset, U64_SIZE, 'i64');
  return BigInt.asIntN(64, readU64BE(buf, offset) ^ U64_SIGN ^ MAX_U64);
}

// ---------------------------------------------------------------------------------------------
// u32 / u16

/**
 * Appends `v` as 4 big-endian bytes (order-preserving).
 *
 * @throws RangeError if `v` is not an integer in `[0, 2^32)`
 */
export function encodeU32To(w: ByteWriter, v: number): void {
  checkUint(v, 32);
  const at = w.advance(U32_SIZE);
  writeU32BE(w.raw, at, v);
}

/** `v` as 4 big-endian bytes in a new array; see {@link encodeU32To}. */
export function encodeU32(v: number): Uint8Array {
  checkUint(v, 32);
  const out = new Uint8Array(U32_SIZE);
  writeU32BE(out, 0, v);
  return out;
}

/**
 * Reads a big-endian u32 at `offset`.
 *
 * @throws CodecError `KV:Codec:Truncated` if fewer than 4 bytes remain
 */
export function decodeU32(buf: Uint8Array, offset = 0): number {
  checkOffset(offset);
  ensureAvailable(buf, offset, U32_SIZE, 'u32');
  return readU32BE(buf, offset);
}

/**
 * Appends `v` as 4 little-endian bytes.
 *
 * @throws RangeError if `v` is not an integer in `[0, 2^32)`
 */
export function encodeU32LeTo(w: ByteWriter, v: number): void {
  checkUint(v, 32);
  const at = w.advance(U32_SIZE);
  writeU32LE(w.raw, at, v);
}

/** `v` as 4 little-endian bytes in a new array; see {@link encodeU32LeTo}. */
export function encodeU32Le(v: number): Uint8Array {
  checkUint(v, 32);
  const out = new Uint8Array(U32_SIZE);
  writeU32LE(out, 0, v);
  return out;
}

/**
 * Reads a little-endian u32 at `offset`.
 *
 * @throws CodecError `KV:Codec:Truncated` if fewer than 4 bytes remain
 */
export function decodeU32Le(buf: Uint8Array, offset = 0): number {
  checkOffset(offset);
  ensureAvailable(buf, offset, U32_SIZE, 'u32');
  return readU32LE(buf, offset);
}

/**
 * Appends `v` as 2 big-endian bytes (order-preserving).
 *
 * @throws RangeError if `v` is not an integer in `[0, 2^16)`
 */
export function encodeU16To(w: ByteWriter, v: number): void {
  checkUint(v, 16);
  const at = w.advance(U16_SIZE);
  w.raw[at] = v >>> 8;
  w.raw[at + 1] = v;
}

/** `v` as 2 big-endian bytes in a new array; see {@link encodeU16To}. */
export function encodeU16(v: number): Uint8Array {
  checkUint(v, 16);
  return Uint8Array.of(v >>> 8, v & 0xff);
}

/**
 * Reads a big-endian u16 at `offset`.
 *
 * @throws CodecError `KV:Codec:Truncated` if fewer than 2 bytes remain
 */
export function decodeU16(buf: Uint8Array, offset = 0): number {
  checkOffset(offset);
  ensureAvailable(buf, offset, U16_SIZE, 'u16');
  return (((buf[offset] as number) << 8) | (buf[offset + 1] as number)) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// f64

const F64_SCRATCH = new DataView(new ArrayBuffer(8));

/** The comparable u64 of a float (TiDB `encodeFloatToCmpUint64`). */
function f64ToCmp(v: number): bigint {
  // NaN has no place in the order (its inverted bits would collide with a positive subnormal's
  // encoding) and TiDB never stores it.
  if (Number.isNaN(v)) throw new RangeError('NaN has no comparable encoding');
  F64_SCRATCH.setFloat64(0, v);
  const bits = F64_SCRATCH.getBigUint64(0);
  // Non-negative floats (including -0, which compares equal to 0) get the sign bit set; negative
  // ones are inverted so that larger magnitudes sort lower.
  return v >= 0 ? bits | U64_SIGN : bits ^ MAX_U64;
}

/** Inverse of {@link f64ToCmp} (TiDB `decodeCmpUintToFloat`). */
function cmpToF64(u: bigint): number {
  F64_SCRATCH.setBigUint64(0, (u & U64_SIGN) !== 0n ? u ^ U64_SIGN : u ^ MAX_U64);
  return F64_SCRATCH.getFloat64(0);
}

/**
 * Appends `v` in TiDB's comparable float form (codec `EncodeFloat`): IEEE-754 bits, sign bit set
 * for `v >= 0` and all bits inverted for `v < 0`, big-endian. Byte order equals numeric order
 * (±Infinity included); `-0` encodes like `+0` (and decodes as `+0`).
 *
 * @throws RangeError for NaN, which has no place in the order
 */
export function encodeF64To(w: ByteWriter, v: number): void {
  put64(w, f64ToCmp(v));
}

/** Comparable f64 in a new array; see {@link encodeF64To}. */
export function encodeF64(v: number): Uint8Array {
  return bytes64(f64ToCmp(v));
}

/**
 * Reads a float written by {@link encodeF64To}.
 *
 * @throws CodecError `KV:Codec:Truncated` if fewer than 8 bytes remain
 */
export function decodeF64(buf: Uint8Array, offset = 0): number {
  checkOffset(offset);
  ensureAvailable(buf, offset, U64_SIZE, 'f64');
  return cmpToF64(readU64BE(buf, offset));
}

/**
 * Appends `v` in descending comparable float form (TiDB `EncodeFloatDesc`): the bitwise-not of
 * {@link encodeF64To}'s bytes.
 *
 * @throws RangeError for NaN
 */
export function encodeF64DescTo(w: ByteWriter, v: number): void {
  put64(w, f64ToCmp(v) ^ MAX_U64);
}

/** Descending comparable f64 in a new array; see {@link encodeF64DescTo}. */
export function encodeF64Desc(v: number): Uint8Array {
  return bytes64(f64ToCmp(v) ^ MAX_U64);
}

/**
 * Reads a float written by {@link encodeF64DescTo}.
 *
 * @throws CodecError `KV:Codec:Truncated` if fewer than 8 bytes remain
 */
export function decodeF64Desc(buf: Uint8Array, offset = 0): number {
  checkOffset(offset);
  ensureAvailable(buf, offset, U64_SIZE, 'f64');
  return cmpToF64(readU64BE(buf, offset) ^ MAX_U64);
}
