// Interaction tests of the Raft state machine beyond the paper: pre-vote, check-quorum,
// leader transfer, read index, learners, joint consensus, snapshots, progress and hints.
import { eraftpb } from '@tikv-ts/proto';
import { ProposalDroppedError } from './errors';
import { StateRole } from './raft';
import type { Raft } from './raft';
import { ReadOnlyOption } from './read-only';
import { MemStorage } from './storage';
import { ProgressState } from './tracker/progress';
import { ent, entsWithTerms, logOf, stepPersist, tickN } from './sim/fixtures';
import { msg, newTestRaft, persist, propose, readMessages, TestNetwork } from './sim/test-network';
import type { TestRaftOptions } from './sim/test-network';
import { newConfState, newHardState, newSnapshot } from './util';

const MT = eraftpb.MessageType;
const enc = new TextEncoder();
const hup = (id: bigint): eraftpb.Message => msg(MT.MsgHup, id, id);
const NONE = new Uint8Array(0);

function net3(opts: TestRaftOptions = {}): TestNetwork {
  return new TestNetwork([undefined, undefined, undefined], opts);
}

function cc2(transition: eraftpb.ConfChangeTransition, ...changes: Array<[eraftpb.ConfChangeType, bigint]>): eraftpb.ConfChangeV2 {
  return { transition, changes: changes.map(([changeType, nodeId]) => ({ changeType, nodeId })), context: NONE };
}

describe('election', () => {
  it('a single-voter group elects itself at once', () => {
    const s = MemStorage.withConfState(newConfState([1n]));
    const r = newTestRaft(1n, [1n], {}, s);
    r.step(hup(1n));
    expect(r.state).toBe(StateRole.Leader);
    expect(r.term).toBe(1n);
  });

  it('a three-node group elects the node that campaigns, and everyone follows it', () => {
    const n = net3();
    n.send([hup(1n)]);
    expect(n.get(1n).state).toBe(StateRole.Leader);
    expect(n.get(2n).leaderId).toBe(1n);
    expect(n.get(3n).leaderId).toBe(1n);
  });

  it('a candidate without a quorum stays candidate and retries in a new term', () => {
    const n = net3();
    n.isolate(1n);
    n.send([hup(1n)]);
    expect(n.get(1n).state).toBe(StateRole.Candidate);
    const t = n.get(1n).term;
    tickN(n.get(1n), 2 * n.get(1n).electionTimeout);
    expect(n.get(1n).term).toBeGreaterThan(t);
  });

  it('a pending committed-but-unapplied conf change blocks campaigning', () => {
    const s = MemStorage.withConfState(newConfState([1n, 2n]));
    const data = eraftpb.ConfChange.encode({ id: 0n, changeType: eraftpb.ConfChangeType.AddNode, nodeId: 3n, context: NONE }).finish();
    s.append([{ ...ent(1n, 1n), entryType: eraftpb.EntryType.EntryConfChange, data }]);
    s.setHardState(newHardState(1n, 0n, 1n));
    const r = newTestRaft(1n, [1n, 2n], {}, s);
    r.step(hup(1n));
    expect(r.state).toBe(StateRole.Follower);
    r.raftLog.appliedTo(1n);
    r.step(hup(1n));
    expect(r.state).toBe(StateRole.Candidate);
  });

  it('with priorities, a voter refuses an equally up-to-date candidate of lower priority', () => {
    const r = newTestRaft(1n, [1n, 2n, 3n], { priority: 5n });
    r.step(msg(MT.MsgRequestVote, 2n, 1n, { term: 1n, index: 0n, logTerm: 0n, priority: 1n }));
    expect(readMessages(r)[0]?.reject).toBe(true);
    r.step(msg(MT.MsgRequestVote, 3n, 1n, { term: 2n, index: 0n, logTerm: 0n, priority: 5n }));
    expect(readMessages(r)[0]?.reject).toBe(false);
  });
});

