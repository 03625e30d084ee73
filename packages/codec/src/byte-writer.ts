/**
 * A growable byte buffer that encoders append to (the role of Rust's `Vec<u8>` in TiKV's
 * `BufferWriter`). Capacity doubles as needed, so appending n bytes costs amortized O(n).
 *
 * Not shared between concurrent users; one writer builds one value at a time.
 */
export class ByteWriter {
  #buf: Uint8Array;
  #len = 0;

  /** @param initialCapacity - bytes to allocate up front (default 64) */
  constructor(initialCapacity = 64) {
    if (!Number.isSafeInteger(initialCapacity) || initialCapacity < 0) {
      throw new RangeError(`Initial capacity must be a non-negative integer, got ${initialCapacity}`);
    }
    this.#buf = new Uint8Array(initialCapacity);
  }

  /** Number of bytes written so far. */
  get length(): number {
    return this.#len;
  }

  /** Ensures room for `n` more bytes without another reallocation. */
  reserve(n: number): void {
    const need = this.#len + n;
    if (need <= this.#buf.length) return;
    let cap = Math.max(this.#buf.length * 2, 16);
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  /**
   * Reserves `n` bytes and advances the length past them.
   *
   * @returns the position of the first reserved byte in {@link ByteWriter.raw}; the caller fills
   *   the reserved bytes. Read `raw` after calling this, as growing replaces the backing array
   */
  advance(n: number): number {
    this.reserve(n);
    const at = this.#len;
    this.#len += n;
    return at;
  }

  /**
   * The current backing array, for encoders that fill bytes reserved with
   * {@link ByteWriter.advance}. Its length is the capacity, not {@link ByteWriter.length}, and it
   * is replaced whenever the writer grows.
   */
  get raw(): Uint8Array {
    return this.#buf;
  }

  /** Appends one byte (`b & 0xff`). */
  appendByte(b: number): void {
    const at = this.advance(1);
    this.#buf[at] = b;
  }

  /** Appends a copy of `bytes` as they are (no encoding). */
  append(bytes: Uint8Array): void {
    const at = this.advance(bytes.length);
    this.#buf.set(bytes, at);
  }

  /** Forgets the content, keeping the allocated capacity. */
  clear(): void {
    this.#len = 0;
  }

  /** A copy of the bytes written so far; the writer stays usable. */
  toBytes(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }

  /**
   * A view of the bytes written so far, without copying. It aliases the writer's memory: it is
   * valid only until the next write or `clear()`, and must not be mutated.
   */
  view(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }
}
