import { Crc64Xz, crc64Xz } from './crc64';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('CRC-64/XZ', () => {
  it('matches the catalogue check value of "123456789"', () => {
    expect(crc64Xz(text('123456789'))).toBe(0x995dc9bbdf1939fan);
  });

  it('is 0 for no input and stays within uint64', () => {
    expect(crc64Xz()).toBe(0n);
    const c = crc64Xz(new Uint8Array(1000).fill(0xff));
    expect(c >= 0n && c < 1n << 64n).toBe(true);
  });

  it('is the same fed in pieces as in one piece', () => {
    const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 37 + 11) & 0xff);
    const whole = crc64Xz(data);
    for (const cut of [0, 1, 7, 8, 150, 299, 300]) {
      expect(new Crc64Xz().update(data.subarray(0, cut)).update(data.subarray(cut)).digest()).toBe(whole);
      expect(crc64Xz(data.subarray(0, cut), data.subarray(cut))).toBe(whole);
    }
  });

  it('gives the PROTOCOL.md RawChecksum golden vector (k1..k5 -> v1..v5, keys with r\\0\\0\\0)', () => {
    let xor = 0n;
    let bytes = 0;
    for (let i = 1; i <= 5; i++) {
      const key = new Uint8Array([0x72, 0, 0, 0, ...text(`k${i}`)]);
      const value = text(`v${i}`);
      xor ^= crc64Xz(key, value);
      bytes += key.length + value.length;
    }
    expect(xor).toBe(7402990595130313958n);
    expect(bytes).toBe(40);
  });
});
