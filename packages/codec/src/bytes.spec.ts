import fc from 'fast-check';
import { CodecError } from './errors';
import { bytesEqual, compareBytes, concatBytes, fromHex, hasPrefix, keySuccessor, nextKey, prefixNext, toHex } from './bytes';
import { arbKeyBytes, assertProperty } from './testdata/property';

const b = (...xs: number[]): Uint8Array => Uint8Array.from(xs);
const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

describe('compareBytes', () => {
  it('orders unsigned bytes lexicographically, a prefix first', () => {
    expect(compareBytes(b(), b())).toBe(0);
    expect(compareBytes(b(), b(0))).toBe(-1);
    expect(compareBytes(b(1, 2), b(1, 2, 0))).toBe(-1);
    expect(compareBytes(b(0x7f), b(0x80))).toBe(-1);
    expect(compareBytes(b(0xff), b(0x00, 0xff))).toBe(1);
    expect(compareBytes(b(1, 2, 3), b(1, 2, 3))).toBe(0);
  });

  it('agrees with Buffer.compare and is antisymmetric', () => {
    assertProperty(
      fc.property(arbKeyBytes(), arbKeyBytes(), (x, y) => {
        const c = compareBytes(x, y);
        expect(c).toBe(Buffer.compare(x, y));
        expect(compareBytes(y, x)).toBe(c === 0 ? 0 : -c);
        expect(bytesEqual(x, y)).toBe(c === 0);
      }),
    );
  });

  it('works on subarray views with a byte offset', () => {
    const base = b(9, 1, 2, 3, 9);
    expect(compareBytes(base.subarray(1, 4), b(1, 2, 3))).toBe(0);
    expect(bytesEqual(base.subarray(1, 4), b(1, 2, 3))).toBe(true);
  });
});

describe('concatBytes / hasPrefix', () => {
  it('concatenates in order', () => {
    expect(concatBytes(b(1), b(), b(2, 3))).toEqual(b(1, 2, 3));
    expect(concatBytes()).toEqual(b());
  });

  it('a concatenation starts with its first part', () => {
    assertProperty(
      fc.property(arbKeyBytes(), arbKeyBytes(), (x, y) => {
        expect(hasPrefix(concatBytes(x, y), x)).toBe(true);
        expect(hasPrefix(x, b())).toBe(true);
      }),
    );
  });
});

describe('toHex / fromHex', () => {
  it('round-trips', () => {
    assertProperty(
      fc.property(fc.uint8Array({ maxLength: 64 }), (x) => {
        const h = toHex(x);
        expect(h).toBe(Buffer.from(x).toString('hex'));
        expect(fromHex(h)).toEqual(x);
        expect(fromHex(h.toUpperCase())).toEqual(x);
      }),
    );
  });

  it('rejects odd lengths and non-hex digits with BadHex', () => {
    for (const bad of ['0', 'abc', 'zz', '0g', '  ', '0x00']) {
      expect(() => fromHex(bad)).toThrow(CodecError);
      try {
        fromHex(bad);
      } catch (e: unknown) {
        expect(e).toBeInstanceOf(CodecError);
        expect((e as CodecError).code).toBe('KV:Codec:BadHex');
      }
    }
  });
});

describe('prefixNext (TiKV convert_to_prefix_next)', () => {
  it('matches known vectors', () => {
    expect(prefixNext(b())).toEqual(b(0));
    expect(prefixNext(b(0))).toEqual(b(1));
    expect(prefixNext(b(1, 2, 3))).toEqual(b(1, 2, 4));
    expect(prefixNext(b(1, 2, 0xff))).toEqual(b(1, 3, 0));
    expect(prefixNext(b(1, 0xff, 0xff))).toEqual(b(2, 0, 0));
    expect(prefixNext(b(0xff, 0xff))).toEqual(b(0xff, 0xff, 0));
  });

  it('bounds every key with the prefix from above and does not modify its input', () => {
    assertProperty(
      fc.property(arbKeyBytes(12), arbKeyBytes(12), (p, suffix) => {
        fc.pre(p.length > 0 && p.some((x) => x !== 0xff));
        const copy = p.slice();
        const next = prefixNext(p);
        expect(p).toEqual(copy);
        expect(next.length).toBe(p.length);
        expect(compareBytes(p, next)).toBe(-1);
        expect(compareBytes(concatBytes(p, suffix), next)).toBe(-1);
      }),
    );
  });
});

describe('Buffer inputs', () => {
  it('results never alias a Buffer argument', () => {
    const buf = Buffer.from([1, 2, 3]);
    const pn = prefixNext(buf);
    const nk = nextKey(buf);
    buf[0] = 9;
    expect(pn).toEqual(b(1, 2, 4));
    expect(nk).toEqual(b(1, 2, 4));
  });
});

describe('nextKey (TiKV keys::next_key)', () => {
  it('matches TiKV examples', () => {
    const s = (x: string): Uint8Array => Uint8Array.from(Buffer.from(x, 'latin1'));
    expect(nextKey(s('123'))).toEqual(s('124'));
    expect(nextKey(s('12\xff'))).toEqual(s('13'));
    expect(nextKey(s('\xff\xff'))).toEqual(s(''));
    expect(nextKey(s('\xff\xfe'))).toEqual(s('\xff\xff'));
    expect(nextKey(s('T'))).toEqual(s('U'));
    expect(nextKey(s(''))).toEqual(s(''));
  });

  it('is exactly the end of the prefix range: x has prefix p iff p <= x < nextKey(p)', () => {
    assertProperty(
      fc.property(arbKeyBytes(10), arbKeyBytes(12), (p, x) => {
        const end = nextKey(p);
        const inRange = compareBytes(p, x) <= 0 && (end.length === 0 || compareBytes(x, end) < 0);
        expect(inRange).toBe(hasPrefix(x, p));
      }),
    );
  });
});

describe('keySuccessor', () => {
  it('is the immediate successor', () => {
    assertProperty(
      fc.property(arbKeyBytes(), arbKeyBytes(), (k, x) => {
        const s = keySuccessor(k);
        expect(compareBytes(k, s)).toBe(-1);
        // No key lies strictly between k and its successor.
        expect(compareBytes(k, x) < 0 && compareBytes(x, s) < 0).toBe(false);
        expect(sign(compareBytes(s, k))).toBe(1);
      }),
    );
  });
});
