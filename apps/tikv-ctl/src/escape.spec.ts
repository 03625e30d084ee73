import * as fc from 'fast-check';
import { KeyFormatError, escape, parseHex, parseKey, toUpperHex, unescape } from './escape';

describe('escape / unescape', () => {
  it('escapes non-printable bytes as \\xNN and keeps printable ASCII', () => {
    expect(escape(Uint8Array.of(0x7a, 0x74, 0x80, 0x00, 0x5c, 0x22, 0x0a))).toBe(
      'zt\\x80\\x00\\\\\\"\\n',
    );
  });

  it('round-trips any bytes (fast-check; the seed is printed on failure)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        expect(unescape(escape(b))).toEqual(b);
      }),
      { seed: 42, verbose: true },
    );
  });

  it('accepts octal escapes as TiKV prints them, and UTF-8 text', () => {
    expect(unescape('t\\200\\000')).toEqual(Uint8Array.of(0x74, 0x80, 0x00));
    expect(unescape('é')).toEqual(Uint8Array.of(0xc3, 0xa9));
  });

  it('rejects malformed escapes with a clear message', () => {
    expect(() => unescape('a\\')).toThrow(KeyFormatError);
    expect(() => unescape('\\xzz')).toThrow(/two hex digits/);
    expect(() => unescape('\\q')).toThrow(/Unknown escape \\q/);
    expect(() => unescape('\\777')).toThrow(/above 255/);
  });
});

describe('hex keys', () => {
  it('parses hex with or without 0x, and keys by convention', () => {
    expect(parseHex('0x7A74')).toEqual(Uint8Array.of(0x7a, 0x74));
    expect(parseKey('0x7a74', false)).toEqual(Uint8Array.of(0x7a, 0x74));
    expect(parseKey('7a74', true)).toEqual(Uint8Array.of(0x7a, 0x74));
    expect(parseKey('7a74', false)).toEqual(new TextEncoder().encode('7a74'));
    expect(toUpperHex(Uint8Array.of(0xab, 0x01))).toBe('AB01');
    expect(() => parseHex('0x7')).toThrow(/Not a hex string/);
  });
});
