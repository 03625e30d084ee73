import fc from 'fast-check';
import { ByteWriter } from './byte-writer';
import { bytesEqual, compareBytes, concatBytes, fromHex, toHex } from './bytes';
import { CodecError } from './errors';
import {
  decodeBytes,
  decodeBytesDesc,
  encodeBytes,
  encodeBytesDesc,
  encodeBytesDescTo,
  encodeBytesTo,
  encodedBytesLength,
  encodedBytesLengthAt,
  encodedBytesLengthAtDesc,
  isEncodedFrom,
} from './memcomparable';
import { arbKeyBytes, assertProperty } from './testdata/property';

const b = (...xs: number[]): Uint8Array => Uint8Array.from(xs);
const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);
const neg = (n: number): number => (n === 0 ? 0 : -n);

/** Runs `f` and returns the CodecError it throws; fails if it throws anything else or nothing. */
function codecErrorOf(f: () => unknown): CodecError {
  try {
    f();
  } catch (e: unknown) {
    if (e instanceof CodecError) return e;
    throw new Error(`Expected a CodecError, got ${String(e)}`);
  }
  throw new Error('Expected a CodecError, got a result');
}

describe('encodeBytes golden vectors (TiKV/TiDB codec tests)', () => {
  const cases: Array<[number[], string]> = [
    [[], '0000000000000000f7'],
    [[0], '0000000000000000f8'],
    [[1, 2, 3], '0102030000000000fa'],
    [[1, 2, 3, 0], '0102030000000000fb'],
    [[1, 2, 3, 4, 5, 6, 7], '0102030405060700fe'],
    [[0, 0, 0, 0, 0, 0, 0, 0], '0000000000000000ff0000000000000000f7'],
    [[1, 2, 3, 4, 5, 6, 7, 8], '0102030405060708ff0000000000000000f7'],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9], '0102030405060708ff0900000000000000f8'],
  ];
  it.each(cases)('encodeBytes(%j)', (raw, hex) => {
    const enc = encodeBytes(Uint8Array.from(raw));
    expect(toHex(enc)).toBe(hex);
    expect(encodedBytesLength(raw.length)).toBe(enc.length);
    expect(decodeBytes(enc)).toEqual({ value: Uint8Array.from(raw), bytesRead: enc.length });
  });

  it('descending is the bitwise-not of ascending', () => {
    expect(toHex(encodeBytesDesc(b()))).toBe('ffffffffffffffff08');
    expect(toHex(encodeBytesDesc(b(1, 2, 3)))).toBe('fefdfcffffffffff05');
    assertProperty(
      fc.property(arbKeyBytes(), (x) => {
        const asc = encodeBytes(x);
        const desc = encodeBytesDesc(x);
        return desc.length === asc.length && asc.every((v, i) => desc[i] === (~v & 0xff));
      }),
    );
  });
});

