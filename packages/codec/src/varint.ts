// Varints as in protobuf and Go's encoding/binary (TiKV `encode_var_u64`/`encode_var_i64`):
// 7 data bits per byte, least significant group first, high bit set on every byte but the last.
// Signed values are zigzag-mapped first ((v << 1) ^ (v >> 63)) so small magnitudes stay short.
// Not order-preserving: use the fixed-width forms in number.ts for keys.
import { ByteWriter } from './byte-writer';
import { CodecError, checkOffset } from './errors';
import { MAX_I64, MAX_U64, MIN_I64 } from './number';

/** The longest varint of a 64-bit value, in bytes. */
export const MAX_VARINT64_LENGTH = 10;

function toU64(v: bigint | number): bigint {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`Value ${v} is not a u64`);
    return BigInt(v);
  }
  if (typeof v !== 'bigint' || v < 0n || v > MAX_U64) throw new RangeError(`Value ${String(v)} is not a u64`);
  return v;
}

function toI64(v: bigint | number): bigint {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new RangeError(`Value ${v} is not an i64`);
    return BigInt(v);
  }
  if (typeof v !== 'bigint' || v < MIN_I64 || v > MAX_I64) throw new RangeError(`Value ${String(v)} is not an i64`);
  return v;
}

/**
 * Appends `v` as an unsigned varint (1–10 bytes).
 *
 * @param v - a bigint in `[0, 2^64)`, or a non-negative safe integer
 * @throws RangeError if `v` is out of range
 */
export function encodeUvarintTo(w: ByteWriter, v: bigint | number): void {
  let x = toU64(v);
  // Fast path in 32-bit arithmetic for the common small values.
  if (x < 0x1000_0000n) {
    let n = Number(x);
    while (n >= 0x80) {
      w.appendByte((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    w.appendByte(n);
    return;
  }
  while (x >= 0x80n) {
    w.appendByte(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  w.appendByte(Number(x));
}

/** An unsigned varint in a new array; see {@link encodeUvarintTo}. */
export function encodeUvarint(v: bigint | number): Uint8Array {
  const w = new ByteWriter(MAX_VARINT64_LENGTH);
  encodeUvarintTo(w, v);
  return w.toBytes();
}

/**
 * Decodes an unsigned varint at `offset` (Go `binary.Uvarint`; non-minimal encodings such as
 * `80 00` are accepted, as Go does).
 *
 * @returns the value and the number of bytes consumed
 * @throws CodecError `KV:Codec:Truncated` if the input ends inside the varint,
 *   `KV:Codec:VarintOverflow` if it runs past 10 bytes or exceeds `2^64 - 1`
 */
export function decodeUvarint(buf: Uint8Array, offset = 0): { value: bigint; bytesRead: number } {
  checkOffset(offset);
  // Accumulate the low 28 bits as a number, switch to bigint beyond that.
  let small = 0;
  let i = 0;
  for (; i < 4; i++) {
    const at = offset + i;
    if (at >= buf.length) throw truncated(buf, offset);
    const b = buf[at] as number;
    small |= (b & 0x7f) << (7 * i);
    if (b < 0x80) return { value: BigInt(small >>> 0), bytesRead: i + 1 };
  }
  let value = BigInt(small >>> 0);
  for (; i < MAX_VARINT64_LENGTH; i++) {
    const at = offset + i;
    if (at >= buf.length) throw truncated(buf, offset);
    const b = buf[at] as number;
    if (i === MAX_VARINT64_LENGTH - 1 && b > 1) {
      throw new CodecError('KV:Codec:VarintOverflow', 'Varint exceeds 64 bits', { input: buf, offset });
    }
    value |= BigInt(b & 0x7f) << BigInt(7 * i);
    if (b < 0x80) return { value, bytesRead: i + 1 };
  }
  throw new CodecError('KV:Codec:VarintOverflow', `Varint longer than ${MAX_VARINT64_LENGTH} bytes`, {
    input: buf,
    offset,
  });
}

function truncated(buf: Uint8Array, offset: number): CodecError {
  return new CodecError('KV:Codec:Truncated', 'Truncated varint', { input: buf, offset });
}

/**
 * Appends `v` as a zigzag signed varint (Go `binary.PutVarint`, protobuf `sint64`).
 *
 * @param v - a bigint in `[-2^63, 2^63)`, or a safe integer
 * @throws RangeError if `v` is out of range
 */
export function encodeVarintTo(w: ByteWriter, v: bigint | number): void {
  const x = toI64(v);
  encodeUvarintTo(w, BigInt.asUintN(64, (x << 1n) ^ (x >> 63n)));
}

/** A zigzag signed varint in a new array; see {@link encodeVarintTo}. */
export function encodeVarint(v: bigint | number): Uint8Array {
  const w = new ByteWriter(MAX_VARINT64_LENGTH);
  encodeVarintTo(w, v);
  return w.toBytes();
}

/**
 * Decodes a zigzag signed varint at `offset` (Go `binary.Varint`).
 *
 * @throws CodecError as {@link decodeUvarint}
 */
export function decodeVarint(buf: Uint8Array, offset = 0): { value: bigint; bytesRead: number } {
  const { value: u, bytesRead } = decodeUvarint(buf, offset);
  const value = (u & 1n) === 0n ? u >> 1n : -(u >> 1n) - 1n;
  return { value, bytesRead };
}

/** Number of bytes {@link encodeUvarintTo} writes for `v`. */
export function uvarintLength(v: bigint | number): number {
  let x = toU64(v);
  let n = 1;
  while (x >= 0x80n) {
    x >>= 7n;
    n++;
  }
  return n;
}
