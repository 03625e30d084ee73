import { minBigint } from '../util';
import type { AckedIndexer } from './majority';
import { MajorityConfig, VoteResult } from './majority';

/**
 * Two majority configs, incoming and outgoing, both of which must agree (joint consensus,
 * Raft thesis §4.3). Outside of a joint phase the outgoing half is empty and decides nothing.
 */
export class JointConfig {
  incoming: MajorityConfig;
  outgoing: MajorityConfig;

  constructor(incoming: Iterable<bigint> = [], outgoing: Iterable<bigint> = []) {
    this.incoming = new MajorityConfig(incoming);
    this.outgoing = new MajorityConfig(outgoing);
  }

  /** Whether the outgoing half is non-empty. */
  isJoint(): boolean {
    return this.outgoing.size > 0;
  }

  /** Whether `id` votes in either half. */
  contains(id: bigint): boolean {
    return this.incoming.voters.has(id) || this.outgoing.voters.has(id);
  }

  /** All voter ids of both halves, each once, incoming first. */
  ids(): Set<bigint> {
    const s = new Set(this.incoming.voters);
    for (const id of this.outgoing.voters) s.add(id);
    return s;
  }

  /** The largest index committed by both halves. */
  committedIndex(acked: AckedIndexer): bigint {
    return minBigint(this.incoming.committedIndex(acked), this.outgoing.committedIndex(acked));
  }

  /** Won when both halves won, Lost when either lost, else Pending. */
  voteResult(votes: (id: bigint) => boolean | undefined): VoteResult {
    const a = this.incoming.voteResult(votes);
    const b = this.outgoing.voteResult(votes);
    if (a === b) return a;
    if (a === VoteResult.Lost || b === VoteResult.Lost) return VoteResult.Lost;
    return VoteResult.Pending;
  }

  /** A deep copy. */
  clone(): JointConfig {
    return new JointConfig(this.incoming.voters, this.outgoing.voters);
  }
}