describe('pre-vote', () => {
  it('a partitioned node keeps its term, and rejoining does not disrupt the leader', () => {
    const n = net3({ preVote: true });
    n.send([hup(1n)]);
    n.send([propose(1n, 'a')]);
    const term = n.get(1n).term;
    n.isolate(3n);
    n.send([propose(1n, 'b')]);
    for (let i = 0; i < 10; i++) n.send([hup(3n)]);
    expect(n.get(3n).term).toBe(term);
    expect(n.get(3n).state).toBe(StateRole.PreCandidate);
    n.recover();
    // 3's log is behind: its pre-vote is refused and the leader is never disturbed
    n.send([hup(3n)]);
    n.send([propose(1n, 'c')]);
    expect(n.get(1n).state).toBe(StateRole.Leader);
    expect(n.get(1n).term).toBe(term);
    expect(n.get(3n).state).toBe(StateRole.Follower);
    expect(n.get(3n).raftLog.committed).toBe(n.get(1n).raftLog.committed);
  });

  it('without pre-vote the partitioned node bumps its term and forces an election when it rejoins', () => {
    const n = net3();
    n.send([hup(1n)]);
    const term = n.get(1n).term;
    n.isolate(3n);
    for (let i = 0; i < 3; i++) n.send([hup(3n)]);
    expect(n.get(3n).term).toBe(term + 3n);
    n.recover();
    n.send([hup(3n)]);
    expect(n.get(1n).term).toBeGreaterThan(term);
  });

  it('a pre-candidate wins the pre-vote then campaigns for real', () => {
    const n = net3({ preVote: true });
    n.send([hup(2n)]);
    expect(n.get(2n).state).toBe(StateRole.Leader);
    expect(n.get(2n).term).toBe(1n);
  });

  it('a node grants a pre-vote for a future term without changing its own term or vote', () => {
    const r = newTestRaft(1n, [1n, 2n, 3n], { preVote: true });
    r.loadState(newHardState(2n, 3n, 0n));
    r.step(msg(MT.MsgRequestPreVote, 2n, 1n, { term: 3n, index: 0n, logTerm: 0n }));
    const [m] = readMessages(r);
    expect(m?.msgType).toBe(MT.MsgRequestPreVoteResponse);
    expect(m?.reject).toBe(false);
    expect(m?.term).toBe(3n);
    expect(r.term).toBe(2n);
    expect(r.vote).toBe(3n);
  });
});

describe('check-quorum and leader lease', () => {
  it('a leader that hears from no quorum within an election timeout steps down', () => {
    const n = net3({ checkQuorum: true });
    n.send([hup(1n)]);
    const l = n.get(1n);
    n.isolate(1n);
    tickN(l, l.electionTimeout + 1);
    expect(l.state).toBe(StateRole.Leader);
    tickN(l, l.electionTimeout + 1);
    expect(l.state).toBe(StateRole.Follower);
  });

  it('a leader that hears from a quorum keeps leading', () => {
    const n = net3({ checkQuorum: true });
    n.send([hup(1n)]);
    for (let i = 0; i < 5 * 10; i++) {
      n.get(1n).tick();
      n.send(readMessages(n.get(1n)));
    }
    expect(n.get(1n).state).toBe(StateRole.Leader);
  });

  it('followers inside the lease ignore a disruptive candidate; a transfer request bypasses the lease', () => {
    const n = net3({ checkQuorum: true });
    n.send([hup(1n)]);
    const term = n.get(1n).term;
    // Node 3 times out on its own (its election elapsed is large) while 2 is in lease.
    const r3 = n.get(3n);
    tickN(r3, 2 * r3.electionTimeout);
    n.send(readMessages(r3));
    expect(n.get(1n).state).toBe(StateRole.Leader);
    expect(n.get(2n).term).toBe(term);
    // A leadership transfer makes 2 campaign with the transfer context, which the lease does not block.
    n.send([msg(MT.MsgTransferLeader, 2n, 1n)]);
    expect(n.get(2n).state).toBe(StateRole.Leader);
  });

  it('a stale leader learns the new term from the append response to its stale heartbeat', () => {
    const n = net3({ checkQuorum: true, preVote: true });
    n.send([hup(1n)]);
    n.isolate(1n);
    // 2 and 3 elect 2 after their leases expire.
    for (const id of [2n, 3n]) tickN(n.get(id), 2 * 10);
    n.send([...readMessages(n.get(2n)), ...readMessages(n.get(3n))]);
    n.send([hup(2n)]);
    expect(n.get(2n).state).toBe(StateRole.Leader);
    n.recover();
    // The old leader's heartbeat is answered with the higher term.
    n.send([msg(MT.MsgBeat, 1n, 1n)]);
    expect(n.get(1n).state).toBe(StateRole.Follower);
    expect(n.get(1n).term).toBe(n.get(2n).term);
  });
});

