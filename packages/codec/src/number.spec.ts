import fc from 'fast-check';
import { ByteWriter } from './byte-writer';
import { compareBytes, toHex } from './bytes';
import { CodecError } from './errors';
import {
  MAX_I64,
  MAX_U64,
  MIN_I64,
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
  encodeF64,
  encodeF64Desc,
  encodeF64To,
  encodeI64,
  encodeI64Desc,
  encodeU16,
  encodeU32,
  encodeU32Le,
  encodeU64,
  encodeU64Desc,
  encodeU64DescTo,
  encodeU64Le,
  encodeU64To,
} from './number';
import { assertProperty } from './testdata/property';

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);
const cmp = <T extends number | bigint>(a: T, b: T): number => (a < b ? -1 : a > b ? 1 : 0);
const neg = (n: number): number => (n === 0 ? 0 : -n);

const arbU64 = fc.oneof(fc.bigInt({ min: 0n, max: MAX_U64 }), fc.constantFrom(0n, 1n, MAX_U64, MAX_U64 - 1n, 1n << 63n, (1n << 63n) - 1n));
const arbI64 = fc.oneof(fc.bigInt({ min: MIN_I64, max: MAX_I64 }), fc.constantFrom(0n, -1n, 1n, MIN_I64, MAX_I64));
const arbF64 = fc.double({ noNaN: true });

interface Fixed<T> {
  name: string;
  arb: fc.Arbitrary<T>;
  encode: (v: T) => Uint8Array;
  decode: (buf: Uint8Array, offset?: number) => T;
  order: 1 | -1 | 0;
  size: number;
}

const codecs: Array<Fixed<bigint> | Fixed<number>> = [
  { name: 'u64', arb: arbU64, encode: encodeU64, decode: decodeU64, order: 1, size: 8 },
  { name: 'u64 desc', arb: arbU64, encode: encodeU64Desc, decode: decodeU64Desc, order: -1, size: 8 },
  { name: 'u64 le', arb: arbU64, encode: encodeU64Le, decode: decodeU64Le, order: 0, size: 8 },
  { name: 'i64', arb: arbI64, encode: encodeI64, decode: decodeI64, order: 1, size: 8 },
  { name: 'i64 desc', arb: arbI64, encode: encodeI64Desc, decode: decodeI64Desc, order: -1, size: 8 },
  { name: 'u32', arb: fc.nat({ max: 0xffff_ffff }), encode: encodeU32, decode: decodeU32, order: 1, size: 4 },
  { name: 'u32 le', arb: fc.nat({ max: 0xffff_ffff }), encode: encodeU32Le, decode: decodeU32Le, order: 0, size: 4 },
  { name: 'u16', arb: fc.nat({ max: 0xffff }), encode: encodeU16, decode: decodeU16, order: 1, size: 2 },
  { name: 'f64', arb: arbF64, encode: encodeF64, decode: decodeF64, order: 1, size: 8 },
  { name: 'f64 desc', arb: arbF64, encode: encodeF64Desc, decode: decodeF64Desc, order: -1, size: 8 },
];

describe.each(codecs)('$name', (c) => {
  const codec = c as Fixed<bigint | number>;
  it('decode inverts encode at any offset', () => {
    assertProperty(
      fc.property(codec.arb, fc.uint8Array({ maxLength: 5 }), (v, head) => {
        const enc = codec.encode(v);
        if (enc.length !== codec.size) return false;
        const buf = new Uint8Array(head.length + enc.length + 1);
        buf.set(head);
        buf.set(enc, head.length);
        const back = codec.decode(buf, head.length);
        // -0 encodes like +0 (TiDB), so compare with ==.
        return back === v || (typeof v === 'number' && back === 0 && v === 0);
      }),
    );
  });

  if (codec.order !== 0) {
    it(`byte order is ${codec.order > 0 ? 'numeric' : 'reverse numeric'} order`, () => {
      assertProperty(
        fc.property(codec.arb, codec.arb, (x, y) => {
          const byteOrder = sign(compareBytes(codec.encode(x), codec.encode(y)));
          return byteOrder === (codec.order > 0 ? cmp(x, y) : neg(cmp(x, y)));
        }),
        { numRuns: 500 },
      );
    });
  }

  it('every truncation is KV:Codec:Truncated', () => {
    const enc = new Uint8Array(codec.size).fill(0x80);
    for (let n = 0; n < codec.size; n++) {
      let err: unknown;
      try {
        codec.decode(enc.subarray(0, n));
      } catch (e: unknown) {
        err = e;
      }
      expect(err).toBeInstanceOf(CodecError);
      expect((err as CodecError).code).toBe('KV:Codec:Truncated');
    }
    expect(() => codec.decode(enc, codec.size + 3)).toThrow(CodecError);
  });
});

