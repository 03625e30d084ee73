import { JointConfig } from './joint';
import { MajorityConfig, MAX_U64, VoteResult } from './majority';

const acked = (m: Record<string, number>) => (id: bigint) => (m[String(id)] === undefined ? undefined : BigInt(m[String(id)] as number));

describe('MajorityConfig', () => {
  it.each([
    [[], {}, MAX_U64],
    [[1], { 1: 5 }, 5n],
    [[1, 2, 3], { 1: 5, 2: 3, 3: 1 }, 3n],
    [[1, 2, 3], { 1: 5 }, 0n],
    [[1, 2, 3, 4], { 1: 9, 2: 8, 3: 7, 4: 6 }, 7n],
    [[1, 2, 3, 4, 5], { 1: 9, 2: 8, 3: 7, 4: 6, 5: 5 }, 7n],
  ])('voters %j with acks %j commit %s', (ids, acks, want) => {
    expect(new MajorityConfig(ids.map(BigInt)).committedIndex(acked(acks))).toBe(want);
  });

  it('tallies votes into won, lost and pending', () => {
    const c = new MajorityConfig([1n, 2n, 3n]);
    expect(c.voteResult(() => undefined)).toBe(VoteResult.Pending);
    expect(c.voteResult((id) => (id === 1n ? true : undefined))).toBe(VoteResult.Pending);
    expect(c.voteResult((id) => id !== 3n)).toBe(VoteResult.Won);
    expect(c.voteResult((id) => id === 1n)).toBe(VoteResult.Lost);
    expect(new MajorityConfig().voteResult(() => false)).toBe(VoteResult.Won);
  });
});

describe('JointConfig', () => {
  it('commits the minimum of both halves; an empty outgoing half does not constrain', () => {
    const j = new JointConfig([1n, 2n, 3n], [3n, 4n, 5n]);
    expect(j.committedIndex(acked({ 1: 9, 2: 9, 3: 5, 4: 2, 5: 1 }))).toBe(2n);
    expect(new JointConfig([1n, 2n, 3n]).committedIndex(acked({ 1: 9, 2: 8, 3: 7 }))).toBe(8n);
  });

  it('needs both halves to win an election, loses if either loses', () => {
    const j = new JointConfig([1n, 2n, 3n], [3n, 4n, 5n]);
    expect(j.voteResult((id) => id === 1n || id === 2n || undefined)).toBe(VoteResult.Pending);
    expect(j.voteResult((id) => id <= 4n || undefined)).toBe(VoteResult.Won);
    expect(j.voteResult((id) => (id >= 3n ? false : true))).toBe(VoteResult.Lost);
    expect(j.ids()).toEqual(new Set([1n, 2n, 3n, 4n, 5n]));
  });
});