describe('leader transfer', () => {
  it('transfers to an up-to-date follower with MsgTimeoutNow', () => {
    const n = net3();
    n.send([hup(1n)]);
    n.send([msg(MT.MsgTransferLeader, 2n, 1n)]);
    expect(n.get(2n).state).toBe(StateRole.Leader);
    expect(n.get(1n).state).toBe(StateRole.Follower);
    expect(n.get(1n).leadTransferee).toBe(0n);
  });

  it('catches a lagging transferee up first, then hands over', () => {
    const n = net3();
    n.send([hup(1n)]);
    n.isolate(3n);
    n.send([propose(1n, 'x')]);
    n.recover();
    n.ignore(MT.MsgAppend);
    n.send([msg(MT.MsgTransferLeader, 3n, 1n)]);
    expect(n.get(1n).leadTransferee).toBe(3n);
    expect(n.get(1n).state).toBe(StateRole.Leader);
    // proposals are refused during the transfer
    expect(() => n.get(1n).step(propose(1n, 'y'))).toThrow(ProposalDroppedError);
    n.recover();
    n.send([msg(MT.MsgHeartbeatResponse, 3n, 1n, { term: n.get(1n).term })]);
    expect(n.get(3n).state).toBe(StateRole.Leader);
  });

  it('aborts a transfer that does not finish within an election timeout', () => {
    const n = net3();
    n.send([hup(1n)]);
    n.isolate(3n);
    n.send([msg(MT.MsgTransferLeader, 3n, 1n)]);
    expect(n.get(1n).leadTransferee).toBe(3n);
    tickN(n.get(1n), n.get(1n).electionTimeout);
    expect(n.get(1n).leadTransferee).toBe(0n);
    expect(n.get(1n).state).toBe(StateRole.Leader);
  });

  it('ignores a transfer to itself, to a learner, and forwards it from a follower', () => {
    const n = new TestNetwork([undefined, undefined, undefined]);
    n.send([hup(1n)]);
    n.send([msg(MT.MsgTransferLeader, 1n, 1n)]);
    expect(n.get(1n).leadTransferee).toBe(0n);
    n.get(1n).applyConfChange(cc2(eraftpb.ConfChangeTransition.Auto, [eraftpb.ConfChangeType.AddLearnerNode, 3n]));
    n.send([msg(MT.MsgTransferLeader, 3n, 1n)]);
    expect(n.get(1n).leadTransferee).toBe(0n);
    // a follower forwards the request to the leader
    n.send([msg(MT.MsgTransferLeader, 2n, 2n)]);
    expect(n.get(2n).state).toBe(StateRole.Leader);
  });
});

