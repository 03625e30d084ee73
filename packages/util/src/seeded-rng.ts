import type { Rng } from './rng';

const MASK64 = (1n << 64n) - 1n;
const TWO_POW_32 = 0x1_0000_0000;
const TWO_POW_53 = 2 ** 53;

/** SplitMix64 step (Steele, Lea, Flood 2014): advances `state` and returns [newState, output]. */
function splitMix64(state: bigint): [bigint, bigint] {
  const next = (state + 0x9e3779b97f4a7c15n) & MASK64;
  let z = next;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return [next, z ^ (z >> 31n)];
}

/** 64-bit FNV-1a over bytes, used to mix a fork label into the child seed. */
function fnv1a64(bytes: Uint8Array, initial: bigint): bigint {
  let h = initial;
  for (const b of bytes) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & MASK64;
  }
  return h;
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const textEncoder = new TextEncoder();

/**
 * Derives the seed of `fork(label)` from a parent seed: FNV-1a over the parent seed's 8
 * little-endian bytes and the label's UTF-8 bytes, finished by one SplitMix64 round so that
 * similar labels give unrelated seeds. Exported for tests and for code that wants to print
 * the seed of a forked stream without creating it.
 */
export function deriveSeed(parentSeed: bigint, label: string): bigint {
  const seedBytes = new Uint8Array(8);
  let s = BigInt.asUintN(64, parentSeed);
  for (let i = 0; i < 8; i++) {
    seedBytes[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  let h = fnv1a64(seedBytes, FNV_OFFSET);
  // A separator byte keeps (seed, "ab") apart from any other seed whose bytes end like the label.
  h = fnv1a64(Uint8Array.of(0xff), h);
  h = fnv1a64(textEncoder.encode(label), h);
  return splitMix64(h)[1];
}

/**
 * The project's deterministic {@link Rng}: xoshiro128** (Blackman & Vigna) with 128 bits of state,
 * expanded from the 64-bit seed by SplitMix64. Only 32-bit integer math on the hot path, so it is
 * fast and gives identical sequences on every platform.
 *
 * The seed is any bigint; it is reduced modulo 2^64 (so `-1n` and `2n**64n - 1n` are the same
 * stream) but {@link seed} reports the value given. Not cryptographically secure.
 */
export class SeededRng implements Rng {
  /** The seed this generator was created from, as given. */
  readonly seed: bigint;
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  /** @param seed any bigint (or a safe integer number, converted with `BigInt`) */
  constructor(seed: bigint | number) {
    if (typeof seed === 'number') {
      if (!Number.isSafeInteger(seed)) throw new RangeError(`Seed ${seed} is not a safe integer`);
      seed = BigInt(seed);
    }
    this.seed = seed;
    const [state, a] = splitMix64(BigInt.asUintN(64, seed));
    const b = splitMix64(state)[1];
    this.#s0 = Number(a & 0xffffffffn) >>> 0;
    this.#s1 = Number(a >> 32n) >>> 0;
    this.#s2 = Number(b & 0xffffffffn) >>> 0;
    this.#s3 = Number(b >> 32n) >>> 0;
    // xoshiro's state must not be all zero; SplitMix64 outputs make that practically impossible,
    // but guard anyway.
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  /**
   * A generator with the given raw xoshiro128** state (four uint32, not all zero); its `seed` is
   * reported as -1n. For known-answer tests against the reference implementation.
   */
  static fromState(state: readonly [number, number, number, number]): SeededRng {
    const rng = new SeededRng(-1n);
    [rng.#s0, rng.#s1, rng.#s2, rng.#s3] = state.map((x) => x >>> 0) as [number, number, number, number];
    if ((rng.#s0 | rng.#s1 | rng.#s2 | rng.#s3) === 0) throw new RangeError('xoshiro128** state must not be all zero');
    return rng;
  }

  /** The next uniformly distributed unsigned 32-bit integer (the raw generator output). */
  nextU32(): number {
    const s1 = this.#s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  /** A float uniformly distributed in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / TWO_POW_53;
  }

  /**
   * An integer uniformly distributed in [0, maxExclusive), without modulo bias (rejection).
   * @throws RangeError when `maxExclusive` is not a positive safe integer
   */
  nextInt(maxExclusive: number): number {
    if (!Number.isSafeInteger(maxExclusive) || maxExclusive <= 0) {
      throw new RangeError(`nextInt bound ${maxExclusive} is not a positive safe integer`);
    }
    if (maxExclusive <= TWO_POW_32) {
      // Largest multiple of the bound that fits in 2^32; values at or above it are rejected.
      const limit = TWO_POW_32 - (TWO_POW_32 % maxExclusive);
      for (;;) {
        const x = this.nextU32();
        if (x < limit) return x % maxExclusive;
      }
    }
    const limit = TWO_POW_53 - (TWO_POW_53 % maxExclusive);
    for (;;) {
      const x = (this.nextU32() >>> 11) * TWO_POW_32 + this.nextU32(); // 53 bits
      if (x < limit) return x % maxExclusive;
    }
  }

  /**
   * An integer uniformly distributed in [min, max], both inclusive.
   * @throws RangeError when the bounds are not safe integers, `min > max`, or the span exceeds 2^53
   */
  nextRange(min: number, max: number): number {
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min > max) {
      throw new RangeError(`nextRange bounds [${min}, ${max}] are not ordered safe integers`);
    }
    return min + this.nextInt(max - min + 1);
  }

  /** True with probability `p`; always consumes one draw so streams stay aligned. */
  chance(p: number): boolean {
    if (Number.isNaN(p)) throw new RangeError('chance probability is NaN');
    return this.next() < p;
  }

  /** A fresh array of `length` random bytes. */
  bytes(length: number): Uint8Array {
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new RangeError(`bytes length ${length} is not a non-negative safe integer`);
    }
    const out = new Uint8Array(length);
    let i = 0;
    while (i < length) {
      let x = this.nextU32();
      for (let k = 0; k < 4 && i < length; k++, i++) {
        out[i] = x & 0xff;
        x >>>= 8;
      }
    }
    return out;
  }

  /** A uniformly random unsigned 64-bit bigint. */
  nextU64(): bigint {
    const hi = BigInt(this.nextU32());
    const lo = BigInt(this.nextU32());
    return (hi << 32n) | lo;
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /** A uniformly chosen element. @throws RangeError when `items` is empty */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty array');
    return items[this.nextInt(items.length)] as T;
  }

  /**
   * An independent generator whose seed is {@link deriveSeed}(this.seed, label). It depends only
   * on this generator's seed and the label, not on how many values were drawn so far.
   */
  fork(label: string): SeededRng {
    return new SeededRng(deriveSeed(this.seed, label));
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
