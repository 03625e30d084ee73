import { eraftpb } from '@tikv-ts/proto';
import type { ConfState } from '../util';
import type { ChangeResult, ConfChangeSingle } from './changer';
import { Changer } from './changer';
import type { ProgressTracker } from '../tracker/progress-tracker';

function single(changeType: eraftpb.ConfChangeType, nodeId: bigint): ConfChangeSingle {
  return { changeType, nodeId };
}

/**
 * Rebuilds the configuration described by `cs` starting from the (empty) configuration of
 * `tracker`, through a sequence of valid transitions: the outgoing voters one by one, then
 * entering the joint config with the incoming side (or, when not joint, adding every
 * voter and learner one by one). Returns the final configuration and progress map.
 */
export function restoreConfState(tracker: ProgressTracker, lastIndex: bigint, cs: ConfState): ChangeResult {
  const outgoing: ConfChangeSingle[] = [];
  const incoming: ConfChangeSingle[] = [];
  for (const id of cs.votersOutgoing) {
    outgoing.push(single(eraftpb.ConfChangeType.AddNode, id));
    // Undone again when the joint config is entered from the outgoing voters.
    incoming.push(single(eraftpb.ConfChangeType.RemoveNode, id));
  }
  for (const id of cs.voters) incoming.push(single(eraftpb.ConfChangeType.AddNode, id));
  for (const id of cs.learners) incoming.push(single(eraftpb.ConfChangeType.AddLearnerNode, id));
  for (const id of cs.learnersNext) incoming.push(single(eraftpb.ConfChangeType.AddLearnerNode, id));

  const step = (r: ChangeResult): void => {
    tracker.conf = r.conf;
    tracker.progress = r.progress;
  };
  if (outgoing.length === 0) {
    for (const cc of incoming) step(new Changer(tracker, lastIndex).simple([cc]));
  } else {
    for (const cc of outgoing) step(new Changer(tracker, lastIndex).simple([cc]));
    step(new Changer(tracker, lastIndex).enterJoint(cs.autoLeave, incoming));
  }
  return { conf: tracker.conf, progress: tracker.progress };
}