describe('memcomparable order', () => {
  it('ascending encoding preserves raw order', () => {
    assertProperty(
      fc.property(arbKeyBytes(), arbKeyBytes(), (x, y) => {
        return sign(compareBytes(encodeBytes(x), encodeBytes(y))) === sign(compareBytes(x, y));
      }),
      { numRuns: 500 },
    );
  });

  it('descending encoding reverses raw order', () => {
    assertProperty(
      fc.property(arbKeyBytes(), arbKeyBytes(), (x, y) => {
        return sign(compareBytes(encodeBytesDesc(x), encodeBytesDesc(y))) === neg(sign(compareBytes(x, y)));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps the order when anything follows the encoding (prefix-free)', () => {
    assertProperty(
      fc.property(arbKeyBytes(), arbKeyBytes(), fc.uint8Array({ maxLength: 9 }), fc.uint8Array({ maxLength: 9 }), (x, y, sx, sy) => {
        fc.pre(!bytesEqual(x, y));
        const ex = concatBytes(encodeBytes(x), sx);
        const ey = concatBytes(encodeBytes(y), sy);
        expect(sign(compareBytes(ex, ey))).toBe(sign(compareBytes(x, y)));
      }),
    );
  });
});

describe('decodeBytes', () => {
  it('inverts encodeBytes, also at an offset and followed by other data', () => {
    assertProperty(
      fc.property(fc.uint8Array({ maxLength: 12 }), arbKeyBytes(), arbKeyBytes(), (head, x, y) => {
        const w = new ByteWriter(0);
        w.append(head);
        encodeBytesTo(w, x);
        encodeBytesDescTo(w, y);
        w.append(b(0xff, 0x00));
        const buf = w.toBytes();
        const first = decodeBytes(buf, head.length);
        expect(first.value).toEqual(x);
        expect(first.bytesRead).toBe(encodedBytesLength(x.length));
        expect(encodedBytesLengthAt(buf, head.length)).toBe(first.bytesRead);
        const second = decodeBytesDesc(buf, head.length + first.bytesRead);
        expect(second.value).toEqual(y);
        expect(encodedBytesLengthAtDesc(buf, head.length + first.bytesRead)).toBe(second.bytesRead);
        expect(head.length + first.bytesRead + second.bytesRead).toBe(buf.length - 2);
      }),
    );
  });

  it('reports every truncation as KV:Codec:Truncated', () => {
    assertProperty(
      fc.property(arbKeyBytes(), fc.boolean(), (x, desc) => {
        const enc = desc ? encodeBytesDesc(x) : encodeBytes(x);
        for (let n = 0; n < enc.length; n++) {
          const err = codecErrorOf(() => (desc ? decodeBytesDesc : decodeBytes)(enc.subarray(0, n)));
          if (err.code !== 'KV:Codec:Truncated' || err.offset % 9 !== 0) return false;
        }
        return true;
      }),
    );
  });

  it('reports a bad marker or non-zero padding as KV:Codec:KeyPadding', () => {
    // Marker below 0xf7: more than 8 padding bytes.
    const e1 = codecErrorOf(() => decodeBytes(fromHex('0000000000000000f6')));
    expect(e1.code).toBe('KV:Codec:KeyPadding');
    expect(e1.offset).toBe(0);
    expect(e1.message).toContain('offset 0');
    expect(e1.message).toContain('0000000000000000f6');
    // Padding byte not zero.
    const e2 = codecErrorOf(() => decodeBytes(fromHex('0102030405060708ff0102000000000100f9')));
    expect(e2.code).toBe('KV:Codec:KeyPadding');
    expect(e2.offset).toBe(9);
    // Descending: padding must be 0xff.
    const e3 = codecErrorOf(() => decodeBytesDesc(fromHex('fefdfcffffff00ff05')));
    expect(e3.code).toBe('KV:Codec:KeyPadding');
    expect(e3.inputHex).toBe('fefdfcffffff00ff05');
  });

  it('never returns garbage for arbitrary input: a success re-encodes to the bytes it consumed', () => {
    assertProperty(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.boolean(), (buf, desc) => {
        try {
          const { value, bytesRead } = (desc ? decodeBytesDesc : decodeBytes)(buf);
          return bytesEqual(buf.subarray(0, bytesRead), desc ? encodeBytesDesc(value) : encodeBytes(value));
        } catch (e: unknown) {
          return e instanceof CodecError;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('rejects corrupted encodings (one byte changed) or decodes them to the canonical encoding', () => {
    assertProperty(
      fc.property(arbKeyBytes(), fc.nat(), fc.integer({ min: 1, max: 255 }), (x, pos, delta) => {
        const enc = encodeBytes(x).slice();
        const i = pos % enc.length;
        enc[i] = ((enc[i] as number) + delta) & 0xff;
        try {
          const { value, bytesRead } = decodeBytes(enc);
          expect(toHex(enc.subarray(0, bytesRead))).toBe(toHex(encodeBytes(value)));
        } catch (e: unknown) {
          expect(e).toBeInstanceOf(CodecError);
        }
      }),
    );
  });

  it('an offset past the end is truncation; a negative offset is a RangeError', () => {
    expect(codecErrorOf(() => decodeBytes(b(1, 2), 5)).code).toBe('KV:Codec:Truncated');
    expect(() => decodeBytes(b(), -1)).toThrow(RangeError);
  });
});

describe('isEncodedFrom', () => {
  it('is true exactly for encodings of the raw key (with any suffix)', () => {
    assertProperty(
      fc.property(arbKeyBytes(), arbKeyBytes(), fc.uint8Array({ maxLength: 8 }), (x, y, suffix) => {
        const enc = concatBytes(encodeBytes(x), suffix);
        expect(isEncodedFrom(enc, x)).toBe(true);
        expect(isEncodedFrom(enc, y)).toBe(bytesEqual(x, y));
        expect(isEncodedFrom(enc.subarray(0, encodedBytesLength(x.length) - 1), x)).toBe(false);
      }),
    );
  });
});