describe('read index', () => {
  it('safe: the leader answers after a quorum acknowledges a heartbeat carrying the request context', () => {
    const n = net3();
    n.send([hup(1n)]);
    n.send([propose(1n, 'x')]);
    const l = n.get(1n);
    n.send([msg(MT.MsgReadIndex, 1n, 1n, { entries: [ent(0n, 0n, 'ctx1')] })]);
    expect(l.readStates).toHaveLength(1);
    expect(l.readStates[0]?.index).toBe(l.raftLog.committed);
    expect(new TextDecoder().decode(l.readStates[0]?.requestCtx)).toBe('ctx1');
  });

  it('safe: a follower request is forwarded and answered with the leader commit index', () => {
    const n = net3();
    n.send([hup(1n)]);
    n.send([propose(1n, 'x')]);
    n.send([msg(MT.MsgReadIndex, 2n, 2n, { entries: [ent(0n, 0n, 'ctx2')] })]);
    const f = n.get(2n);
    expect(f.readStates.map((r) => r.index)).toEqual([n.get(1n).raftLog.committed]);
  });

  it('safe: an isolated leader cannot answer (no quorum of acks), so a partition never serves stale reads', () => {
    const n = net3();
    n.send([hup(1n)]);
    n.isolate(1n);
    n.send([msg(MT.MsgReadIndex, 1n, 1n, { entries: [ent(0n, 0n, 'stale')] })]);
    expect(n.get(1n).readStates).toHaveLength(0);
    // the majority side elects a new leader and commits a write
    n.send([hup(2n)]);
    n.send([propose(2n, 'new')]);
    n.send([msg(MT.MsgReadIndex, 3n, 3n, { entries: [ent(0n, 0n, 'fresh')] })]);
    expect(n.get(3n).readStates[0]?.index).toBe(n.get(2n).raftLog.committed);
    n.recover();
    // the old leader steps down at the first contact with the new term; its request never answers
    n.send([msg(MT.MsgBeat, 1n, 1n)]);
    expect(n.get(1n).readStates).toHaveLength(0);
  });

  it('a new leader delays reads until it commits an entry of its own term', () => {
    const n = net3();
    n.ignore(MT.MsgAppend);
    n.send([hup(1n)]);
    n.send([msg(MT.MsgReadIndex, 1n, 1n, { entries: [ent(0n, 0n, 'early')] })]);
    expect(n.get(1n).readStates).toHaveLength(0);
    expect(n.get(1n).pendingReadIndexCount).toBe(1);
    n.recover();
    n.send([msg(MT.MsgBeat, 1n, 1n)]);
    expect(n.get(1n).readStates).toHaveLength(1);
  });

  it('lease-based: the leader answers at once from its lease', () => {
    const n = net3({ checkQuorum: true, readOnlyOption: ReadOnlyOption.LeaseBased });
    n.send([hup(1n)]);
    n.ignore(MT.MsgHeartbeat);
    n.send([msg(MT.MsgReadIndex, 1n, 1n, { entries: [ent(0n, 0n, 'lease')] })]);
    expect(n.get(1n).readStates).toHaveLength(1);
    n.send([msg(MT.MsgReadIndex, 3n, 3n, { entries: [ent(0n, 0n, 'lease3')] })]);
    expect(n.get(3n).readStates).toHaveLength(1);
  });

  it('a single-voter leader answers immediately; a follower without leader drops the request', () => {
    const r = newTestRaft(1n, [1n]);
    r.step(hup(1n));
    r.step(msg(MT.MsgReadIndex, 1n, 1n, { entries: [ent(0n, 0n, 'solo')] }));
    expect(r.readStates).toHaveLength(1);
    const f = newTestRaft(2n, [1n, 2n, 3n]);
    expect(() => f.step(msg(MT.MsgReadIndex, 2n, 2n, { entries: [ent(0n, 0n, 'x')] }))).toThrow(ProposalDroppedError);
  });
});

describe('learners', () => {
  function withLearner(): TestNetwork {
    const mk = (id: bigint): Raft => newTestRaft(id, [1n, 2n], { learners: [3n] });
    return new TestNetwork([mk(1n), mk(2n), mk(3n)]);
  }

  it('a learner never campaigns and is replicated to', () => {
    const n = withLearner();
    const l = n.get(3n);
    expect(l.isLearner).toBe(true);
    tickN(l, 100);
    expect(l.state).toBe(StateRole.Follower);
    expect(readMessages(l)).toEqual([]);
    n.send([hup(1n)]);
    n.send([propose(1n, 'x')]);
    expect(logOf(l)).toEqual(logOf(n.get(1n)));
  });

  it('learner votes are not counted', () => {
    const r = newTestRaft(1n, [1n, 2n, 3n], { learners: [4n, 5n] });
    r.step(hup(1n));
    r.step(msg(MT.MsgRequestVoteResponse, 4n, 1n, { term: r.term }));
    r.step(msg(MT.MsgRequestVoteResponse, 5n, 1n, { term: r.term }));
    expect(r.state).toBe(StateRole.Candidate);
    r.step(msg(MT.MsgRequestVoteResponse, 2n, 1n, { term: r.term }));
    expect(r.state).toBe(StateRole.Leader);
  });

  it('learner acks do not count toward commit', () => {
    const s = MemStorage.withConfState(newConfState([1n, 2n], [3n]));
    const r = newTestRaft(1n, [1n, 2n], { learners: [3n] }, s);
    r.becomeCandidate();
    r.becomeLeader();
    persist(r, s);
    stepPersist(r, s, propose(1n, 'x'));
    stepPersist(r, s, msg(MT.MsgAppendResponse, 3n, 1n, { term: r.term, index: r.raftLog.lastIndex() }));
    expect(r.raftLog.committed).toBe(0n);
    stepPersist(r, s, msg(MT.MsgAppendResponse, 2n, 1n, { term: r.term, index: r.raftLog.lastIndex() }));
    expect(r.raftLog.committed).toBe(r.raftLog.lastIndex());
  });

  it('a promoted learner can campaign and win', () => {
    const n = withLearner();
    n.send([hup(1n)]);
    for (const id of [1n, 2n, 3n]) n.get(id).applyConfChange(cc2(eraftpb.ConfChangeTransition.Auto, [eraftpb.ConfChangeType.AddNode, 3n]));
    expect(n.get(3n).isLearner).toBe(false);
    n.send([hup(3n)]);
    expect(n.get(3n).state).toBe(StateRole.Leader);
  });
});

