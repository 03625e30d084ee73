import fc from 'fast-check';
import { bytesEqual, compareBytes, concatBytes, fromHex, toHex } from './bytes';
import { CodecError } from './errors';
import { Key } from './key';
import { encodeBytes } from './memcomparable';
import { MAX_U64 } from './number';
import { arbKeyBytes, assertProperty } from './testdata/property';

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);
const arbTs = fc.oneof(fc.bigInt({ min: 0n, max: MAX_U64 }), fc.constantFrom(0n, 1n, MAX_U64));

function codecErrorOf(f: () => unknown): CodecError {
  try {
    f();
  } catch (e: unknown) {
    if (e instanceof CodecError) return e;
    throw new Error(`Expected a CodecError, got ${String(e)}`);
  }
  throw new Error('Expected a CodecError, got a result');
}

describe('Key', () => {
  it('golden: from_raw("abc").append_ts(1)', () => {
    const k = Key.fromRaw(new TextEncoder().encode('abc')).appendTs(1n);
    expect(toHex(k.asEncoded())).toBe('6162630000000000fa' + 'fffffffffffffffe');
    expect(k.toString()).toBe('6162630000000000FAFFFFFFFFFFFFFFFE');
    expect(k.decodeTs()).toBe(1n);
    expect(k.truncateTs().toRaw()).toEqual(new TextEncoder().encode('abc'));
  });

  it('round-trips raw key and timestamp', () => {
    assertProperty(
      fc.property(arbKeyBytes(), arbTs, (raw, ts) => {
        const k = Key.fromRaw(raw);
        const kt = k.appendTs(ts);
        const split = Key.splitOnTs(kt.asEncoded());
        return (
          bytesEqual(k.toRaw(), raw) &&
          bytesEqual(kt.toRaw(), raw) && // to_raw ignores the timestamp, as in TiKV
          kt.decodeTs() === ts &&
          kt.truncateTs().equals(k) &&
          split.ts === ts &&
          bytesEqual(split.key, k.asEncoded()) &&
          bytesEqual(Key.truncateTsFor(kt.asEncoded()), k.asEncoded()) &&
          Key.decodeTsFrom(kt.asEncoded()) === ts &&
          kt.length === k.length + 8 &&
          k.isEncodedFrom(raw) &&
          kt.isEncodedFrom(raw) &&
          Key.isUserKeyEq(kt.asEncoded(), k.asEncoded())
        );
      }),
    );
  });

  it('same user key: the newer timestamp sorts first', () => {
    assertProperty(
      fc.property(arbKeyBytes(), arbTs, arbTs, (raw, t1, t2) => {
        const a = Key.fromRaw(raw).appendTs(t1);
        const b = Key.fromRaw(raw).appendTs(t2);
        const expected = t1 > t2 ? -1 : t1 < t2 ? 1 : 0;
        return sign(Key.compare(a, b)) === expected && sign(a.compareTo(b)) === expected;
      }),
    );
  });

  it('different user keys keep raw order whatever the timestamps', () => {
    assertProperty(
      fc.property(arbKeyBytes(), arbKeyBytes(), arbTs, arbTs, (r1, r2, t1, t2) => {
        fc.pre(!bytesEqual(r1, r2));
        const a = Key.fromRaw(r1).appendTs(t1);
        const b = Key.fromRaw(r2).appendTs(t2);
        return sign(Key.compare(a, b)) === sign(compareBytes(r1, r2));
      }),
      { numRuns: 500 },
    );
  });

  it('isUserKeyEq and isEncodedFrom reject other keys', () => {
    assertProperty(
      fc.property(arbKeyBytes(), arbKeyBytes(), arbTs, (r1, r2, ts) => {
        const kt = Key.fromRaw(r1).appendTs(ts);
        const other = Key.fromRaw(r2);
        const same = bytesEqual(r1, r2);
        return Key.isUserKeyEq(kt.asEncoded(), other.asEncoded()) === same && kt.isEncodedFrom(r2) === same;
      }),
    );
  });

  it('is immutable and copies encoded input', () => {
    const src = encodeBytes(Uint8Array.of(1, 2));
    const k = Key.fromEncoded(src);
    src[0] = 9;
    expect(k.toRaw()).toEqual(Uint8Array.of(1, 2));
    const buf = Buffer.from(encodeBytes(Uint8Array.of(3)));
    const kb = Key.fromEncoded(buf);
    buf[0] = 4;
    expect(kb.toRaw()).toEqual(Uint8Array.of(3));
    const kt = k.appendTs(5n);
    expect(k.length).toBe(9);
    expect(kt.length).toBe(17);
  });

  it('sorts with Key.compare like the encoded bytes', () => {
    const keys = ['b', 'a', 'ab', ''].map((s) => Key.fromRaw(new TextEncoder().encode(s)));
    const sorted = [...keys].sort(Key.compare).map((k) => new TextDecoder().decode(k.toRaw()));
    expect(sorted).toEqual(['', 'a', 'ab', 'b']);
  });

  it('short keys give KV:Codec:KeyLength; malformed keys give typed errors', () => {
    const short = Key.fromEncoded(fromHex('01020304050607'));
    expect(codecErrorOf(() => short.decodeTs()).code).toBe('KV:Codec:KeyLength');
    expect(codecErrorOf(() => short.truncateTs()).code).toBe('KV:Codec:KeyLength');
    expect(codecErrorOf(() => Key.splitOnTs(short.asEncoded())).code).toBe('KV:Codec:KeyLength');
    expect(codecErrorOf(() => Key.truncateTsFor(new Uint8Array(0))).code).toBe('KV:Codec:KeyLength');
    expect(codecErrorOf(() => Key.decodeTsFrom(new Uint8Array(7))).code).toBe('KV:Codec:KeyLength');
    expect(codecErrorOf(() => short.toRaw()).code).toBe('KV:Codec:Truncated');
    expect(codecErrorOf(() => Key.fromEncoded(fromHex('0000000000000000f0')).toRaw()).code).toBe('KV:Codec:KeyPadding');
    expect(Key.isUserKeyEq(new Uint8Array(3), new Uint8Array(3))).toBe(false);
  });

  it('toRaw on arbitrary bytes returns the canonical decoding or throws a CodecError', () => {
    assertProperty(
      fc.property(fc.uint8Array({ maxLength: 30 }), fc.uint8Array({ maxLength: 9 }), (head, tail) => {
        const bytes = concatBytes(head, tail);
        try {
          const raw = Key.fromEncoded(bytes).toRaw();
          return Key.fromEncoded(bytes).isEncodedFrom(raw);
        } catch (e: unknown) {
          return e instanceof CodecError;
        }
      }),
    );
  });

  it('appendTs rejects non-u64 timestamps', () => {
    expect(() => Key.fromRaw(new Uint8Array(0)).appendTs(-1n)).toThrow(RangeError);
    expect(() => Key.fromRaw(new Uint8Array(0)).appendTs(MAX_U64 + 1n)).toThrow(RangeError);
  });
});
