import { compareBigint } from '../util';

/** Outcome of counting votes against a quorum. */
export enum VoteResult {
  /** Neither a quorum of yes nor enough no votes to rule one out yet. */
  Pending = 0,
  /** A quorum can no longer be reached. */
  Lost = 1,
  /** A quorum voted yes. */
  Won = 2,
}

/** Returns the acknowledged (matched) index of a voter, or undefined when unknown. */
export type AckedIndexer = (id: bigint) => bigint | undefined;

/** Largest possible u64, the committed index of an empty configuration (neutral for `min`). */
export const MAX_U64 = (1n << 64n) - 1n;

/** A set of voters decided by simple majority (Raft §5.2, §5.3). */
export class MajorityConfig {
  readonly voters: Set<bigint>;

  constructor(voters: Iterable<bigint> = []) {
    this.voters = new Set(voters);
  }

  /** Number of voters. */
  get size(): number {
    return this.voters.size;
  }

  /** The voter ids in ascending order. */
  sorted(): bigint[] {
    return [...this.voters].sort(compareBigint);
  }

  /**
   * The largest index acknowledged by a majority: sort the acked indexes in descending
   * order and take the one at position `n/2`. An empty config returns {@link MAX_U64} so that
   * a joint config with an empty half is decided by the other half.
   */
  committedIndex(acked: AckedIndexer): bigint {
    const n = this.voters.size;
    if (n === 0) return MAX_U64;
    const idx: bigint[] = [];
    for (const id of this.voters) idx.push(acked(id) ?? 0n);
    idx.sort((a, b) => compareBigint(b, a));
    return idx[Math.floor(n / 2)] ?? 0n;
  }

  /** Counts votes (true = yes, false = no, undefined = not yet) against a majority. An empty config wins. */
  voteResult(votes: (id: bigint) => boolean | undefined): VoteResult {
    const n = this.voters.size;
    if (n === 0) return VoteResult.Won;
    let yes = 0;
    let missing = 0;
    for (const id of this.voters) {
      const v = votes(id);
      if (v === undefined) missing++;
      else if (v) yes++;
    }
    const q = Math.floor(n / 2) + 1;
    if (yes >= q) return VoteResult.Won;
    if (yes + missing >= q) return VoteResult.Pending;
    return VoteResult.Lost;
  }
}