describe('progress, inflights and hints', () => {
  it('pipelines at most maxInflightMsgs appends to a replicating follower, then waits', () => {
    const s = MemStorage.withConfState(newConfState([1n, 2n]));
    const r = newTestRaft(1n, [1n, 2n], { maxInflightMsgs: 3 }, s);
    r.becomeCandidate();
    r.becomeLeader();
    persist(r, s);
    const pr = r.prs.progress.get(2n);
    pr?.becomeReplicate();
    readMessages(r);
    for (let i = 0; i < 10; i++) stepPersist(r, s, propose(1n, `d${i}`));
    expect(readMessages(r).filter((m) => m.msgType === MT.MsgAppend)).toHaveLength(3);
    expect(pr?.isPaused()).toBe(true);
    // acknowledging the first one frees a slot (and the leader refills the window)
    stepPersist(r, s, msg(MT.MsgAppendResponse, 2n, 1n, { term: r.term, index: 3n }));
    expect(readMessages(r).filter((m) => m.msgType === MT.MsgAppend).length).toBeGreaterThanOrEqual(1);
  });

  it('sends one append per heartbeat round while probing', () => {
    const s = MemStorage.withConfState(newConfState([1n, 2n]));
    const r = newTestRaft(1n, [1n, 2n], {}, s);
    r.becomeCandidate();
    r.becomeLeader();
    persist(r, s);
    readMessages(r);
    expect(r.prs.progress.get(2n)?.state).toBe(ProgressState.Probe);
    stepPersist(r, s, propose(1n, 'a'));
    stepPersist(r, s, propose(1n, 'b'));
    expect(readMessages(r).filter((m) => m.msgType === MT.MsgAppend)).toHaveLength(1);
    // a heartbeat response resumes probing
    stepPersist(r, s, msg(MT.MsgHeartbeatResponse, 2n, 1n, { term: r.term }));
    expect(readMessages(r).filter((m) => m.msgType === MT.MsgAppend)).toHaveLength(1);
    // an acceptance moves the follower to Replicate
    stepPersist(r, s, msg(MT.MsgAppendResponse, 2n, 1n, { term: r.term, index: r.raftLog.lastIndex() }));
    expect(r.prs.progress.get(2n)?.state).toBe(ProgressState.Replicate);
  });

  it('limits the bytes of one append to maxSizePerMsg (at least one entry)', () => {
    const s = MemStorage.withConfState(newConfState([1n, 2n]));
    const r = newTestRaft(1n, [1n, 2n], { maxSizePerMsg: 100 }, s);
    r.becomeCandidate();
    r.becomeLeader();
    persist(r, s);
    for (let i = 0; i < 10; i++) stepPersist(r, s, propose(1n, 'x'.repeat(40)));
    readMessages(r);
    r.prs.progress.get(2n)?.becomeReplicate();
    r.sendAppend(2n);
    const [m] = readMessages(r);
    expect(m?.entries.length).toBe(2);
  });

  it('fast rejection hints skip whole terms of a divergent follower log', () => {
    // Leader log terms: 1 1 1 4 4 5 5 6 6 6; follower: 1 1 1 2 2 2 3 3 3 3 3 (figure 7 f).
    const ls = MemStorage.withConfState(newConfState([1n, 2n]));
    ls.append(entsWithTerms(1, 1, 1, 4, 4, 5, 5, 6, 6, 6));
    ls.setHardState(newHardState(7n, 0n, 0n));
    const fs = MemStorage.withConfState(newConfState([1n, 2n]));
    fs.append(entsWithTerms(1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3));
    fs.setHardState(newHardState(7n, 0n, 0n));
    const lead = newTestRaft(1n, [1n, 2n], {}, ls);
    const fol = newTestRaft(2n, [1n, 2n], {}, fs);
    const n = new TestNetwork([lead, fol], {}, new Map([[1n, ls], [2n, fs]]));
    let appends = 0;
    n.msgHook = (m) => {
      if (m.msgType === MT.MsgAppend && m.to === 2n) appends++;
      return true;
    };
    n.send([hup(1n)]);
    expect(logOf(fol)).toEqual(logOf(lead));
    // Without hints one probe per entry would be needed (8+); with them a few suffice.
    expect(appends).toBeLessThanOrEqual(4);
  });

  it('a rejection hint carries the follower term at the hinted index', () => {
    const s = MemStorage.withConfState(newConfState([1n, 2n]));
    s.append(entsWithTerms(1, 2, 2, 2));
    const r = newTestRaft(2n, [1n, 2n], {}, s);
    r.becomeFollower(5n, 1n);
    r.step(msg(MT.MsgAppend, 1n, 2n, { term: 5n, index: 6n, logTerm: 4n }));
    const [m] = readMessages(r);
    expect(m?.reject).toBe(true);
    expect(m?.rejectHint).toBe(4n);
    expect(m?.logTerm).toBe(2n);
  });

  it('an unreachable report moves a replicating follower back to probing', () => {
    const n = net3();
    n.send([hup(1n)]);
    n.send([propose(1n, 'x')]);
    expect(n.get(1n).prs.progress.get(2n)?.state).toBe(ProgressState.Replicate);
    n.get(1n).step(msg(MT.MsgUnreachable, 2n, 1n));
    expect(n.get(1n).prs.progress.get(2n)?.state).toBe(ProgressState.Probe);
  });
});

