import fc from 'fast-check';
import { ByteWriter } from './byte-writer';
import { fromHex, toHex } from './bytes';
import { CodecError } from './errors';
import { MAX_I64, MAX_U64, MIN_I64 } from './number';
import { decodeUvarint, decodeVarint, encodeUvarint, encodeUvarintTo, encodeVarint, encodeVarintTo, uvarintLength } from './varint';
import { assertProperty } from './testdata/property';

function codecErrorOf(f: () => unknown): CodecError {
  try {
    f();
  } catch (e: unknown) {
    if (e instanceof CodecError) return e;
    throw new Error(`Expected a CodecError, got ${String(e)}`);
  }
  throw new Error('Expected a CodecError, got a result');
}

describe('uvarint', () => {
  it('matches protobuf/Go golden vectors', () => {
    const cases: Array<[bigint, string]> = [
      [0n, '00'],
      [1n, '01'],
      [127n, '7f'],
      [128n, '8001'],
      [300n, 'ac02'],
      [16_383n, 'ff7f'],
      [16_384n, '808001'],
      [(1n << 28n) - 1n, 'ffffff7f'],
      [1n << 28n, '8080808001'],
      [1n << 63n, '80808080808080808001'],
      [MAX_U64, 'ffffffffffffffffff01'],
    ];
    for (const [v, hex] of cases) {
      expect(toHex(encodeUvarint(v))).toBe(hex);
      expect(uvarintLength(v)).toBe(hex.length / 2);
      expect(decodeUvarint(fromHex(hex))).toEqual({ value: v, bytesRead: hex.length / 2 });
    }
    expect(toHex(encodeUvarint(300))).toBe('ac02');
  });

  it('decode inverts encode, back to back at offsets', () => {
    assertProperty(
      fc.property(fc.array(fc.bigInt({ min: 0n, max: MAX_U64 }), { maxLength: 10 }), (vs) => {
        const w = new ByteWriter(0);
        for (const v of vs) encodeUvarintTo(w, v);
        const buf = w.toBytes();
        let off = 0;
        for (const v of vs) {
          const { value, bytesRead } = decodeUvarint(buf, off);
          if (value !== v || bytesRead !== uvarintLength(v)) return false;
          off += bytesRead;
        }
        return off === buf.length;
      }),
    );
  });

  it('truncation and overflow are typed errors', () => {
    expect(codecErrorOf(() => decodeUvarint(new Uint8Array(0))).code).toBe('KV:Codec:Truncated');
    expect(codecErrorOf(() => decodeUvarint(fromHex('ac'))).code).toBe('KV:Codec:Truncated');
    expect(codecErrorOf(() => decodeUvarint(fromHex('ffffffffffffffffff'))).code).toBe('KV:Codec:Truncated');
    // 10th byte above 1: the value needs more than 64 bits.
    expect(codecErrorOf(() => decodeUvarint(fromHex('ffffffffffffffffff02'))).code).toBe('KV:Codec:VarintOverflow');
    // 11 bytes.
    const e = codecErrorOf(() => decodeUvarint(fromHex('00ffffffffffffffffff8001'), 1));
    expect(e.code).toBe('KV:Codec:VarintOverflow');
    expect(e.offset).toBe(1);
  });

  it('arbitrary input decodes to a u64 or throws a CodecError', () => {
    assertProperty(
      fc.property(fc.uint8Array({ maxLength: 14 }), (buf) => {
        try {
          const { value, bytesRead } = decodeUvarint(buf);
          return value >= 0n && value <= MAX_U64 && bytesRead >= 1 && bytesRead <= 10 && bytesRead <= buf.length;
        } catch (e: unknown) {
          return e instanceof CodecError;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('rejects out-of-range values with RangeError', () => {
    expect(() => encodeUvarint(-1n)).toThrow(RangeError);
    expect(() => encodeUvarint(MAX_U64 + 1n)).toThrow(RangeError);
    expect(() => encodeUvarint(-1)).toThrow(RangeError);
    expect(() => encodeUvarint(0.5)).toThrow(RangeError);
  });
});

describe('varint (zigzag)', () => {
  it('matches Go binary.PutVarint vectors', () => {
    const cases: Array<[bigint, string]> = [
      [0n, '00'],
      [-1n, '01'],
      [1n, '02'],
      [-2n, '03'],
      [63n, '7e'],
      [-64n, '7f'],
      [64n, '8001'],
      [MAX_I64, 'feffffffffffffffff01'],
      [MIN_I64, 'ffffffffffffffffff01'],
    ];
    for (const [v, hex] of cases) {
      expect(toHex(encodeVarint(v))).toBe(hex);
      expect(decodeVarint(fromHex(hex))).toEqual({ value: v, bytesRead: hex.length / 2 });
    }
    expect(toHex(encodeVarint(-1))).toBe('01');
  });

  it('decode inverts encode', () => {
    assertProperty(
      fc.property(fc.bigInt({ min: MIN_I64, max: MAX_I64 }), fc.uint8Array({ maxLength: 3 }), (v, head) => {
        const w = new ByteWriter(0);
        w.append(head);
        encodeVarintTo(w, v);
        const { value, bytesRead } = decodeVarint(w.view(), head.length);
        return value === v && bytesRead === w.length - head.length;
      }),
    );
  });

  it('rejects out-of-range values with RangeError', () => {
    expect(() => encodeVarint(MAX_I64 + 1n)).toThrow(RangeError);
    expect(() => encodeVarint(MIN_I64 - 1n)).toThrow(RangeError);
  });
});
