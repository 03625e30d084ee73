import { CodecError } from './errors';

/**
 * The project's one byte-order comparator (STYLE.md §6): lexicographic over unsigned bytes, and a
 * proper prefix sorts before the longer key. This is RocksDB's default bytewise comparator and
 * the order of TiKV keys.
 *
 * @returns a negative number if `a < b`, 0 if equal, a positive number if `a > b`
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  if (a === b) return 0;
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** Whether `a` and `b` hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return false;
  }
  return true;
}

/** Whether `key` starts with `prefix` (every key starts with the empty prefix). */
export function hasPrefix(key: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > key.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (key[i] !== prefix[i]) return false;
  }
  return true;
}

/** A new array holding the given parts one after another. The inputs are not modified. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

const HEX_TABLE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case hex of `bytes`, two digits per byte, no separators (`[0x01, 0xab]` → `"01ab"`). */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX_TABLE[bytes[i] as number] as string;
  return s;
}

function hexNibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return -1;
}

/**
 * Parses hex (either case, no separators or `0x` prefix) into bytes.
 *
 * @throws CodecError `KV:Codec:BadHex` for an odd length or a non-hex character; the error's
 *   offset is the character index in `hex` and its input is the UTF-8 of `hex`
 */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0) {
    throw new CodecError('KV:Codec:BadHex', `Hex string has odd length ${hex.length}`, {
      input: new TextEncoder().encode(hex),
      offset: hex.length - 1,
    });
  }
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) {
    const hi = hexNibble(hex.charCodeAt(2 * i));
    const lo = hexNibble(hex.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) {
      throw new CodecError('KV:Codec:BadHex', `Bad hex digit in ${JSON.stringify(hex.slice(2 * i, 2 * i + 2))}`, {
        input: new TextEncoder().encode(hex),
        offset: 2 * i,
      });
    }
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/**
 * TiKV's `prefix_next` (tidb_query `convert_to_prefix_next`, TiDB `Key.PrefixNext`): adds one to
 * the key read as a big-endian number, keeping its length, so that `[key, prefixNext(key))`
 * covers every key starting with `key`.
 *
 * Edge cases follow TiKV: the empty key gives `[0x00]`, and a key of only `0xff` bytes (which has
 * no such upper bound) gives the key with `0x00` appended. Use {@link nextKey} when an
 * unbounded end must be reported as empty instead.
 *
 * @returns a new array; the input is not modified
 */
export function prefixNext(key: Uint8Array): Uint8Array {
  // `new Uint8Array(view)` always copies; `Buffer#slice` would alias the caller's memory.
  const out = new Uint8Array(key);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== 0xff) {
      out[i] = (out[i] as number) + 1;
      return out;
    }
    out[i] = 0;
  }
  const appended = new Uint8Array(key.length + 1);
  appended.set(key);
  return appended;
}

/**
 * TiKV `keys::next_key`: the smallest key greater than every key that starts with `key` — drop
 * trailing `0xff` bytes and add one to the last remaining byte (`"12\xff"` → `"13"`).
 *
 * @returns a new array; empty when no such key exists (`key` is empty or all `0xff`), which TiKV
 *   reads as "unbounded"
 */
export function nextKey(key: Uint8Array): Uint8Array {
  for (let i = key.length - 1; i >= 0; i--) {
    if (key[i] !== 0xff) {
      const out = new Uint8Array(key.subarray(0, i + 1));
      out[i] = (out[i] as number) + 1;
      return out;
    }
  }
  return new Uint8Array(0);
}

/**
 * The immediate successor of `key` in byte order: `key` with `0x00` appended (TiDB `Key.Next`).
 * No key sorts strictly between the two.
 *
 * @returns a new array
 */
export function keySuccessor(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
}