describe('snapshots and compaction', () => {
  function compactedLeader(): { n: TestNetwork; s: MemStorage } {
    const n = net3();
    n.send([hup(1n)]);
    n.isolate(3n);
    for (let i = 0; i < 5; i++) n.send([propose(1n, `v${i}`)]);
    const s = n.storage.get(1n) as MemStorage;
    const l = n.get(1n);
    l.raftLog.appliedTo(l.raftLog.committed);
    s.createSnapshot(l.raftLog.committed, newConfState([1n, 2n, 3n]));
    s.compact(l.raftLog.committed);
    n.recover();
    return { n, s };
  }

  it('a follower behind the compacted log receives a snapshot, installs it and catches up', () => {
    const { n } = compactedLeader();
    const l = n.get(1n);
    let snaps = 0;
    n.msgHook = (m) => {
      if (m.msgType === MT.MsgSnapshot) snaps++;
      return true;
    };
    n.send([msg(MT.MsgBeat, 1n, 1n)]);
    expect(snaps).toBe(1);
    // The follower's answer to the snapshot moved it out of the Snapshot state.
    expect(l.prs.progress.get(3n)?.state).toBe(ProgressState.Replicate);
    l.step(msg(MT.MsgSnapStatus, 3n, 1n));
    n.send([propose(1n, 'after')]);
    expect(n.get(3n).raftLog.committed).toBe(l.raftLog.committed);
    expect(l.prs.progress.get(3n)?.state).toBe(ProgressState.Replicate);
    expect((n.storage.get(3n) as MemStorage).currentSnapshot().metadata?.index).toBeGreaterThan(0n);
  });

  it('a failed snapshot report makes the leader probe and send it again', () => {
    const { n } = compactedLeader();
    const l = n.get(1n);
    n.ignore(MT.MsgSnapshot);
    n.send([msg(MT.MsgBeat, 1n, 1n)]);
    expect(l.prs.progress.get(3n)?.state).toBe(ProgressState.Snapshot);
    l.step(msg(MT.MsgSnapStatus, 3n, 1n, { reject: true }));
    expect(l.prs.progress.get(3n)?.state).toBe(ProgressState.Probe);
    expect(l.prs.progress.get(3n)?.pendingSnapshot).toBe(0n);
    n.recover();
    n.send([msg(MT.MsgBeat, 1n, 1n)]);
    n.send([propose(1n, 'after')]);
    expect(n.get(3n).raftLog.committed).toBe(l.raftLog.committed);
  });

  it('restoring a snapshot replaces the log and the configuration; a stale one is ignored', () => {
    const r = newTestRaft(1n, [1n, 2n]);
    const snap = newSnapshot(11n, 11n, newConfState([1n, 2n, 3n]));
    expect(r.restore(snap)).toBe(true);
    expect(r.raftLog.lastIndex()).toBe(11n);
    expect(r.raftLog.committed).toBe(11n);
    expect(r.prs.confState().voters).toEqual([1n, 2n, 3n]);
    expect(r.restore(newSnapshot(10n, 10n, newConfState([1n])))).toBe(false);
  });

  it('a snapshot whose last entry matches our log only fast-forwards the commit index', () => {
    const s = MemStorage.withConfState(newConfState([1n, 2n]));
    s.append(entsWithTerms(1, 1, 1));
    const r = newTestRaft(1n, [1n, 2n], {}, s);
    expect(r.restore(newSnapshot(2n, 1n, newConfState([1n, 2n])))).toBe(false);
    expect(r.raftLog.committed).toBe(2n);
    expect(r.raftLog.lastIndex()).toBe(3n);
  });

  it('a snapshot that does not contain this node is ignored', () => {
    const r = newTestRaft(4n, []);
    expect(r.restore(newSnapshot(5n, 5n, newConfState([1n, 2n, 3n])))).toBe(false);
  });

  it('a follower request makes the leader send a snapshot even though the log is available', () => {
    const n = net3();
    n.send([hup(1n)]);
    n.send([propose(1n, 'x')]);
    const l = n.get(1n);
    const s = n.storage.get(1n) as MemStorage;
    l.raftLog.appliedTo(l.raftLog.committed);
    s.createSnapshot(l.raftLog.committed, newConfState([1n, 2n, 3n]));
    let snaps = 0;
    n.msgHook = (m) => {
      if (m.msgType === MT.MsgSnapshot) snaps++;
      return true;
    };
    const f = n.get(2n);
    f.requestSnapshot();
    n.send(readMessages(f));
    expect(snaps).toBe(1);
    expect(f.pendingRequestSnapshot).toBe(0n);
  });
});

