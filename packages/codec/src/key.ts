import { bytesEqual, compareBytes, toHex } from './bytes';
import { CodecError } from './errors';
import { decodeBytes, encodeBytes, isEncodedFrom } from './memcomparable';
import { MAX_U64, U64_SIZE, decodeU64Desc, writeU64BE } from './number';

function shortKey(what: string, bytes: Uint8Array): CodecError {
  return new CodecError('KV:Codec:KeyLength', `${what}: key of ${bytes.length} bytes is shorter than a timestamp`, {
    input: bytes,
    offset: 0,
  });
}

/**
 * A transactional key (TiKV `txn_types::Key`): the memcomparable encoding of a user ("raw") key,
 * optionally followed by an 8-byte descending timestamp.
 *
 * Whether a key carries a timestamp is not recorded; callers use it consistently, as in TiKV.
 * Encoded order is raw order, and for the same user key a newer (larger) timestamp sorts first.
 *
 * Immutable: every method returns a new `Key`. The array from {@link Key.asEncoded} is the key's
 * own storage and must not be mutated.
 */
export class Key {
  readonly #encoded: Uint8Array;

  private constructor(encoded: Uint8Array) {
    this.#encoded = encoded;
  }

  /** The key for user key `raw`: its memcomparable encoding (TiKV `Key::from_raw`). */
  static fromRaw(raw: Uint8Array): Key {
    return new Key(encodeBytes(raw));
  }

  /**
   * Wraps already-encoded bytes (TiKV `Key::from_encoded`), e.g. a key read from the engine.
   * The bytes are copied, so the caller may reuse its array. Nothing is validated here; decoding
   * methods validate.
   */
  static fromEncoded(encoded: Uint8Array): Key {
    // Copy into a plain Uint8Array: `Buffer#slice` would alias the caller's memory.
    return new Key(new Uint8Array(encoded));
  }

  /**
   * Splits a timestamped encoded key into the encoded user key and the timestamp (TiKV
   * `Key::split_on_ts_for`). The returned `key` is a view into `bytes`.
   *
   * @throws CodecError `KV:Codec:KeyLength` if `bytes` is shorter than 8 bytes
   */
  static splitOnTs(bytes: Uint8Array): { key: Uint8Array; ts: bigint } {
    if (bytes.length < U64_SIZE) throw shortKey('Cannot split timestamp', bytes);
    const pos = bytes.length - U64_SIZE;
    return { key: bytes.subarray(0, pos), ts: decodeU64Desc(bytes, pos) };
  }

  /**
   * The encoded user key of a timestamped encoded key, as a view into `bytes` (TiKV
   * `Key::truncate_ts_for`).
   *
   * @throws CodecError `KV:Codec:KeyLength` if `bytes` is shorter than 8 bytes
   */
  static truncateTsFor(bytes: Uint8Array): Uint8Array {
    if (bytes.length < U64_SIZE) throw shortKey('Cannot truncate timestamp', bytes);
    return bytes.subarray(0, bytes.length - U64_SIZE);
  }

  /**
   * The timestamp of a timestamped encoded key (TiKV `Key::decode_ts_from`).
   *
   * @throws CodecError `KV:Codec:KeyLength` if `bytes` is shorter than 8 bytes
   */
  static decodeTsFrom(bytes: Uint8Array): bigint {
    if (bytes.length < U64_SIZE) throw shortKey('Cannot decode timestamp', bytes);
    return decodeU64Desc(bytes, bytes.length - U64_SIZE);
  }

  /**
   * Whether the user-key part of the timestamped encoded key `tsEncodedKey` equals the encoded
   * user key `userKey` (TiKV `Key::is_user_key_eq`). Never throws.
   */
  static isUserKeyEq(tsEncodedKey: Uint8Array, userKey: Uint8Array): boolean {
    if (tsEncodedKey.length !== userKey.length + U64_SIZE) return false;
    // Compare from the end: TiDB record keys usually differ only in their trailing row id.
    for (let i = userKey.length - 1; i >= 0; i--) {
      if (tsEncodedKey[i] !== userKey[i]) return false;
    }
    return true;
  }

  /** Orders keys by their encoded bytes ({@link compareBytes}); usable as an `Array.sort` comparator. */
  static compare(a: Key, b: Key): number {
    return compareBytes(a.#encoded, b.#encoded);
  }

  /** Length of the encoded form in bytes. */
  get length(): number {
    return this.#encoded.length;
  }

  /** The encoded bytes (TiKV `as_encoded`). The key's own storage: must not be mutated. */
  asEncoded(): Uint8Array {
    return this.#encoded;
  }

  /**
   * The user key (TiKV `Key::to_raw`): decodes the memcomparable part at the start. As in TiKV,
   * bytes after it (the timestamp of a timestamped key) are ignored.
   *
   * @returns a new array
   * @throws CodecError `KV:Codec:Truncated` / `KV:Codec:KeyPadding` if the key is not a valid
   *   encoding
   */
  toRaw(): Uint8Array {
    return decodeBytes(this.#encoded, 0).value;
  }

  /**
   * This key with `ts` appended as a descending big-endian u64 (TiKV `Key::append_ts`), so newer
   * versions of the same user key sort first.
   *
   * @throws RangeError if `ts` is not a u64 bigint
   */
  appendTs(ts: bigint): Key {
    if (typeof ts !== 'bigint' || ts < 0n || ts > MAX_U64) {
      throw new RangeError(`Timestamp ${String(ts)} is not a u64 bigint`);
    }
    const n = this.#encoded.length;
    const out = new Uint8Array(n + U64_SIZE);
    out.set(this.#encoded);
    writeU64BE(out, n, ts ^ MAX_U64);
    return new Key(out);
  }

  /**
   * The timestamp of a timestamped key (TiKV `Key::decode_ts`). The caller must know the key has
   * one; only the length is checked.
   *
   * @throws CodecError `KV:Codec:KeyLength` if the key is shorter than 8 bytes
   */
  decodeTs(): bigint {
    return Key.decodeTsFrom(this.#encoded);
  }

  /**
   * This key without its timestamp (TiKV `Key::truncate_ts`). The caller must know the key has one.
   *
   * @throws CodecError `KV:Codec:KeyLength` if the key is shorter than 8 bytes
   */
  truncateTs(): Key {
    return new Key(Key.truncateTsFor(this.#encoded));
  }

  /**
   * Whether this key is the encoding of `raw`, with or without trailing bytes such as a
   * timestamp (TiKV `Key::is_encoded_from`). Never throws.
   */
  isEncodedFrom(raw: Uint8Array): boolean {
    return isEncodedFrom(this.#encoded, raw);
  }

  /** Same as {@link Key.compare}(this, other). */
  compareTo(other: Key): number {
    return compareBytes(this.#encoded, other.#encoded);
  }

  /** Whether both keys have the same encoded bytes. */
  equals(other: Key): boolean {
    return bytesEqual(this.#encoded, other.#encoded);
  }

  /** Upper-case hex of the encoded bytes, as TiKV logs keys. */
  toString(): string {
    return toHex(this.#encoded).toUpperCase();
  }
}
