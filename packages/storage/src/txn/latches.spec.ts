import { Latches } from './latches';

const k = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('Latches', () => {
  it('slots are sorted and unique; commands on disjoint keys run together', () => {
    const l = new Latches(16);
    const a = l.genLock([k('z'), k('a'), k('z')]);
    expect([...a.requiredSlots]).toEqual([...new Set(a.requiredSlots)].sort((x, y) => x - y));
    expect(l.acquire(a, 1)).toBe(true);
    expect(l.release(a, 1)).toEqual([]);
  });

  it('FIFO per slot: later commands wait and are woken in order', () => {
    const l = new Latches(4);
    const c1 = l.genLock([k('x')]);
    const c2 = l.genLock([k('x')]);
    const c3 = l.genLock([k('x')]);
    expect(l.acquire(c1, 1)).toBe(true);
    expect(l.acquire(c2, 2)).toBe(false);
    expect(l.acquire(c3, 3)).toBe(false);
    expect(l.release(c1, 1)).toEqual([2]);
    expect(l.acquire(c3, 3)).toBe(false);
    expect(l.acquire(c2, 2)).toBe(true);
    expect(l.release(c2, 2)).toEqual([3]);
    expect(l.acquire(c3, 3)).toBe(true);
  });

  it('acquiring in slot order never deadlocks two multi-key commands', () => {
    const l = new Latches(1024);
    const ab = l.genLock([k('a'), k('b')]);
    const ba = l.genLock([k('b'), k('a')]);
    expect([...ab.requiredSlots]).toEqual([...ba.requiredSlots]);
    expect(l.acquire(ab, 1)).toBe(true);
    expect(l.acquire(ba, 2)).toBe(false);
    expect(ba.ownedCount).toBe(0);
    l.release(ab, 1);
    expect(l.acquire(ba, 2)).toBe(true);
  });
});
