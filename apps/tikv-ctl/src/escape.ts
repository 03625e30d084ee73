// Key notation of tikv-ctl: TiKV's escaped byte strings and hex.
import { fromHex, toHex } from '@tikv-ts/codec';

/** A key argument that cannot be parsed. */
export class KeyFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyFormatError';
  }
}

/**
 * Escapes bytes the way tikv-ctl prints keys: printable ASCII as is, `\\` and `"` with a
 * backslash, `\n` `\r` `\t`, and every other byte as `\xNN` (two lower-case hex digits).
 * {@link unescape} reverses it.
 */
export function escape(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) {
    if (b === 0x5c) s += '\\\\';
    else if (b === 0x22) s += '\\"';
    else if (b === 0x0a) s += '\\n';
    else if (b === 0x0d) s += '\\r';
    else if (b === 0x09) s += '\\t';
    else if (b >= 0x20 && b <= 0x7e) s += String.fromCharCode(b);
    else s += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return s;
}

const OCTAL = /^[0-7]{1,3}/;

/**
 * Parses an escaped byte string: `\xNN` (hex), `\NNN` (octal, as TiKV's own escape prints),
 * `\n` `\r` `\t` `\0` `\\` `\"` `\'`; any other character stands for its UTF-8 bytes.
 * @throws KeyFormatError on a dangling or unknown escape
 */
export function unescape(text: string): Uint8Array {
  const out: number[] = [];
  const utf8 = new TextEncoder();
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c !== '\\') {
      const cp = text.codePointAt(i) as number;
      const ch = String.fromCodePoint(cp);
      out.push(...utf8.encode(ch));
      i += ch.length - 1;
      continue;
    }
    const n = text[i + 1];
    if (n === undefined)
      throw new KeyFormatError(`Dangling backslash at the end of ${JSON.stringify(text)}`);
    if (n === 'x') {
      const hex = text.slice(i + 2, i + 4);
      if (!/^[0-9a-fA-F]{2}$/.test(hex))
        throw new KeyFormatError(
          `Bad \\x escape at offset ${i} of ${JSON.stringify(text)}: expected two hex digits`,
        );
      out.push(Number.parseInt(hex, 16));
      i += 3;
      continue;
    }
    const oct = OCTAL.exec(text.slice(i + 1));
    if (oct !== null) {
      const v = Number.parseInt(oct[0], 8);
      if (v > 255)
        throw new KeyFormatError(
          `Octal escape \\${oct[0]} is above 255 in ${JSON.stringify(text)}`,
        );
      out.push(v);
      i += oct[0].length;
      continue;
    }
    const simple: Record<string, number> = {
      n: 0x0a,
      r: 0x0d,
      t: 0x09,
      '\\': 0x5c,
      '"': 0x22,
      "'": 0x27,
    };
    const v = simple[n];
    if (v === undefined)
      throw new KeyFormatError(`Unknown escape \\${n} at offset ${i} of ${JSON.stringify(text)}`);
    out.push(v);
    i += 1;
  }
  return Uint8Array.from(out);
}

/**
 * Parses hex (upper or lower case, an optional `0x` prefix).
 * @throws KeyFormatError when it is not an even number of hex digits
 */
export function parseHex(text: string): Uint8Array {
  const h = text.startsWith('0x') || text.startsWith('0X') ? text.slice(2) : text;
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(h))
    throw new KeyFormatError(`Not a hex string: ${JSON.stringify(text)}`);
  return fromHex(h.toLowerCase());
}

/**
 * A key argument: hex when `hex` is set or the text starts with `0x`, otherwise escaped
 * (TiKV's `zt\x80...` style).
 */
export function parseKey(text: string, hex: boolean): Uint8Array {
  return hex || text.startsWith('0x') || text.startsWith('0X') ? parseHex(text) : unescape(text);
}

/** Upper-case hex, as tikv-ctl `--to-hex` prints it. */
export function toUpperHex(bytes: Uint8Array): string {
  return toHex(bytes).toUpperCase();
}
