/**
 * Little helpers for the record payload encoding: LEB128 varints (numbers and bigints) and raw
 * bytes. Internal to the package.
 */


/** Appends bytes to a growing buffer. */
export class ByteWriter {
  #buf: Uint8Array;
  #pos = 0;

  constructor(initialCapacity = 256) {
    this.#buf = new Uint8Array(Math.max(16, initialCapacity));
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#pos;
  }

  #reserve(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.#pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
  }

  /** A non-negative safe integer as an unsigned LEB128 varint. */
  varint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`Varint ${value} is not a non-negative safe integer`);
    this.#reserve(10);
    let v = value;
    while (v >= 0x80) {
      this.#buf[this.#pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.#buf[this.#pos++] = v;
  }

  /** An unsigned 64-bit bigint as a LEB128 varint. */
  varbig(value: bigint): void {
    if (value < 0n || value >= 1n << 64n) throw new RangeError(`Value ${value} is not a uint64`);
    if (value <= BigInt(Number.MAX_SAFE_INTEGER)) {
      this.varint(Number(value));
      return;
    }
    this.#reserve(10);
    let v = value;
    while (v >= 0x80n) {
      this.#buf[this.#pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.#buf[this.#pos++] = Number(v);
  }

  /** Raw bytes (no length prefix). */
  bytes(data: Uint8Array): void {
    this.#reserve(data.length);
    this.#buf.set(data, this.#pos);
    this.#pos += data.length;
  }

  /** A length-prefixed byte string. */
  lenBytes(data: Uint8Array): void {
    this.varint(data.length);
    this.bytes(data);
  }

  /** The bytes written (a view of the internal buffer; do not keep writing after taking it). */
  finish(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }
}

/** Thrown by {@link ByteReader} on truncated or malformed input. */
export class DecodeError extends Error {}

/** Reads what {@link ByteWriter} wrote. */
export class ByteReader {
  readonly #buf: Uint8Array;
  #pos: number;

  constructor(buf: Uint8Array, pos = 0) {
    this.#buf = buf;
    this.#pos = pos;
  }

  get position(): number {
    return this.#pos;
  }

  get isAtEnd(): boolean {
    return this.#pos >= this.#buf.length;
  }

  #byte(): number {
    const b = this.#buf[this.#pos];
    if (b === undefined) throw new DecodeError(`Unexpected end of input at ${this.#pos}`);
    this.#pos++;
    return b;
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.#byte();
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (!Number.isSafeInteger(result)) throw new DecodeError(`Varint at ${this.#pos} is too large`);
        return result;
      }
      mul *= 0x80;
    }
    throw new DecodeError(`Varint at ${this.#pos} is too long`);
  }

  varbig(): bigint {
    const start = this.#pos;
    // Fast path: up to 7 bytes (49 bits) fit a number exactly.
    let small = 0;
    let mul = 1;
    for (let i = 0; i < 7; i++) {
      const b = this.#byte();
      small += (b & 0x7f) * mul;
      if (b < 0x80) return BigInt(small);
      mul *= 0x80;
    }
    this.#pos = start;
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.#byte();
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) {
        if (result >= 1n << 64n) throw new DecodeError(`Varint at ${start} exceeds 64 bits`);
        return result;
      }
      shift += 7n;
    }
    throw new DecodeError(`Varint at ${start} is too long`);
  }

  /** `length` raw bytes as a view of the input. */
  bytes(length: number): Uint8Array {
    if (this.#pos + length > this.#buf.length) {
      throw new DecodeError(`Need ${length} bytes at ${this.#pos}, input has ${this.#buf.length}`);
    }
    const out = this.#buf.subarray(this.#pos, this.#pos + length);
    this.#pos += length;
    return out;
  }

  lenBytes(): Uint8Array {
    return this.bytes(this.varint());
  }
}

/** Writes a little-endian uint32 into `buf` at `pos`. */
export function putU32(buf: Uint8Array, pos: number, value: number): void {
  buf[pos] = value & 0xff;
  buf[pos + 1] = (value >>> 8) & 0xff;
  buf[pos + 2] = (value >>> 16) & 0xff;
  buf[pos + 3] = (value >>> 24) & 0xff;
}

/** Reads a little-endian uint32 from `buf` at `pos` (the caller checks bounds). */
export function getU32(buf: Uint8Array, pos: number): number {
  return (
    ((buf[pos] as number) | ((buf[pos + 1] as number) << 8) | ((buf[pos + 2] as number) << 16)) +
    (buf[pos + 3] as number) * 0x1000000
  );
}

