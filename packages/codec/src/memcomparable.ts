// TiKV's memcomparable bytes format (tikv_util codec::bytes `encode_bytes`, the same as TiDB's
// codec.EncodeBytes): the input is cut into groups of 8 bytes; the last group is padded with
// 0x00 to 8 bytes (a whole extra group when the length is a multiple of 8); each group is followed
// by a marker byte `0xFF - padding`. So full groups end in 0xFF and the final group in 0xF7..0xFE.
// Comparing encodings bytewise compares the inputs bytewise, and no encoding is a prefix of
// another, so more data (a timestamp) can follow an encoded key without breaking its order.
// The descending form is the bitwise-not of every byte.
import type { ByteWriter } from './byte-writer';
import { CodecError, checkOffset } from './errors';

/** Data bytes per group. */
export const ENC_GROUP_SIZE = 8;
/** Marker of a full group (no padding); the final group's marker is `ENC_MARKER - padding`. */
export const ENC_MARKER = 0xff;
/** Encoded bytes per group: 8 data bytes and the marker. */
const ENC_GROUP_BYTES = ENC_GROUP_SIZE + 1;

/**
 * Length in bytes of the memcomparable encoding of `rawLength` input bytes (ascending or
 * descending): `(floor(rawLength / 8) + 1) * 9`.
 */
export function encodedBytesLength(rawLength: number): number {
  if (!Number.isSafeInteger(rawLength) || rawLength < 0) {
    throw new RangeError(`Raw length must be a non-negative integer, got ${rawLength}`);
  }
  return (Math.floor(rawLength / ENC_GROUP_SIZE) + 1) * ENC_GROUP_BYTES;
}

/** Writes the encoding of `raw` into `out` at `start`; `out` has room for it. */
function encodeAt(out: Uint8Array, start: number, raw: Uint8Array, flip: number): void {
  // Plain loops: for short keys they beat subarray()+set(), which allocate views.
  const len = raw.length;
  let src = 0;
  let dst = start;
  for (;;) {
    const n = len - src >= ENC_GROUP_SIZE ? ENC_GROUP_SIZE : len - src;
    for (let i = 0; i < n; i++) out[dst + i] = (raw[src + i] as number) ^ flip;
    for (let i = n; i < ENC_GROUP_SIZE; i++) out[dst + i] = flip;
    out[dst + ENC_GROUP_SIZE] = (ENC_MARKER - (ENC_GROUP_SIZE - n)) ^ flip;
    if (n < ENC_GROUP_SIZE) return;
    src += ENC_GROUP_SIZE;
    dst += ENC_GROUP_BYTES;
  }
}

function encodeInto(w: ByteWriter, raw: Uint8Array, flip: number): void {
  const start = w.advance(encodedBytesLength(raw.length)); // before reading w.raw: may reallocate
  encodeAt(w.raw, start, raw, flip);
}

function encodeNew(raw: Uint8Array, flip: number): Uint8Array {
  const out = new Uint8Array(encodedBytesLength(raw.length));
  encodeAt(out, 0, raw, flip);
  return out;
}

/**
 * Appends the ascending memcomparable encoding of `raw` (TiKV `encode_bytes(key, false)`).
 * For all `a`, `b`: `compareBytes(encodeBytes(a), encodeBytes(b))` has the sign of
 * `compareBytes(a, b)`.
 */
export function encodeBytesTo(w: ByteWriter, raw: Uint8Array): void {
  encodeInto(w, raw, 0);
}

/** The ascending memcomparable encoding of `raw` in a new array; see {@link encodeBytesTo}. */
export function encodeBytes(raw: Uint8Array): Uint8Array {
  return encodeNew(raw, 0);
}

/**
 * Appends the descending memcomparable encoding of `raw` (TiKV `encode_bytes(key, true)`): the
 * bitwise-not of the ascending one, so byte order is the reverse of the inputs' order.
 */
export function encodeBytesDescTo(w: ByteWriter, raw: Uint8Array): void {
  encodeInto(w, raw, 0xff);
}

/** The descending memcomparable encoding of `raw` in a new array; see {@link encodeBytesDescTo}. */
export function encodeBytesDesc(raw: Uint8Array): Uint8Array {
  return encodeNew(raw, 0xff);
}

/**
 * Validates the encoded value starting at `offset` and returns the raw length and encoded length.
 * `flip` is 0 for ascending and 0xff for descending input.
 */
