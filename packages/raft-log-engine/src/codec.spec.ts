import { ByteReader, ByteWriter, DecodeError } from './codec';
import { crc32c } from './crc32c';

describe('crc32c', () => {
  it('matches the standard check value and known vectors', () => {
    const enc = new TextEncoder();
    expect(crc32c(enc.encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43); // RFC 3720 B.4: 32 bytes of 0xff
  });

  it('can be computed piecewise', () => {
    const data = new Uint8Array(1000).map((_, i) => (i * 31 + 7) & 0xff);
    const whole = crc32c(data);
    for (const cut of [0, 1, 7, 8, 9, 500, 999, 1000]) {
      expect(crc32c(data.subarray(cut), crc32c(data.subarray(0, cut)))).toBe(whole);
    }
  });
});

describe('varints', () => {
  it('round-trip numbers and uint64 bigints', () => {
    const nums = [0, 1, 127, 128, 300, 2 ** 31, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER];
    const bigs = [0n, 1n, 127n, 128n, 2n ** 49n - 1n, 2n ** 49n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n];
    const w = new ByteWriter(1);
    for (const n of nums) w.varint(n);
    for (const b of bigs) w.varbig(b);
    w.lenBytes(Uint8Array.of(1, 2, 3));
    const r = new ByteReader(w.finish());
    for (const n of nums) expect(r.varint()).toBe(n);
    for (const b of bigs) expect(r.varbig()).toBe(b);
    expect(Array.from(r.lenBytes())).toEqual([1, 2, 3]);
    expect(r.isAtEnd).toBe(true);
  });

  it('rejects out-of-range values and truncated input', () => {
    const w = new ByteWriter();
    expect(() => w.varbig(-1n)).toThrow(RangeError);
    expect(() => w.varbig(2n ** 64n)).toThrow(RangeError);
    expect(() => w.varint(-1)).toThrow(RangeError);
    expect(() => new ByteReader(Uint8Array.of(0x80)).varint()).toThrow(DecodeError);
    expect(() => new ByteReader(Uint8Array.of(0x80, 0x80)).varbig()).toThrow(DecodeError);
    expect(() => new ByteReader(Uint8Array.of(5, 1)).lenBytes()).toThrow(DecodeError);
    const tooBig = new Uint8Array(10).fill(0xff);
    tooBig[9] = 0x7f;
    expect(() => new ByteReader(tooBig).varbig()).toThrow(DecodeError);
  });
});
