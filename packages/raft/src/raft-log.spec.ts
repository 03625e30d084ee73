import { Unstable } from './log-unstable';
import { RaftLog } from './raft-log';
import { ent, entsWithTerms } from './sim/fixtures';
import { MemStorage } from './storage';
import { newConfState, newSnapshot } from './util';

function log(...terms: number[]): RaftLog {
  const s = new MemStorage();
  s.append(entsWithTerms(...terms));
  return new RaftLog(s);
}

describe('Unstable', () => {
  it('hands entries out once, keeps them until persisted, and truncates on conflict', () => {
    const u = new Unstable(5n);
    u.truncateAndAppend([ent(5n, 1n), ent(6n, 1n), ent(7n, 1n)]);
    expect(u.nextEntries().map((e) => e.index)).toEqual([5n, 6n, 7n]);
    u.acceptInProgress();
    expect(u.nextEntries()).toEqual([]);
    u.truncateAndAppend([ent(7n, 2n), ent(8n, 2n)]);
    expect(u.nextEntries().map((e) => [e.index, e.term])).toEqual([
      [7n, 2n],
      [8n, 2n],
    ]);
    u.stableTo(6n, 1n);
    expect(u.offset).toBe(7n);
    // stale persistence notice (term differs): ignored
    u.stableTo(7n, 1n);
    expect(u.offset).toBe(7n);
    expect(u.maybeLastIndex()).toBe(8n);
    u.restore(newSnapshot(20n, 3n, newConfState([1n])));
    expect(u.maybeFirstIndex()).toBe(21n);
    expect(u.maybeTerm(20n)).toBe(3n);
    expect(u.nextSnapshot()).toBeDefined();
    u.acceptInProgress();
    expect(u.nextSnapshot()).toBeUndefined();
    u.stableSnapTo(20n);
    expect(u.snapshot).toBeUndefined();
  });
});

describe('RaftLog', () => {
  it('findConflict finds the first mismatching entry', () => {
    const l = log(1, 2, 3);
    expect(l.findConflict([])).toBe(0n);
    expect(l.findConflict([ent(1n, 1n), ent(2n, 2n)])).toBe(0n);
    expect(l.findConflict([ent(2n, 2n), ent(3n, 3n), ent(4n, 4n)])).toBe(4n);
    expect(l.findConflict([ent(2n, 1n), ent(3n, 4n)])).toBe(2n);
  });

  it('findConflictByTerm walks back to the last entry not above the term', () => {
    const l = log(1, 1, 3, 3, 5);
    expect(l.findConflictByTerm(5n, 4n)).toEqual({ index: 4n, term: 3n });
    expect(l.findConflictByTerm(5n, 2n)).toEqual({ index: 2n, term: 1n });
    expect(l.findConflictByTerm(5n, 0n)).toEqual({ index: 0n, term: 0n });
    expect(l.findConflictByTerm(9n, 5n)).toEqual({ index: 9n, term: 0n });
  });

  it('isUpToDate compares last term then length (§5.4.1)', () => {
    const l = log(1, 2, 3);
    expect(l.isUpToDate(3n, 3n)).toBe(true);
    expect(l.isUpToDate(2n, 3n)).toBe(false);
    expect(l.isUpToDate(1n, 4n)).toBe(true);
    expect(l.isUpToDate(9n, 2n)).toBe(false);
  });

  it('maybeAppend appends on match, refuses on mismatch, never truncates committed entries', () => {
    const l = log(1, 2, 3);
    l.commitTo(1n);
    expect(l.maybeAppend(3n, 3n, 4n, [ent(4n, 4n)])).toBe(4n);
    expect(l.committed).toBe(4n);
    expect(l.maybeAppend(3n, 2n, 4n, [ent(4n, 4n)])).toBeUndefined();
    expect(() => l.maybeAppend(1n, 1n, 4n, [ent(2n, 9n)])).toThrow(/conflicts with committed/);
  });

  it('hands out committed entries only once persisted', () => {
    const l = log(1, 1);
    l.append([ent(3n, 2n), ent(4n, 2n)]);
    l.commitTo(4n);
    expect(l.nextEntriesSince(0n).map((e) => e.index)).toEqual([1n, 2n]);
    l.unstable.acceptInProgress();
    (l.storage as MemStorage).append([ent(3n, 2n), ent(4n, 2n)]);
    expect(l.stableEntries(4n, 2n)).toBe(true);
    expect(l.nextEntriesSince(2n).map((e) => e.index)).toEqual([3n, 4n]);
  });

  it('slice spans storage and unstable and honours the size limit', () => {
    const l = log(1, 1, 1);
    l.append([ent(4n, 2n), ent(5n, 2n)]);
    expect(l.slice(2n, 6n).map((e) => e.index)).toEqual([2n, 3n, 4n, 5n]);
    expect(l.slice(2n, 6n, 40).map((e) => e.index)).toEqual([2n, 3n]);
  });
});