function scan(buf: Uint8Array, offset: number, flip: number): { rawLength: number; encodedLength: number } {
  checkOffset(offset);
  let pos = offset;
  for (;;) {
    if (pos + ENC_GROUP_BYTES > buf.length) {
      throw new CodecError(
        'KV:Codec:Truncated',
        `Truncated memcomparable bytes: group needs ${ENC_GROUP_BYTES} bytes, ${Math.max(0, buf.length - pos)} left`,
        { input: buf, offset: pos },
      );
    }
    const marker = (buf[pos + ENC_GROUP_SIZE] as number) ^ flip;
    if (marker === ENC_MARKER) {
      pos += ENC_GROUP_BYTES;
      continue;
    }
    const pad = ENC_MARKER - marker;
    if (pad > ENC_GROUP_SIZE) {
      throw new CodecError(
        'KV:Codec:KeyPadding',
        `Bad memcomparable group marker 0x${(buf[pos + ENC_GROUP_SIZE] as number).toString(16).padStart(2, '0')}`,
        { input: buf, offset: pos },
      );
    }
    for (let i = pos + ENC_GROUP_SIZE - pad; i < pos + ENC_GROUP_SIZE; i++) {
      if (buf[i] !== flip) {
        throw new CodecError('KV:Codec:KeyPadding', `Non-zero padding byte at ${i} in memcomparable group`, {
          input: buf,
          offset: pos,
        });
      }
    }
    const encodedLength = pos + ENC_GROUP_BYTES - offset;
    return { rawLength: (encodedLength / ENC_GROUP_BYTES) * ENC_GROUP_SIZE - pad, encodedLength };
  }
}

function decodeInto(buf: Uint8Array, offset: number, flip: number): { value: Uint8Array; bytesRead: number } {
  const { rawLength, encodedLength } = scan(buf, offset, flip);
  const value = new Uint8Array(rawLength);
  let src = offset;
  for (let dst = 0; dst < rawLength; dst += ENC_GROUP_SIZE) {
    const n = Math.min(ENC_GROUP_SIZE, rawLength - dst);
    for (let i = 0; i < n; i++) value[dst + i] = (buf[src + i] as number) ^ flip;
    src += ENC_GROUP_BYTES;
  }
  return { value, bytesRead: encodedLength };
}

/**
 * Decodes ascending memcomparable bytes starting at `offset` (TiKV `decode_bytes(data, false)`).
 * Bytes after the encoded value are left alone (`bytesRead` says where it ended).
 *
 * @returns the raw bytes (a new array) and how many encoded bytes were consumed
 * @throws CodecError `KV:Codec:Truncated` if the input ends before the final group,
 *   `KV:Codec:KeyPadding` for a marker below 0xF7 or a non-zero padding byte
 */
export function decodeBytes(buf: Uint8Array, offset = 0): { value: Uint8Array; bytesRead: number } {
  return decodeInto(buf, offset, 0);
}

/**
 * Decodes descending memcomparable bytes (written by {@link encodeBytesDescTo}) at `offset`.
 *
 * @throws CodecError as {@link decodeBytes}, on the inverted bytes
 */
export function decodeBytesDesc(buf: Uint8Array, offset = 0): { value: Uint8Array; bytesRead: number } {
  return decodeInto(buf, offset, 0xff);
}

/**
 * Length of the ascending memcomparable value that starts at `offset`, validated but not copied
 * (TiKV `encoded_bytes_len`, with the checks of `decode_bytes`).
 *
 * @throws CodecError as {@link decodeBytes}
 */
export function encodedBytesLengthAt(buf: Uint8Array, offset = 0): number {
  return scan(buf, offset, 0).encodedLength;
}

/**
 * Length of the descending memcomparable value that starts at `offset`, validated but not copied.
 *
 * @throws CodecError as {@link decodeBytesDesc}
 */
export function encodedBytesLengthAtDesc(buf: Uint8Array, offset = 0): number {
  return scan(buf, offset, 0xff).encodedLength;
}

/**
 * Whether `encoded` starts with the ascending memcomparable encoding of `raw` (TiKV
 * `is_encoded_from(encoded, raw, false)`); trailing bytes (e.g. a timestamp) are allowed. Never
 * throws and allocates nothing.
 */
export function isEncodedFrom(encoded: Uint8Array, raw: Uint8Array): boolean {
  const len = raw.length;
  if (encoded.length < encodedBytesLength(len)) return false;
  let src = 0;
  let dst = 0;
  for (;;) {
    const n = Math.min(ENC_GROUP_SIZE, len - src);
    for (let i = 0; i < n; i++) {
      if (encoded[dst + i] !== raw[src + i]) return false;
    }
    for (let i = n; i < ENC_GROUP_SIZE; i++) {
      if (encoded[dst + i] !== 0) return false;
    }
    const marker = ENC_MARKER - (ENC_GROUP_SIZE - n);
    if (encoded[dst + ENC_GROUP_SIZE] !== marker) return false;
    if (n < ENC_GROUP_SIZE) return true;
    src += ENC_GROUP_SIZE;
    dst += ENC_GROUP_BYTES;
  }
}