describe('membership changes through RawNode-less raft', () => {
  it('refuses a second conf change while one is pending, replacing it by an empty entry', () => {
    const s = MemStorage.withConfState(newConfState([1n]));
    const r = newTestRaft(1n, [1n], {}, s);
    r.step(hup(1n));
    persist(r, s);
    const ccEntry = (id: bigint): eraftpb.Entry => ({
      ...ent(0n, 0n),
      entryType: eraftpb.EntryType.EntryConfChange,
      data: eraftpb.ConfChange.encode({ id: 0n, changeType: eraftpb.ConfChangeType.AddNode, nodeId: id, context: NONE }).finish(),
    });
    stepPersist(r, s, msg(MT.MsgPropose, 1n, 1n, { entries: [ccEntry(2n)] }));
    stepPersist(r, s, msg(MT.MsgPropose, 1n, 1n, { entries: [ccEntry(3n)] }));
    const ents = r.raftLog.allEntries();
    expect(ents[ents.length - 2]?.entryType).toBe(eraftpb.EntryType.EntryConfChange);
    expect(ents[ents.length - 1]?.entryType).toBe(eraftpb.EntryType.EntryNormal);
    expect(ents[ents.length - 1]?.data.length).toBe(0);
  });

  it('a removed leader steps down; the remaining voters commit without it', () => {
    const n = net3();
    n.send([hup(1n)]);
    for (const id of [1n, 2n, 3n]) n.get(id).applyConfChange(cc2(eraftpb.ConfChangeTransition.Auto, [eraftpb.ConfChangeType.RemoveNode, 1n]));
    expect(n.get(1n).state).toBe(StateRole.Follower);
    n.send([hup(2n)]);
    expect(n.get(2n).state).toBe(StateRole.Leader);
    n.send([propose(2n, 'y')]);
    expect(n.get(3n).raftLog.committed).toBe(n.get(2n).raftLog.lastIndex());
  });

  it('adding a voter to a two-node group changes the quorum at once', () => {
    const s = MemStorage.withConfState(newConfState([1n, 2n]));
    const r = newTestRaft(1n, [1n, 2n], {}, s);
    r.becomeCandidate();
    r.becomeLeader();
    persist(r, s);
    stepPersist(r, s, msg(MT.MsgAppendResponse, 2n, 1n, { term: r.term, index: 1n }));
    expect(r.raftLog.committed).toBe(1n);
    r.applyConfChange(cc2(eraftpb.ConfChangeTransition.Auto, [eraftpb.ConfChangeType.AddNode, 3n], [eraftpb.ConfChangeType.AddNode, 4n]));
    stepPersist(r, s, propose(1n, 'x'));
    stepPersist(r, s, msg(MT.MsgAppendResponse, 2n, 1n, { term: r.term, index: 2n }));
    // joint {1,2,3,4} && {1,2}: incoming needs 3 of 4
    expect(r.raftLog.committed).toBe(1n);
    stepPersist(r, s, msg(MT.MsgAppendResponse, 3n, 1n, { term: r.term, index: 2n }));
    expect(r.raftLog.committed).toBe(2n);
  });

  it('proposals are dropped by a node without a leader and forwarded by a follower', () => {
    const r = newTestRaft(2n, [1n, 2n, 3n]);
    expect(() => r.step(propose(2n, 'x'))).toThrow(ProposalDroppedError);
    r.becomeFollower(1n, 1n);
    r.step(propose(2n, 'x'));
    const [m] = readMessages(r);
    expect(m?.msgType).toBe(MT.MsgPropose);
    expect(m?.to).toBe(1n);
    expect(enc.encode('x')).toEqual(m?.entries[0]?.data);
  });
});

