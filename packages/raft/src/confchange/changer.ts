import { eraftpb } from '@tikv-ts/proto';
import { ConfChangeError } from '../errors';
import type { JointConfig } from '../quorum/joint';
import { Progress } from '../tracker/progress';
import type { ProgressMap, ProgressTracker } from '../tracker/progress-tracker';
import { Configuration } from '../tracker/progress-tracker';

/** One single-node change of a ConfChangeV2. */
export type ConfChangeSingle = eraftpb.ConfChangeSingle;

/** A new configuration and the progress map to go with it. */
export interface ChangeResult {
  conf: Configuration;
  progress: ProgressMap;
}

/**
 * Computes configuration transitions (Raft thesis §4.3, joint consensus) from a tracker's
 * current state without modifying it: a single-voter-change `simple` step, entering a joint
 * config, and leaving it. Invalid transitions throw {@link ConfChangeError}.
 */
export class Changer {
  readonly #tracker: ProgressTracker;
  readonly #lastIndex: bigint;

  /** @param lastIndex the leader's last log index; new peers start probing after it */
  constructor(tracker: ProgressTracker, lastIndex: bigint) {
    this.#tracker = tracker;
    this.#lastIndex = lastIndex;
  }

  /** Enters a joint config: outgoing = current voters, incoming = current voters with `changes`. */
  enterJoint(autoLeave: boolean, changes: ConfChangeSingle[]): ChangeResult {
    const { conf, progress } = this.#checkAndCopy();
    if (conf.voters.isJoint()) throw new ConfChangeError('Configuration is already joint');
    if (conf.voters.incoming.size === 0) throw new ConfChangeError('Cannot make a zero-voter configuration joint');
    for (const id of conf.voters.incoming.voters) conf.voters.outgoing.voters.add(id);
    this.#apply(conf, progress, changes);
    conf.autoLeave = autoLeave;
    return this.#checkAndReturn(conf, progress);
  }

  /** Leaves the joint config: learnersNext become learners, outgoing-only voters are dropped. */
  leaveJoint(): ChangeResult {
    const { conf, progress } = this.#checkAndCopy();
    if (!conf.voters.isJoint()) throw new ConfChangeError('Cannot leave a non-joint configuration');
    for (const id of conf.learnersNext) conf.learners.add(id);
    conf.learnersNext.clear();
    for (const id of conf.voters.outgoing.voters) {
      if (!conf.voters.incoming.voters.has(id) && !conf.learners.has(id)) progress.delete(id);
    }
    conf.voters.outgoing.voters.clear();
    conf.autoLeave = false;
    return this.#checkAndReturn(conf, progress);
  }

  /** Applies changes that alter at most one voter, without a joint phase. */
  simple(changes: ConfChangeSingle[]): ChangeResult {
    const { conf, progress } = this.#checkAndCopy();
    if (conf.voters.isJoint()) throw new ConfChangeError('Cannot apply a simple change to a joint configuration');
    const before = new Set(conf.voters.incoming.voters);
    this.#apply(conf, progress, changes);
    const after = conf.voters.incoming.voters;
    let diff = 0;
    for (const id of before) if (!after.has(id)) diff++;
    for (const id of after) if (!before.has(id)) diff++;
    if (diff > 1) throw new ConfChangeError('More than one voter changed without entering a joint configuration');
    return this.#checkAndReturn(conf, progress);
  }

  #apply(conf: Configuration, progress: ProgressMap, changes: ConfChangeSingle[]): void {
    for (const cc of changes) {
      if (cc.nodeId === 0n) continue;
      switch (cc.changeType) {
        case eraftpb.ConfChangeType.AddNode:
          this.#makeVoter(conf, progress, cc.nodeId);
          break;
        case eraftpb.ConfChangeType.AddLearnerNode:
          this.#makeLearner(conf, progress, cc.nodeId);
          break;
        case eraftpb.ConfChangeType.RemoveNode:
          this.#remove(conf, progress, cc.nodeId);
          break;
        default:
          throw new ConfChangeError(`Unknown conf change type ${String(cc.changeType)}`);
      }
    }
    if (conf.voters.incoming.size === 0) throw new ConfChangeError('Removed all voters');
  }

  #makeVoter(conf: Configuration, progress: ProgressMap, id: bigint): void {
    if (!progress.has(id)) {
      this.#initProgress(conf, progress, id, false);
      return;
    }
    conf.learners.delete(id);
    conf.learnersNext.delete(id);
    conf.voters.incoming.voters.add(id);
  }

  #makeLearner(conf: Configuration, progress: ProgressMap, id: bigint): void {
    const pr = progress.get(id);
    if (pr === undefined) {
      this.#initProgress(conf, progress, id, true);
      return;
    }
    if (conf.learners.has(id)) return;
    // Drop the voter role but keep the progress: the node stays tracked as a learner.
    this.#remove(conf, progress, id);
    progress.set(id, pr);
    // A voter of the outgoing half cannot be a learner at the same time: it becomes one
    // when the joint config is left.
    if (conf.voters.outgoing.voters.has(id)) conf.learnersNext.add(id);
    else conf.learners.add(id);
  }

  #remove(conf: Configuration, progress: ProgressMap, id: bigint): void {
    if (!progress.has(id)) return;
    conf.voters.incoming.voters.delete(id);
    conf.learners.delete(id);
    conf.learnersNext.delete(id);
    if (!conf.voters.outgoing.voters.has(id)) progress.delete(id);
  }

  #initProgress(conf: Configuration, progress: ProgressMap, id: bigint, isLearner: boolean): void {
    if (isLearner) conf.learners.add(id);
    else conf.voters.incoming.voters.add(id);
    const pr = new Progress(this.#lastIndex + 1n, this.#tracker.maxInflight);
    // A new peer is considered active so that check-quorum does not step the leader down
    // before the peer had a chance to answer.
    pr.recentActive = true;
    progress.set(id, pr);
  }

  #checkAndCopy(): ChangeResult {
    const conf = this.#tracker.conf.clone();
    const progress: ProgressMap = new Map(this.#tracker.progress);
    checkInvariants(conf, progress);
    return { conf, progress };
  }

  #checkAndReturn(conf: Configuration, progress: ProgressMap): ChangeResult {
    checkInvariants(conf, progress);
    return { conf, progress };
  }
}

function checkInvariants(conf: Configuration, progress: ProgressMap): void {
  const voters: JointConfig = conf.voters;
  for (const id of voters.ids()) {
    if (!progress.has(id)) throw new ConfChangeError(`No progress for voter ${id}`);
  }
  for (const id of conf.learners) {
    if (!progress.has(id)) throw new ConfChangeError(`No progress for learner ${id}`);
    if (voters.contains(id)) throw new ConfChangeError(`Node ${id} is both a learner and a voter`);
  }
  for (const id of conf.learnersNext) {
    if (!progress.has(id)) throw new ConfChangeError(`No progress for learner-next ${id}`);
    if (!voters.outgoing.voters.has(id)) throw new ConfChangeError(`Learner-next ${id} is not an outgoing voter`);
  }
  if (!voters.isJoint()) {
    if (conf.learnersNext.size > 0) throw new ConfChangeError('learnersNext must be empty outside a joint configuration');
    if (conf.autoLeave) throw new ConfChangeError('autoLeave must be false outside a joint configuration');
  }
}

/** An empty configuration (exported for restore). */
export function emptyConfiguration(): Configuration {
  return new Configuration();
}
