import { JointConfig } from '../quorum/joint';
import { VoteResult } from '../quorum/majority';
import type { ConfState } from '../util';
import { compareBigint } from '../util';
import type { Progress } from './progress';

/** The membership Raft runs under: voters (possibly joint), learners and the joint-phase extras. */
export class Configuration {
  voters: JointConfig;
  /** Learners: replicated to, never vote. Disjoint from both voter halves. */
  learners: Set<bigint>;
  /** Outgoing voters that become learners when the joint config is left. */
  learnersNext: Set<bigint>;
  /** Whether Raft leaves the joint config by itself once it is applied. */
  autoLeave: boolean;

  constructor(
    voters: JointConfig = new JointConfig(),
    learners: Iterable<bigint> = [],
    learnersNext: Iterable<bigint> = [],
    autoLeave = false,
  ) {
    this.voters = voters;
    this.learners = new Set(learners);
    this.learnersNext = new Set(learnersNext);
    this.autoLeave = autoLeave;
  }

  /** A deep copy. */
  clone(): Configuration {
    return new Configuration(this.voters.clone(), this.learners, this.learnersNext, this.autoLeave);
  }

  /** The eraftpb form, with every id list sorted. */
  toConfState(): ConfState {
    return {
      voters: this.voters.incoming.sorted(),
      learners: [...this.learners].sort(compareBigint),
      votersOutgoing: this.voters.outgoing.sorted(),
      learnersNext: [...this.learnersNext].sort(compareBigint),
      autoLeave: this.autoLeave,
    };
  }
}

/** Map from node id to the leader's progress for it. */
export type ProgressMap = Map<bigint, Progress>;

/** Tracks the configuration, every peer's progress and the votes of an election. */
export class ProgressTracker {
  conf = new Configuration();
  progress: ProgressMap = new Map();
  votes = new Map<bigint, boolean>();
  readonly maxInflight: number;

  constructor(maxInflight: number) {
    this.maxInflight = maxInflight;
  }

  /** The current configuration as a ConfState. */
  confState(): ConfState {
    return this.conf.toConfState();
  }

  /** Whether exactly one voter and no joint phase. */
  isSingleton(): boolean {
    return this.conf.voters.incoming.size === 1 && this.conf.voters.outgoing.size === 0;
  }

  /** Whether `id` is a voter (either half). */
  isVoter(id: bigint): boolean {
    return this.conf.voters.contains(id);
  }

  /** Whether `id` is a learner (or a learner-to-be while joint). */
  isLearner(id: bigint): boolean {
    return this.conf.learners.has(id);
  }

  /** The largest index replicated on a (joint) quorum of voters. */
  committed(): bigint {
    return this.conf.voters.committedIndex((id) => this.progress.get(id)?.matched);
  }

  /** Visits every tracked peer in ascending id order. */
  visit(f: (id: bigint, pr: Progress) => void): void {
    // The map is replaced (never edited) on every configuration change: cache its sorted ids.
    if (this.#sortedFor !== this.progress || this.#sortedIds.length !== this.progress.size) {
      this.#sortedIds = [...this.progress.keys()].sort(compareBigint);
      this.#sortedFor = this.progress;
    }
    for (const id of this.#sortedIds) {
      const pr = this.progress.get(id);
      if (pr !== undefined) f(id, pr);
    }
  }

  #sortedIds: bigint[] = [];
  #sortedFor: ProgressMap | undefined;

  /** Whether a quorum of voters has been active since the last check (the leader counts itself). */
  quorumRecentlyActive(self: bigint): boolean {
    return (
      this.conf.voters.voteResult((id) => {
        if (id === self) return true;
        const pr = this.progress.get(id);
        return pr === undefined ? undefined : pr.recentActive;
      }) === VoteResult.Won
    );
  }

  /** Whether the given set of voters forms a quorum. */
  hasQuorum(ids: Set<bigint>): boolean {
    return this.conf.voters.voteResult((id) => (ids.has(id) ? true : undefined)) === VoteResult.Won;
  }

  /** Forgets every vote. */
  resetVotes(): void {
    this.votes = new Map();
  }

  /** Records the first vote of `id` (later votes of the same id are ignored). */
  recordVote(id: bigint, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  /** Counts the votes of voters: granted, rejected and the result. */
  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.conf.voters.ids()) {
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: this.conf.voters.voteResult((id) => this.votes.get(id)) };
  }
}