describe('apply-time configuration safety', () => {
  const ccEntry = (index: bigint, term: bigint, cc: eraftpb.ConfChangeV2): eraftpb.Entry => ({
    ...ent(index, term),
    entryType: eraftpb.EntryType.EntryConfChangeV2,
    data: eraftpb.ConfChangeV2.encode(cc).finish(),
  });

  it('a later conf change in the log proves the earlier ones committed, so the node applies them before campaigning', () => {
    // Log: enter joint {1,2,3} -> {2,3,4} at 2, leave joint at 4; the node never learned the commit index.
    const s = MemStorage.withConfState(newConfState([1n, 2n, 3n]));
    s.append([
      ent(1n, 1n),
      ccEntry(2n, 1n, cc2(eraftpb.ConfChangeTransition.Explicit, [eraftpb.ConfChangeType.RemoveNode, 1n], [eraftpb.ConfChangeType.AddNode, 4n])),
      ent(3n, 1n),
      ccEntry(4n, 1n, cc2(eraftpb.ConfChangeTransition.Auto)),
    ]);
    s.setHardState(newHardState(1n, 0n, 0n));
    const r = newTestRaft(3n, [1n, 2n, 3n], {}, s);
    expect(r.raftLog.committed).toBe(2n);
    // With the stale config {1,2,3} it could win with node 1's vote alone: it must not campaign.
    r.step(hup(3n));
    expect(r.state).toBe(StateRole.Follower);
    r.applyConfChange(cc2(eraftpb.ConfChangeTransition.Explicit, [eraftpb.ConfChangeType.RemoveNode, 1n], [eraftpb.ConfChangeType.AddNode, 4n]));
    r.raftLog.appliedTo(2n);
    r.step(hup(3n));
    expect(r.state).toBe(StateRole.Candidate);
    // Joint config: node 1's vote is not enough.
    r.step(msg(MT.MsgRequestVoteResponse, 1n, 3n, { term: r.term }));
    expect(r.state).toBe(StateRole.Candidate);
  });

  it('the same inference applies to entries received from the leader', () => {
    const r = newTestRaft(2n, [1n, 2n, 3n]);
    r.becomeFollower(2n, 1n);
    r.step(
      msg(MT.MsgAppend, 1n, 2n, {
        term: 2n,
        index: 0n,
        logTerm: 0n,
        commit: 0n,
        entries: [ccEntry(1n, 2n, cc2(eraftpb.ConfChangeTransition.Auto, [eraftpb.ConfChangeType.AddNode, 4n])), ent(2n, 2n), ccEntry(3n, 2n, cc2(eraftpb.ConfChangeTransition.Auto, [eraftpb.ConfChangeType.AddNode, 5n]))],
      }),
    );
    expect(r.raftLog.committed).toBe(1n);
  });

  it('a follower does not re-forward another node read-index request', () => {
    const r = newTestRaft(2n, [1n, 2n, 3n]);
    r.becomeFollower(1n, 1n);
    r.step(msg(MT.MsgReadIndex, 3n, 2n, { entries: [ent(0n, 0n, 'other')] }));
    expect(readMessages(r)).toEqual([]);
  });
});

describe('requested snapshots', () => {
  it('a follower waiting for a snapshot keeps acknowledging entries, so the leader still commits', () => {
    const n = net3();
    n.send([hup(1n)]);
    n.send([propose(1n, 'a')]);
    // no snapshot can be produced yet (none was created): both followers wait
    n.get(2n).requestSnapshot();
    n.get(3n).requestSnapshot();
    n.send([...readMessages(n.get(2n)), ...readMessages(n.get(3n))]);
    expect(n.get(2n).pendingRequestSnapshot).toBeGreaterThan(0n);
    n.send([propose(1n, 'b')]);
    expect(n.get(1n).raftLog.committed).toBe(n.get(1n).raftLog.lastIndex());
    expect(n.get(2n).raftLog.committed).toBe(n.get(1n).raftLog.committed);
  });
});
