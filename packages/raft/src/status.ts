import type { Raft, SoftState } from './raft';
import { StateRole } from './raft';
import type { Progress } from './tracker/progress';
import type { ConfState, HardState } from './util';

/** A snapshot of a node's state for monitoring (the leader also reports its peers' progress). */
export interface Status {
  id: bigint;
  hardState: HardState;
  softState: SoftState;
  applied: bigint;
  committed: bigint;
  persisted: bigint;
  lastIndex: bigint;
  confState: ConfState;
  /** Only on the leader: a copy of every peer's progress fields. */
  progress: Map<bigint, ReturnType<Progress['toJSON']>> | undefined;
  leadTransferee: bigint;
}

/** Collects the status of `raft`. */
export function getStatus(raft: Raft): Status {
  let progress: Status['progress'];
  if (raft.state === StateRole.Leader) {
    progress = new Map();
    for (const [id, pr] of raft.prs.progress) progress.set(id, pr.toJSON());
  }
  return {
    id: raft.id,
    hardState: raft.hardState(),
    softState: raft.softState(),
    applied: raft.raftLog.applied,
    committed: raft.raftLog.committed,
    persisted: raft.raftLog.persisted,
    lastIndex: raft.raftLog.lastIndex(),
    confState: raft.prs.confState(),
    progress,
    leadTransferee: raft.leadTransferee,
  };
}
