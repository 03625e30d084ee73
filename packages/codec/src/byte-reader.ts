import { CodecError, checkOffset, ensureAvailable } from './errors';
import { decodeBytes, decodeBytesDesc } from './memcomparable';
import {
  U16_SIZE,
  U32_SIZE,
  U64_SIZE,
  decodeF64,
  decodeF64Desc,
  decodeI64,
  decodeI64Desc,
  decodeU16,
  decodeU32,
  decodeU32Le,
  decodeU64,
  decodeU64Desc,
  decodeU64Le,
} from './number';
import { decodeUvarint, decodeVarint } from './varint';

/**
 * A cursor over encoded bytes for sequential decoding (the role of TiKV's `&mut &[u8]` readers).
 *
 * Each `read*` decodes at the current position and advances past the value. On failure it throws
 * the decoder's {@link CodecError} (offsets are positions in the whole buffer) and does not move.
 * The buffer is not copied and must not change while it is read.
 */
export class ByteReader {
  readonly #buf: Uint8Array;
  #pos: number;

  /** @param offset - where to start, default 0 */
  constructor(buf: Uint8Array, offset = 0) {
    checkOffset(offset);
    this.#buf = buf;
    this.#pos = offset;
  }

  /** Current position in the buffer. */
  get offset(): number {
    return this.#pos;
  }

  /** Bytes left after the current position. */
  get remaining(): number {
    return Math.max(0, this.#buf.length - this.#pos);
  }

  /** Whether every byte has been read. */
  isEof(): boolean {
    return this.#pos >= this.#buf.length;
  }

  #fixed<T>(size: number, decode: (buf: Uint8Array, offset: number) => T): T {
    const v = decode(this.#buf, this.#pos);
    this.#pos += size;
    return v;
  }

  #variable<T>(decode: (buf: Uint8Array, offset: number) => { value: T; bytesRead: number }): T {
    const { value, bytesRead } = decode(this.#buf, this.#pos);
    this.#pos += bytesRead;
    return value;
  }

  /** One byte. @throws CodecError `KV:Codec:Truncated` at the end */
  readU8(): number {
    ensureAvailable(this.#buf, this.#pos, 1, 'u8');
    return this.#buf[this.#pos++] as number;
  }

  /** Big-endian u16. @throws CodecError `KV:Codec:Truncated` */
  readU16(): number {
    return this.#fixed(U16_SIZE, decodeU16);
  }

  /** Big-endian u32. @throws CodecError `KV:Codec:Truncated` */
  readU32(): number {
    return this.#fixed(U32_SIZE, decodeU32);
  }

  /** Little-endian u32. @throws CodecError `KV:Codec:Truncated` */
  readU32Le(): number {
    return this.#fixed(U32_SIZE, decodeU32Le);
  }

  /** Big-endian u64. @throws CodecError `KV:Codec:Truncated` */
  readU64(): bigint {
    return this.#fixed(U64_SIZE, decodeU64);
  }

  /** Descending u64. @throws CodecError `KV:Codec:Truncated` */
  readU64Desc(): bigint {
    return this.#fixed(U64_SIZE, decodeU64Desc);
  }

  /** Little-endian u64. @throws CodecError `KV:Codec:Truncated` */
  readU64Le(): bigint {
    return this.#fixed(U64_SIZE, decodeU64Le);
  }

  /** Comparable i64. @throws CodecError `KV:Codec:Truncated` */
  readI64(): bigint {
    return this.#fixed(U64_SIZE, decodeI64);
  }

  /** Descending comparable i64. @throws CodecError `KV:Codec:Truncated` */
  readI64Desc(): bigint {
    return this.#fixed(U64_SIZE, decodeI64Desc);
  }

  /** Comparable f64. @throws CodecError `KV:Codec:Truncated` */
  readF64(): number {
    return this.#fixed(U64_SIZE, decodeF64);
  }

  /** Descending comparable f64. @throws CodecError `KV:Codec:Truncated` */
  readF64Desc(): number {
    return this.#fixed(U64_SIZE, decodeF64Desc);
  }

  /** Unsigned varint. @throws CodecError `KV:Codec:Truncated` / `KV:Codec:VarintOverflow` */
  readUvarint(): bigint {
    return this.#variable(decodeUvarint);
  }

  /** Zigzag signed varint. @throws CodecError `KV:Codec:Truncated` / `KV:Codec:VarintOverflow` */
  readVarint(): bigint {
    return this.#variable(decodeVarint);
  }

  /** Ascending memcomparable bytes (a new array). @throws CodecError as `decodeBytes` */
  readBytes(): Uint8Array {
    return this.#variable(decodeBytes);
  }

  /** Descending memcomparable bytes (a new array). @throws CodecError as `decodeBytesDesc` */
  readBytesDesc(): Uint8Array {
    return this.#variable(decodeBytesDesc);
  }

  /**
   * The next `n` bytes as they are, as a view into the buffer (no copy).
   *
   * @throws CodecError `KV:Codec:Truncated` if fewer than `n` bytes remain
   */
  readRaw(n: number): Uint8Array {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`Length must be a non-negative integer, got ${n}`);
    ensureAvailable(this.#buf, this.#pos, n, 'raw bytes');
    const out = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  /** Every byte after the current position as a view; the reader is then at the end. */
  readRest(): Uint8Array {
    const out = this.#buf.subarray(Math.min(this.#pos, this.#buf.length));
    this.#pos = Math.max(this.#pos, this.#buf.length);
    return out;
  }

  /**
   * Asserts that every byte has been read, for decoders of self-delimiting records.
   *
   * @throws CodecError `KV:Codec:TrailingBytes` if bytes remain
   */
  expectEof(): void {
    if (this.#pos < this.#buf.length) {
      throw new CodecError('KV:Codec:TrailingBytes', `Unexpected ${this.#buf.length - this.#pos} trailing bytes`, {
        input: this.#buf,
        offset: this.#pos,
      });
    }
  }
}
