import { TikvError } from '@tikv-ts/util';

/**
 * Stable codes of {@link CodecError}, in TiKV's `KV:<Component>:<Kind>` form.
 *
 * - `KV:Codec:KeyPadding`: a memcomparable group has a bad marker or non-zero padding (TiKV `KeyPadding`).
 * - `KV:Codec:KeyLength`: a key is too short or has the wrong length for its layout (TiKV `KeyLength`).
 * - `KV:Codec:KeyPrefix`: a key does not start with the prefix its layout requires (data or local key).
 * - `KV:Codec:Truncated`: the input ends before the value being decoded does (TiKV's unexpected EOF).
 * - `KV:Codec:VarintOverflow`: a varint is longer than 10 bytes or does not fit in 64 bits.
 * - `KV:Codec:TrailingBytes`: bytes remain after a value that must fill its input.
 * - `KV:Codec:BadHex`: a hex string has an odd length or a non-hex character.
 */
export type CodecErrorCode =
  | 'KV:Codec:KeyPadding'
  | 'KV:Codec:KeyLength'
  | 'KV:Codec:KeyPrefix'
  | 'KV:Codec:Truncated'
  | 'KV:Codec:VarintOverflow'
  | 'KV:Codec:TrailingBytes'
  | 'KV:Codec:BadHex';

/** How many input bytes a {@link CodecError} message shows in hex. */
const HEX_PREVIEW_BYTES = 16;

const HEX_DIGITS = '0123456789abcdef';

/** Lower-case hex of at most `HEX_PREVIEW_BYTES` bytes, with `…` when the input is longer. */
export function hexPreview(input: Uint8Array): string {
  const n = Math.min(input.length, HEX_PREVIEW_BYTES);
  let s = '';
  for (let i = 0; i < n; i++) {
    const b = input[i] as number;
    s += HEX_DIGITS.charAt(b >> 4) + HEX_DIGITS.charAt(b & 15);
  }
  return input.length > n ? `${s}…` : s;
}

/**
 * Malformed input found while decoding (TiKV `codec::Error`).
 *
 * Every decoder of this package throws only this error for bad bytes: it never returns a partial
 * or garbage value. The message names the offset and shows a hex prefix of the input;
 * {@link CodecError.offset} and {@link CodecError.inputHex} carry the same facts as fields.
 */
export class CodecError extends TikvError {
  /** The stable code, see {@link CodecErrorCode}. */
  readonly code: CodecErrorCode;
  /** Byte offset in the input where decoding failed (where the bad group/value starts). */
  readonly offset: number;
  /** Hex of the first bytes of the input (at most 16 bytes, `…` appended when longer). */
  readonly inputHex: string;
  /** Total length of the input in bytes. */
  readonly inputLength: number;

  /**
   * @param code - the stable code
   * @param detail - what is wrong, sentence case without trailing period
   * @param at - the input and the offset where decoding failed
   */
  constructor(code: CodecErrorCode, detail: string, at: { input: Uint8Array; offset: number }, options?: ErrorOptions) {
    const inputHex = hexPreview(at.input);
    super(`${detail} at offset ${at.offset} of input ${inputHex || '(empty)'} (${at.input.length} bytes)`, options);
    this.code = code;
    this.offset = at.offset;
    this.inputHex = inputHex;
    this.inputLength = at.input.length;
  }
}

/**
 * Validates a decoder's `offset` argument. A negative or fractional offset is a programmer error
 * (RangeError); an offset past the end is left to the decoder, which reports truncation.
 */
export function checkOffset(offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`Offset must be a non-negative integer, got ${offset}`);
  }
}

/** Throws `KV:Codec:Truncated` unless `input` holds `size` bytes starting at `offset`. */
export function ensureAvailable(input: Uint8Array, offset: number, size: number, what: string): void {
  if (offset + size > input.length) {
    throw new CodecError(
      'KV:Codec:Truncated',
      `Truncated ${what}: need ${size} bytes, ${Math.max(0, input.length - offset)} left`,
      { input, offset },
    );
  }
}