describe('golden vectors (TiKV number codec)', () => {
  it('u64 and u64 desc', () => {
    expect(toHex(encodeU64(0x0102030405060708n))).toBe('0102030405060708');
    expect(toHex(encodeU64Desc(0n))).toBe('ffffffffffffffff');
    expect(toHex(encodeU64Desc(1n))).toBe('fffffffffffffffe');
    expect(toHex(encodeU64Desc(MAX_U64))).toBe('0000000000000000');
    expect(toHex(encodeU64Le(0x0102030405060708n))).toBe('0807060504030201');
  });

  it('i64 flips the sign bit', () => {
    expect(toHex(encodeI64(0n))).toBe('8000000000000000');
    expect(toHex(encodeI64(-1n))).toBe('7fffffffffffffff');
    expect(toHex(encodeI64(MIN_I64))).toBe('0000000000000000');
    expect(toHex(encodeI64(MAX_I64))).toBe('ffffffffffffffff');
    expect(toHex(encodeI64Desc(0n))).toBe('7fffffffffffffff');
  });

  it('f64 (TiDB EncodeFloat)', () => {
    expect(toHex(encodeF64(0))).toBe('8000000000000000');
    expect(toHex(encodeF64(-0))).toBe('8000000000000000');
    expect(toHex(encodeF64(1))).toBe('bff0000000000000');
    expect(toHex(encodeF64(-1))).toBe('400fffffffffffff');
    expect(toHex(encodeF64(Infinity))).toBe('fff0000000000000');
    expect(toHex(encodeF64(-Infinity))).toBe('000fffffffffffff');
    expect(decodeF64(encodeF64(-0))).toBe(0);
    expect(() => encodeF64(NaN)).toThrow(RangeError);
    expect(() => encodeF64Desc(NaN)).toThrow(RangeError);
  });

  it('u32 and u16 are big-endian', () => {
    expect(toHex(encodeU32(0x01020304))).toBe('01020304');
    expect(toHex(encodeU32Le(0x01020304))).toBe('04030201');
    expect(toHex(encodeU16(0xabcd))).toBe('abcd');
    expect(decodeU32(encodeU32(0xffff_ffff))).toBe(0xffff_ffff);
  });
});

describe('range checks (programmer errors)', () => {
  it('rejects out-of-range values with RangeError', () => {
    expect(() => encodeU64(-1n)).toThrow(RangeError);
    expect(() => encodeU64(MAX_U64 + 1n)).toThrow(RangeError);
    expect(() => encodeU64(1 as unknown as bigint)).toThrow(RangeError);
    expect(() => encodeI64(MAX_I64 + 1n)).toThrow(RangeError);
    expect(() => encodeI64(MIN_I64 - 1n)).toThrow(RangeError);
    expect(() => encodeU32(2 ** 32)).toThrow(RangeError);
    expect(() => encodeU32(1.5)).toThrow(RangeError);
    expect(() => encodeU16(-1)).toThrow(RangeError);
    expect(() => decodeU64(new Uint8Array(8), -1)).toThrow(RangeError);
  });

  it('a rejected value leaves the writer unchanged', () => {
    const w = new ByteWriter(0);
    expect(() => encodeU64To(w, -1n)).toThrow(RangeError);
    expect(() => encodeF64To(w, NaN)).toThrow(RangeError);
    expect(w.length).toBe(0);
  });
});

describe('ByteWriter', () => {
  it('grows and appends in order', () => {
    const w = new ByteWriter(0);
    for (let i = 0n; i < 100n; i++) {
      encodeU64To(w, i);
      encodeU64DescTo(w, i);
    }
    expect(w.length).toBe(1600);
    const buf = w.toBytes();
    for (let i = 0; i < 100; i++) {
      expect(decodeU64(buf, 16 * i)).toBe(BigInt(i));
      expect(decodeU64Desc(buf, 16 * i + 8)).toBe(BigInt(i));
    }
    w.clear();
    expect(w.length).toBe(0);
    w.appendByte(7);
    expect(w.view()).toEqual(Uint8Array.of(7));
  });
});
