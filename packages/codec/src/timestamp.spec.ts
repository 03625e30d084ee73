import fc from 'fast-check';
import {
  MAX_TS,
  TS_LOGICAL_BITS,
  TS_MAX_PHYSICAL_MS,
  ZERO_TS,
  composeTs,
  isMaxTs,
  isValidTs,
  isZeroTs,
  logicalOf,
  nextTs,
  physicalOf,
  prevTs,
  tsFromDate,
  tsFromPhysicalMs,
  tsToDate,
} from './timestamp';
import { assertProperty } from './testdata/property';

describe('TSO timestamps', () => {
  it('golden values', () => {
    expect(TS_LOGICAL_BITS).toBe(18);
    expect(MAX_TS).toBe(2n ** 64n - 1n);
    expect(ZERO_TS).toBe(0n);
    expect(composeTs(1, 0)).toBe(262_144n);
    expect(composeTs(1n, 5n)).toBe(262_149n);
    // 2019-01-01T00:00:00Z with logical 1.
    expect(composeTs(1_546_300_800_000, 1)).toBe(405_353_476_915_200_001n);
    expect(physicalOf(405_353_476_915_200_001n)).toBe(1_546_300_800_000n);
    expect(logicalOf(405_353_476_915_200_001n)).toBe(1n);
    expect(physicalOf(MAX_TS)).toBe(TS_MAX_PHYSICAL_MS);
    expect(logicalOf(MAX_TS)).toBe((1n << 18n) - 1n);
    expect(composeTs(TS_MAX_PHYSICAL_MS, (1n << 18n) - 1n)).toBe(MAX_TS);
  });

  it('compose / physicalOf / logicalOf round-trip, and order follows (physical, logical)', () => {
    const arbParts = fc.tuple(fc.bigInt({ min: 0n, max: TS_MAX_PHYSICAL_MS }), fc.bigInt({ min: 0n, max: (1n << 18n) - 1n }));
    assertProperty(
      fc.property(arbParts, arbParts, ([p1, l1], [p2, l2]) => {
        const a = composeTs(p1, l1);
        const b = composeTs(p2, l2);
        const lexLess = p1 < p2 || (p1 === p2 && l1 < l2);
        return physicalOf(a) === p1 && logicalOf(a) === l1 && isValidTs(a) && (a < b) === lexLess;
      }),
    );
  });

  it('converts from and to dates and physical ms', () => {
    const d = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678));
    const ts = tsFromDate(d);
    expect(ts).toBe(BigInt(d.getTime()) << 18n);
    expect(tsFromPhysicalMs(d.getTime())).toBe(ts);
    expect(tsToDate(ts + 7n).getTime()).toBe(d.getTime());
    expect(() => tsFromDate(new Date(Number.NaN))).toThrow(RangeError);
    expect(() => tsFromDate(new Date(-1))).toThrow(RangeError);
  });

  it('rejects out-of-range parts', () => {
    expect(() => composeTs(-1, 0)).toThrow(RangeError);
    expect(() => composeTs(TS_MAX_PHYSICAL_MS + 1n, 0)).toThrow(RangeError);
    expect(() => composeTs(0, 1 << 18)).toThrow(RangeError);
    expect(() => composeTs(0, -1)).toThrow(RangeError);
    expect(() => composeTs(0.5, 0)).toThrow(RangeError);
    expect(() => physicalOf(-1n)).toThrow(RangeError);
    expect(() => logicalOf(MAX_TS + 1n)).toThrow(RangeError);
    expect(isValidTs(1)).toBe(false);
  });

  it('next/prev with overflow checks', () => {
    expect(nextTs(0n)).toBe(1n);
    expect(prevTs(1n)).toBe(0n);
    expect(nextTs(MAX_TS - 1n)).toBe(MAX_TS);
    expect(() => nextTs(MAX_TS)).toThrow(RangeError);
    expect(() => prevTs(ZERO_TS)).toThrow(RangeError);
    expect(isMaxTs(MAX_TS)).toBe(true);
    expect(isZeroTs(0n)).toBe(true);
    expect(isZeroTs(1n)).toBe(false);
  });
});
