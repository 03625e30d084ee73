import { SeededRng, deriveSeed } from './seeded-rng';

describe('SeededRng', () => {
  it('matches the xoshiro128** reference outputs for state [1, 2, 3, 4]', () => {
    const rng = SeededRng.fromState([1, 2, 3, 4]);
    const out = Array.from({ length: 4 }, () => rng.nextU32());
    expect(out).toEqual([11520, 0, 5927040, 70819200]);
  });

  it('gives the same sequence for the same seed and different ones for different seeds', () => {
    const a = new SeededRng(42n);
    const b = new SeededRng(42n);
    const c = new SeededRng(43n);
    const sa = Array.from({ length: 50 }, () => a.nextU32());
    const sb = Array.from({ length: 50 }, () => b.nextU32());
    const sc = Array.from({ length: 50 }, () => c.nextU32());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
    expect(a.seed).toBe(42n);
  });

  it('has a stable golden sequence (changing it breaks every recorded SIM_SEED)', () => {
    const rng = new SeededRng(1n);
    const golden = Array.from({ length: 3 }, () => rng.nextU32());
    // Recomputing the golden is a deliberate, reviewed change.
    expect(golden).toEqual(GOLDEN_SEED_1);
  });

  it('accepts number seeds and reduces bigint seeds modulo 2^64', () => {
    expect(new SeededRng(7).nextU32()).toBe(new SeededRng(7n).nextU32());
    expect(new SeededRng(-1n).nextU32()).toBe(new SeededRng((1n << 64n) - 1n).nextU32());
    expect(() => new SeededRng(1.5)).toThrow(RangeError);
  });

  it('keeps next() in [0, 1) and nextInt/nextRange in bounds', () => {
    const rng = new SeededRng(5n);
    for (let i = 0; i < 2000; i++) {
      const f = rng.next();
      expect(f).toBeGreaterThanOrEqual(0);
      expect(f).toBeLessThan(1);
      const n = rng.nextInt(7);
      expect(Number.isInteger(n) && n >= 0 && n < 7).toBe(true);
      const r = rng.nextRange(-3, 3);
      expect(r >= -3 && r <= 3).toBe(true);
      const big = rng.nextInt(2 ** 40 + 3);
      expect(big >= 0 && big < 2 ** 40 + 3).toBe(true);
    }
    expect(rng.nextInt(1)).toBe(0);
    expect(rng.nextRange(9, 9)).toBe(9);
    expect(() => rng.nextInt(0)).toThrow(RangeError);
    expect(() => rng.nextInt(2.5)).toThrow(RangeError);
    expect(() => rng.nextRange(2, 1)).toThrow(RangeError);
  });

  it('is roughly uniform', () => {
    const rng = new SeededRng(11n);
    const counts = new Array<number>(10).fill(0);
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const k = rng.nextInt(10);
      counts[k] = (counts[k] ?? 0) + 1;
    }
    for (const c of counts) {
      expect(c).toBeGreaterThan(n / 10 - 300);
      expect(c).toBeLessThan(n / 10 + 300);
    }
  });

  it('chance(0) is never and chance(1) is always true', () => {
    const rng = new SeededRng(3n);
    for (let i = 0; i < 200; i++) {
      expect(rng.chance(0)).toBe(false);
      expect(rng.chance(1)).toBe(true);
    }
  });

  it('bytes() returns the requested length deterministically', () => {
    expect(new SeededRng(9n).bytes(0)).toEqual(new Uint8Array(0));
    const a = new SeededRng(9n).bytes(13);
    const b = new SeededRng(9n).bytes(13);
    expect(a.length).toBe(13);
    expect(a).toEqual(b);
    expect(a.some((x) => x !== 0)).toBe(true);
  });

  it('fork depends only on the parent seed and label', () => {
    const parent = new SeededRng(100n);
    const f1 = parent.fork('store-1');
    parent.nextU32();
    parent.nextU32();
    const f1again = parent.fork('store-1');
    const f2 = parent.fork('store-2');
    const s1 = Array.from({ length: 20 }, () => f1.nextU32());
    expect(Array.from({ length: 20 }, () => f1again.nextU32())).toEqual(s1);
    expect(Array.from({ length: 20 }, () => f2.nextU32())).not.toEqual(s1);
    expect(f1.seed).toBe(deriveSeed(100n, 'store-1'));
    expect(new SeededRng(101n).fork('store-1').seed).not.toBe(f1.seed);
  });

  it('forked streams are independent of the parent stream', () => {
    const parent = new SeededRng(100n);
    const child = parent.fork('x');
    const ps = Array.from({ length: 20 }, () => parent.nextU32());
    const cs = Array.from({ length: 20 }, () => child.nextU32());
    expect(ps).not.toEqual(cs);
    // Adding a consumer does not shift another consumer's stream.
    const p2 = new SeededRng(100n);
    p2.fork('y');
    expect(Array.from({ length: 20 }, () => p2.fork('x').nextU32()).length).toBe(20);
    expect(p2.fork('x').nextU32()).toBe(new SeededRng(100n).fork('x').nextU32());
  });

  it('shuffle and pick are deterministic', () => {
    const a = new SeededRng(4n).shuffle([1, 2, 3, 4, 5, 6]);
    const b = new SeededRng(4n).shuffle([1, 2, 3, 4, 5, 6]);
    expect(a).toEqual(b);
    expect([...a].sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new SeededRng(4n).pick(['a', 'b'])).toBe(new SeededRng(4n).pick(['a', 'b']));
    expect(() => new SeededRng(4n).pick([])).toThrow(RangeError);
    const u = new SeededRng(4n).nextU64();
    expect(u >= 0n && u < 1n << 64n).toBe(true);
  });
});

const GOLDEN_SEED_1 = [1695105466, 1423115009, 634581793];
