import type { Rng } from '@tikv-ts/util';
import { ConfigInvalidError } from './errors';
import { ReadOnlyOption } from './read-only';
import { NO_LIMIT } from './util';

/** Options of a Raft node. Times are in ticks, sizes in bytes. */
export interface Config {
  /** This node's id (non-zero). */
  id: bigint;
  /** Ticks without hearing from a leader before a follower campaigns (must be > heartbeatTick). */
  electionTick: number;
  /** Ticks between the leader's heartbeats. */
  heartbeatTick: number;
  /** The last index the application applied before restart; Raft hands out entries after it. */
  appliedIndex?: bigint;
  /** Size limit of the entries in one MsgAppend (at least one entry is always sent). Default: no limit. */
  maxSizePerMsg?: number;
  /** Size limit of the committed entries in one Ready. Default: no limit. */
  maxCommittedSizePerReady?: number;
  /** Number of MsgAppend in flight per follower in Replicate state. Default 256. */
  maxInflightMsgs?: number;
  /** The leader steps down when it has not heard from a quorum in an election timeout; followers honour the lease. */
  checkQuorum?: boolean;
  /** Run the pre-vote phase (Raft thesis §9.6) before incrementing the term. */
  preVote?: boolean;
  /** How read-index requests are served. Default Safe. LeaseBased requires checkQuorum. */
  readOnlyOption?: ReadOnlyOption;
  /** Do not broadcast an append only to spread a new commit index (followers learn it later). */
  skipBcastCommit?: boolean;
  /** Election priority: with equal logs, a vote is refused to a lower-priority candidate. Default 0. */
  priority?: bigint;
  /** Lower bound (inclusive) of the randomized election timeout. Default electionTick. */
  minElectionTick?: number;
  /** Upper bound (exclusive) of the randomized election timeout. Default 2 * electionTick. */
  maxElectionTick?: number;
  /** Randomness for the election timeout jitter (the only randomness Raft uses). */
  rng: Rng;
}

/** A validated {@link Config} with every default filled in. */
export interface ResolvedConfig {
  readonly id: bigint;
  readonly electionTick: number;
  readonly heartbeatTick: number;
  readonly appliedIndex: bigint;
  readonly maxSizePerMsg: number;
  readonly maxCommittedSizePerReady: number;
  readonly maxInflightMsgs: number;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly readOnlyOption: ReadOnlyOption;
  readonly skipBcastCommit: boolean;
  readonly priority: bigint;
  readonly minElectionTick: number;
  readonly maxElectionTick: number;
  readonly rng: Rng;
}

/**
 * Validates a config and fills in defaults.
 * @throws ConfigInvalidError naming the offending option
 */
export function validateConfig(c: Config): ResolvedConfig {
  const bad = (msg: string): never => {
    throw new ConfigInvalidError(`Invalid raft config: ${msg}`);
  };
  if (c.id === 0n) bad('id must not be 0');
  if (!Number.isInteger(c.heartbeatTick) || c.heartbeatTick <= 0) bad(`heartbeatTick ${c.heartbeatTick} must be a positive integer`);
  if (!Number.isInteger(c.electionTick) || c.electionTick <= c.heartbeatTick) {
    bad(`electionTick ${c.electionTick} must be an integer greater than heartbeatTick ${c.heartbeatTick}`);
  }
  const minElectionTick = c.minElectionTick ?? c.electionTick;
  const maxElectionTick = c.maxElectionTick ?? 2 * c.electionTick;
  if (minElectionTick < c.electionTick) bad(`minElectionTick ${minElectionTick} must be >= electionTick ${c.electionTick}`);
  if (maxElectionTick <= minElectionTick) bad(`maxElectionTick ${maxElectionTick} must be > minElectionTick ${minElectionTick}`);
  const maxInflightMsgs = c.maxInflightMsgs ?? 256;
  if (!Number.isInteger(maxInflightMsgs) || maxInflightMsgs <= 0) bad(`maxInflightMsgs ${maxInflightMsgs} must be a positive integer`);
  const readOnlyOption = c.readOnlyOption ?? ReadOnlyOption.Safe;
  const checkQuorum = c.checkQuorum ?? false;
  if (readOnlyOption === ReadOnlyOption.LeaseBased && !checkQuorum) bad('readOnlyOption LeaseBased requires checkQuorum');
  const maxSizePerMsg = c.maxSizePerMsg ?? NO_LIMIT;
  if (maxSizePerMsg < 0) bad('maxSizePerMsg must be >= 0');
  const maxCommittedSizePerReady = c.maxCommittedSizePerReady ?? NO_LIMIT;
  if (maxCommittedSizePerReady < 0) bad('maxCommittedSizePerReady must be >= 0');
  const appliedIndex = c.appliedIndex ?? 0n;
  if (appliedIndex < 0n) bad('appliedIndex must be >= 0');
  return {
    id: c.id,
    electionTick: c.electionTick,
    heartbeatTick: c.heartbeatTick,
    appliedIndex,
    maxSizePerMsg,
    maxCommittedSizePerReady,
    maxInflightMsgs,
    checkQuorum,
    preVote: c.preVote ?? false,
    readOnlyOption,
    skipBcastCommit: c.skipBcastCommit ?? false,
    priority: c.priority ?? 0n,
    minElectionTick,
    maxElectionTick,
    rng: c.rng,
  };
}
