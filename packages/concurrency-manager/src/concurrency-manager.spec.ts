import { ConcurrencyManager } from './concurrency-manager';

const k = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('ConcurrencyManager', () => {
  it('max ts only grows and ignores the max u64', () => {
    const cm = new ConcurrencyManager(10n);
    cm.updateMaxTs(5n);
    expect(cm.maxTs()).toBe(10n);
    cm.updateMaxTs(20n);
    expect(cm.maxTs()).toBe(20n);
    cm.updateMaxTs(0xffff_ffff_ffff_ffffn);
    expect(cm.maxTs()).toBe(20n);
  });

  it('memory locks are visible while guarded and vanish with the last guard', () => {
    const cm = new ConcurrencyManager<{ ts: bigint; minCommitTs: bigint }>();
    const g1 = cm.lockKey(k("a"));
    const g2 = cm.lockKey(k("b"));
    g1.setLock({ ts: 5n, minCommitTs: 6n });
    const g1b = cm.lockKey(k('a'));
    const seen: string[] = [];
    cm.readKeyCheck(k('a'), (l) => seen.push(`a@${l.ts}`));
    cm.readKeyCheck(k('b'), () => seen.push('b'));
    expect(seen).toEqual(['a@5']);
    expect(cm.globalMinLockTs()).toBe(5n);
    g1.release();
    g1.release();
    expect(cm.lockTable.get(k('a'))?.ts).toBe(5n);
    g1b.release();
    g2.release();
    expect(cm.lockTable.size).toBe(0);
    expect(cm.globalMinLockTs()).toBeUndefined();
  });

  it('range checks see locks in [start, end) in key order', () => {
    const cm = new ConcurrencyManager<{ ts: bigint; minCommitTs: bigint }>();
    const guards = cm.lockKeys([k('c'), k('a'), k('b'), k('d')]);
    guards.forEach((g, i) => g.setLock({ ts: BigInt(i + 1), minCommitTs: 0n }));
    const seen: string[] = [];
    cm.readRangeCheck(k('b'), k('d'), (_l, key) => seen.push(new TextDecoder().decode(key)));
    expect(seen).toEqual(['b', 'c']);
    const all: string[] = [];
    cm.readRangeCheck(undefined, new Uint8Array(0), (_l, key) => all.push(new TextDecoder().decode(key)));
    expect(all).toEqual(['a', 'b', 'c', 'd']);
    guards.forEach((g) => g.release());
  });
});
