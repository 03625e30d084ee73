import fc from 'fast-check';
import { ByteReader } from './byte-reader';
import { ByteWriter } from './byte-writer';
import { bytesEqual } from './bytes';
import { CodecError } from './errors';
import { encodeBytesDescTo, encodeBytesTo } from './memcomparable';
import { MAX_I64, MAX_U64, MIN_I64, encodeF64To, encodeI64To, encodeU16To, encodeU32To, encodeU64DescTo, encodeU64To } from './number';
import { encodeUvarintTo, encodeVarintTo } from './varint';
import { arbKeyBytes, assertProperty } from './testdata/property';

describe('ByteReader', () => {
  it('reads back a record written field by field', () => {
    assertProperty(
      fc.property(
        arbKeyBytes(),
        arbKeyBytes(),
        fc.bigInt({ min: 0n, max: MAX_U64 }),
        fc.bigInt({ min: MIN_I64, max: MAX_I64 }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.nat({ max: 0xffff }),
        fc.nat({ max: 0xffff_ffff }),
        (a, b, u, i, f, u16, u32) => {
          const w = new ByteWriter();
          w.appendByte(0xab);
          encodeBytesTo(w, a);
          encodeBytesDescTo(w, b);
          encodeU64To(w, u);
          encodeU64DescTo(w, u);
          encodeI64To(w, i);
          encodeF64To(w, f);
          encodeU16To(w, u16);
          encodeU32To(w, u32);
          encodeUvarintTo(w, u);
          encodeVarintTo(w, i);
          w.append(Uint8Array.of(1, 2, 3));
          const r = new ByteReader(w.toBytes());
          const ok =
            r.readU8() === 0xab &&
            bytesEqual(r.readBytes(), a) &&
            bytesEqual(r.readBytesDesc(), b) &&
            r.readU64() === u &&
            r.readU64Desc() === u &&
            r.readI64() === i &&
            r.readF64() === (Object.is(f, -0) ? 0 : f) &&
            r.readU16() === u16 &&
            r.readU32() === u32 &&
            r.readUvarint() === u &&
            r.readVarint() === i &&
            bytesEqual(r.readRaw(2), Uint8Array.of(1, 2)) &&
            r.remaining === 1 &&
            bytesEqual(r.readRest(), Uint8Array.of(3)) &&
            r.isEof();
          r.expectEof();
          return ok;
        },
      ),
    );
  });

  it('does not move when a read fails', () => {
    const r = new ByteReader(Uint8Array.of(1, 2, 3), 1);
    expect(() => r.readU64()).toThrow(CodecError);
    expect(() => r.readBytes()).toThrow(CodecError);
    expect(() => r.readRaw(3)).toThrow(CodecError);
    expect(r.offset).toBe(1);
    let err: unknown;
    try {
      r.expectEof();
    } catch (e: unknown) {
      err = e;
    }
    expect((err as CodecError).code).toBe('KV:Codec:TrailingBytes');
    expect(r.readU16()).toBe(0x0203);
    expect(() => r.readU8()).toThrow(CodecError);
  });

  it('reports offsets relative to the whole buffer', () => {
    const r = new ByteReader(Uint8Array.of(9, 9, 0x80), 2);
    try {
      r.readUvarint();
      throw new Error('unreachable');
    } catch (e: unknown) {
      expect(e).toBeInstanceOf(CodecError);
      expect((e as CodecError).offset).toBe(2);
      expect((e as CodecError).message).toContain('at offset 2 of input 090980 (3 bytes)');
    }
  });
});
