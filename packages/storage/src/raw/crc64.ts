/**
 * CRC-64/XZ (also known as CRC-64/GO-ECMA): the ECMA-182 polynomial 0x42F0E1EBA9EA3693, reflected
 * input and output, initial value and final xor all ones. Check value of "123456789" is
 * 0x995DC9BBDF1939FA. TiKV's `RawChecksum` (`Crc64_Xor`) uses it through the `crc64fast` crate.
 *
 * Table-driven, one byte per step; the 64-bit state is kept as two unsigned 32-bit halves so the
 * inner loop does no bigint arithmetic.
 */

/** Reflected ECMA-182 polynomial, high and low 32 bits. */
const POLY_HI = 0xc96c5795;
const POLY_LO = 0xd7870f42;

function buildTables(): { hi: Uint32Array; lo: Uint32Array } {
  const hi = new Uint32Array(256);
  const lo = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let h = 0;
    let l = i;
    for (let bit = 0; bit < 8; bit++) {
      const carry = l & 1;
      l = ((l >>> 1) | ((h & 1) << 31)) >>> 0;
      h = h >>> 1;
      if (carry !== 0) {
        l = (l ^ POLY_LO) >>> 0;
        h = (h ^ POLY_HI) >>> 0;
      }
    }
    hi[i] = h;
    lo[i] = l;
  }
  return { hi, lo };
}

const TABLES = buildTables();

/**
 * An incremental CRC-64/XZ digest: feed bytes with {@link update}, read the checksum with
 * {@link digest} (which does not reset the state, so more bytes may follow).
 */
export class Crc64Xz {
  #hi = 0xffffffff;
  #lo = 0xffffffff;

  /** Adds `bytes` to the digest. Returns `this` for chaining. */
  update(bytes: Uint8Array): this {
    const thi = TABLES.hi;
    const tlo = TABLES.lo;
    let h = this.#hi;
    let l = this.#lo;
    for (let i = 0; i < bytes.length; i++) {
      const idx = (l ^ (bytes[i] as number)) & 0xff;
      l = ((l >>> 8) | (h << 24)) ^ (tlo[idx] as number);
      h = (h >>> 8) ^ (thi[idx] as number);
    }
    this.#hi = h >>> 0;
    this.#lo = l >>> 0;
    return this;
  }

  /** The CRC-64/XZ of every byte given so far, as an unsigned 64-bit bigint. */
  digest(): bigint {
    const h = (this.#hi ^ 0xffffffff) >>> 0;
    const l = (this.#lo ^ 0xffffffff) >>> 0;
    return (BigInt(h) << 32n) | BigInt(l);
  }
}

/** CRC-64/XZ of the concatenation of `chunks` (an unsigned 64-bit bigint). */
export function crc64Xz(...chunks: readonly Uint8Array[]): bigint {
  const d = new Crc64Xz();
  for (const c of chunks) d.update(c);
  return d.digest();
}
