import { eraftpb } from '@tikv-ts/proto';
import { ConfChangeError } from '../errors';
import { ProgressTracker } from '../tracker/progress-tracker';
import type { ConfState } from '../util';
import { Changer } from './changer';
import type { ConfChangeSingle } from './changer';
import { restoreConfState } from './restore';

const T = eraftpb.ConfChangeType;
const add = (id: number): ConfChangeSingle => ({ changeType: T.AddNode, nodeId: BigInt(id) });
const rm = (id: number): ConfChangeSingle => ({ changeType: T.RemoveNode, nodeId: BigInt(id) });
const learner = (id: number): ConfChangeSingle => ({ changeType: T.AddLearnerNode, nodeId: BigInt(id) });

function apply(t: ProgressTracker, f: (c: Changer) => ReturnType<Changer['simple']>): ConfState {
  const r = f(new Changer(t, 10n));
  t.conf = r.conf;
  t.progress = r.progress;
  return t.confState();
}

function tracker(...voters: number[]): ProgressTracker {
  const t = new ProgressTracker(8);
  for (const v of voters) apply(t, (c) => c.simple([add(v)]));
  return t;
}

describe('Changer', () => {
  it('simple: adds and removes one voter at a time, learners freely', () => {
    const t = tracker(1, 2);
    expect(apply(t, (c) => c.simple([add(3)])).voters).toEqual([1n, 2n, 3n]);
    expect(apply(t, (c) => c.simple([learner(4), learner(5)])).learners).toEqual([4n, 5n]);
    expect(apply(t, (c) => c.simple([rm(3)])).voters).toEqual([1n, 2n]);
    // promotion of a learner
    const cs = apply(t, (c) => c.simple([add(4)]));
    expect(cs.voters).toEqual([1n, 2n, 4n]);
    expect(cs.learners).toEqual([5n]);
    expect(t.progress.has(3n)).toBe(false);
  });

  it('simple: refuses changing two voters, removing every voter, and working on a joint config', () => {
    const t = tracker(1, 2);
    expect(() => new Changer(t, 10n).simple([add(3), add(4)])).toThrow(ConfChangeError);
    expect(() => new Changer(t, 10n).simple([rm(1), rm(2)])).toThrow(ConfChangeError);
    apply(t, (c) => c.enterJoint(false, [add(3)]));
    expect(() => new Changer(t, 10n).simple([add(4)])).toThrow(ConfChangeError);
  });

  it('enterJoint/leaveJoint: outgoing keeps the old voters until left', () => {
    const t = tracker(1, 2, 3);
    const cs = apply(t, (c) => c.enterJoint(true, [rm(3), add(4), add(5)]));
    expect(cs.voters).toEqual([1n, 2n, 4n, 5n]);
    expect(cs.votersOutgoing).toEqual([1n, 2n, 3n]);
    expect(cs.autoLeave).toBe(true);
    expect(() => new Changer(t, 10n).enterJoint(false, [])).toThrow(ConfChangeError);
    const left = apply(t, (c) => c.leaveJoint());
    expect(left.voters).toEqual([1n, 2n, 4n, 5n]);
    expect(left.votersOutgoing).toEqual([]);
    expect(left.autoLeave).toBe(false);
    expect(t.progress.has(3n)).toBe(false);
    expect(() => new Changer(t, 10n).leaveJoint()).toThrow(ConfChangeError);
  });

  it('demoting a voter in a joint config goes through learnersNext', () => {
    const t = tracker(1, 2, 3);
    const cs = apply(t, (c) => c.enterJoint(false, [learner(3)]));
    expect(cs.learnersNext).toEqual([3n]);
    expect(cs.learners).toEqual([]);
    const left = apply(t, (c) => c.leaveJoint());
    expect(left.learners).toEqual([3n]);
    expect(left.voters).toEqual([1n, 2n]);
  });
});

describe('restoreConfState', () => {
  it.each<ConfState>([
    { voters: [1n, 2n, 3n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
    { voters: [1n, 2n, 3n], learners: [4n, 5n], votersOutgoing: [], learnersNext: [], autoLeave: false },
    { voters: [1n, 2n, 4n], learners: [5n], votersOutgoing: [1n, 2n, 3n], learnersNext: [3n], autoLeave: true },
    { voters: [4n, 5n, 6n], learners: [], votersOutgoing: [1n, 2n, 3n], learnersNext: [], autoLeave: false },
    { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
  ])('round-trips %j', (cs) => {
    const t = new ProgressTracker(8);
    restoreConfState(t, 5n, cs);
    expect(t.confState()).toEqual(cs);
  });
});
