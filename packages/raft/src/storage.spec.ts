import { CompactedError, SnapshotOutOfDateError, SnapshotTemporarilyUnavailableError, UnavailableError } from './errors';
import { ent } from './sim/fixtures';
import { MemStorage } from './storage';
import { newConfState, newSnapshot } from './util';

function storage(): MemStorage {
  const s = new MemStorage();
  s.append([ent(1n, 1n), ent(2n, 1n), ent(3n, 2n), ent(4n, 2n), ent(5n, 3n)]);
  return s;
}

describe('MemStorage', () => {
  it('reads terms and entries in range, with typed errors outside', () => {
    const s = storage();
    expect(s.firstIndex()).toBe(1n);
    expect(s.lastIndex()).toBe(5n);
    expect(s.term(0n)).toBe(0n);
    expect(s.term(3n)).toBe(2n);
    expect(() => s.term(6n)).toThrow(UnavailableError);
    expect(s.entries(2n, 4n).map((e) => e.index)).toEqual([2n, 3n]);
    expect(() => s.entries(0n, 2n)).toThrow(CompactedError);
    expect(() => s.entries(2n, 7n)).toThrow(UnavailableError);
    // size limit: 16 bytes of header per empty entry; always at least one
    expect(s.entries(1n, 6n, 0).length).toBe(1);
    expect(s.entries(1n, 6n, 40).length).toBe(2);
  });

  it('append truncates a conflicting suffix and rejects gaps', () => {
    const s = storage();
    s.append([ent(4n, 4n), ent(5n, 4n), ent(6n, 4n)]);
    expect(s.lastIndex()).toBe(6n);
    expect(s.term(4n)).toBe(4n);
    s.append([ent(2n, 5n)]);
    expect(s.lastIndex()).toBe(2n);
    expect(() => s.append([ent(9n, 5n)])).toThrow(RangeError);
  });

  it('creates snapshots, compacts behind them and applies received ones', () => {
    const s = storage();
    expect(() => s.snapshot(1n, 2n)).toThrow(SnapshotTemporarilyUnavailableError);
    s.createSnapshot(4n, newConfState([1n, 2n]));
    expect(s.snapshot(3n, 2n).metadata?.index).toBe(4n);
    expect(() => s.createSnapshot(3n, newConfState([1n]))).toThrow(SnapshotOutOfDateError);
    expect(() => s.compact(5n)).toThrow(RangeError);
    s.compact(3n);
    expect(s.firstIndex()).toBe(4n);
    expect(s.term(3n)).toBe(2n);
    expect(() => s.term(2n)).toThrow(CompactedError);
    expect(() => s.compact(2n)).toThrow(CompactedError);
    s.applySnapshot(newSnapshot(10n, 7n, newConfState([1n, 2n, 3n])));
    expect(s.firstIndex()).toBe(11n);
    expect(s.lastIndex()).toBe(10n);
    expect(s.term(10n)).toBe(7n);
    expect(s.initialState().confState.voters).toEqual([1n, 2n, 3n]);
    expect(() => s.applySnapshot(newSnapshot(9n, 7n, newConfState([1n])))).toThrow(SnapshotOutOfDateError);
  });
});
