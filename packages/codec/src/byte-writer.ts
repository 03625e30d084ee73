/**
 * A growable byte buffer that encoders append to (the role of Rust's `Vec<u8>` in TiKV's
 * `BufferWriter`). Capacity doubles as needed, so appending n bytes costs amortized O(n).
 *
 * Not shared between concurrent users; one writer builds one value at a time.
 */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #len = 0;

  /** @param initialCapacity - bytes to allocate up front (default 64) */
  constructor(initialCapacity = 64) {
    if (!Number.isSafeInteger(initialCapacity) || initialCapacity < 0) {
      throw new RangeError(`Initial capacity must be a non-negative integer, got ${initialCapacity}`);
    }
    this.#buf = new Uint8Array(initialCapacity);
    this.#view = new DataView(this.#buf.buffer);
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
    this.#view = new DataView(next.buffer);
  }

  /**
   * Reserves `n` bytes and advances the length past them.
   *
   * @returns the position of the first reserved byte, for use with {@link ByteWriter.raw} or
   *   {@link ByteWriter.dataView}, which are valid until the next call that grows the writer
   */
  advance(n: number): number {
    this.reserve(n);
    const at = this.#len;
    this.#len += n;
    return at;
  }

  /** The backing array (capacity may exceed {@link ByteWriter.length}). Internal use by encoders. */
  get raw(): Uint8Array {
    return this.#buf;
  }

  /** A DataView over the backing array. Internal use by encoders. */
  get dataView(): DataView {
    return this.#view;
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
