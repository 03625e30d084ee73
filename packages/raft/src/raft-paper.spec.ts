// Scenarios from the Raft paper (Ongaro & Ousterhout, "In Search of an Understandable
// Consensus Algorithm"), one `it` per claim, named with the section they check.
import { eraftpb } from '@tikv-ts/proto';
import { StateRole } from './raft';
import type { Raft } from './raft';
import { MemStorage } from './storage';
import { ent, entsWithTerms, logOf, stepPersist, tickN } from './sim/fixtures';
import { msg, newTestRaft, persist, propose, readMessages, TestNetwork } from './sim/test-network';
import type { Message } from './util';
import { newConfState, newHardState } from './util';

const MT = eraftpb.MessageType;

function raftWith(id: bigint, peers: bigint[], opts: { log?: ReturnType<typeof entsWithTerms>; term?: bigint; commit?: bigint } = {}): { r: Raft; s: MemStorage } {
  const s = MemStorage.withConfState(newConfState(peers));
  if (opts.log !== undefined) s.append(opts.log);
  if (opts.term !== undefined || opts.commit !== undefined) s.setHardState(newHardState(opts.term ?? 0n, 0n, opts.commit ?? 0n));
  return { r: newTestRaft(id, peers, {}, s), s };
}

function types(ms: Message[]): eraftpb.MessageType[] {
  return ms.map((m) => m.msgType);
}

/** Makes `r` (id 1) leader of term `term`+1 over 1..n, persisting its empty entry and draining messages. */
function electLeader(r: Raft, s: MemStorage): void {
  r.becomeCandidate();
  r.becomeLeader();
  persist(r, s);
  readMessages(r);
}

/** Acknowledges everything the leader sent with the given index. */
function ack(r: Raft, s: MemStorage, from: bigint, index: bigint): void {
  stepPersist(r, s, msg(MT.MsgAppendResponse, from, r.id, { term: r.term, index }));
}

describe('Raft paper', () => {
  describe('§5.1 basics', () => {
    it.each(['Follower', 'Candidate', 'Leader'].map((n) => [n, StateRole[n as keyof typeof StateRole]]))(
      'a %s that sees that sees a higher term updates its term and reverts to follower (§5.1)',
      (_name, state) => {
        const { r } = raftWith(1n, [1n, 2n, 3n]);
        if (state === StateRole.Candidate) r.becomeCandidate();
        if (state === StateRole.Leader) {
          r.becomeCandidate();
          r.becomeLeader();
        }
        r.step(msg(MT.MsgAppend, 2n, 1n, { term: 2n }));
        expect(r.term).toBe(2n);
        expect(r.state).toBe(StateRole.Follower);
        expect(r.leaderId).toBe(2n);
      },
    );

    it('a request with a stale term is rejected (ignored) (§5.1)', () => {
      const { r } = raftWith(1n, [1n, 2n, 3n], { term: 2n });
      r.step(msg(MT.MsgAppend, 2n, 1n, { term: 1n }));
      expect(r.term).toBe(2n);
      expect(r.leaderId).toBe(0n);
      expect(readMessages(r)).toEqual([]);
    });

    it('servers start as followers (§5.2)', () => {
      const { r } = raftWith(1n, [1n, 2n, 3n]);
      expect(r.state).toBe(StateRole.Follower);
    });

    it('the leader sends heartbeats every heartbeat interval to maintain its authority (§5.2)', () => {
      const { r, s } = raftWith(1n, [1n, 2n, 3n]);
      electLeader(r, s);
      r.tick();
      const ms = readMessages(r);
      expect(types(ms)).toEqual([MT.MsgHeartbeat, MT.MsgHeartbeat]);
      expect(ms.map((m) => m.to)).toEqual([2n, 3n]);
    });
  });

  describe('§5.2 leader election', () => {
    it.each([
      ['follower', StateRole.Follower],
      ['candidate', StateRole.Candidate],
    ])(
      'a %s whose election timeout elapses starts an election: term+1, votes for itself, asks everyone (§5.2)',
      (_name, state) => {
        const { r } = raftWith(1n, [1n, 2n, 3n]);
        if (state === StateRole.Candidate) r.becomeCandidate();
        const before = r.term;
        tickN(r, 2 * r.electionTimeout);
        expect(r.term).toBeGreaterThan(before);
        expect(r.state).toBe(StateRole.Candidate);
        expect(r.vote).toBe(1n);
        const ms = readMessages(r).filter((m) => m.msgType === MT.MsgRequestVote);
        expect(new Set(ms.map((m) => m.to))).toEqual(new Set([2n, 3n]));
        expect(ms.every((m) => m.term === r.term)).toBe(true);
      },
    );

    it.each([
      // size, votes granted (besides self), votes rejected, expected state
      [1, [] as number[], [] as number[], StateRole.Leader],
      [3, [2], [], StateRole.Leader],
      [3, [2, 3], [], StateRole.Leader],
      [5, [2, 3], [], StateRole.Leader],
      [5, [2], [], StateRole.Candidate],
      [3, [], [2, 3], StateRole.Follower],
      [5, [2], [3, 4, 5], StateRole.Follower],
      [5, [2, 3], [4, 5], StateRole.Leader],
      [5, [], [], StateRole.Candidate],
    ])('a candidate of a %d-node cluster wins with a majority, else loses or waits (§5.2)', (size, yes, no, want) => {
      const peers = Array.from({ length: size }, (_, i) => BigInt(i + 1));
      const { r } = raftWith(1n, peers);
      r.step(msg(MT.MsgHup, 1n, 1n));
      for (const id of yes) r.step(msg(MT.MsgRequestVoteResponse, BigInt(id), 1n, { term: r.term }));
      for (const id of no) r.step(msg(MT.MsgRequestVoteResponse, BigInt(id), 1n, { term: r.term, reject: true }));
      expect(r.state).toBe(want);
    });

    it('a follower votes for at most one candidate per term, first come first served (§5.2)', () => {
      const cases: Array<[bigint, bigint, boolean]> = [
        [0n, 2n, false],
        [0n, 3n, false],
        [2n, 2n, false],
        [3n, 3n, false],
        [2n, 3n, true],
        [3n, 2n, true],
      ];
      for (const [vote, nvote, wreject] of cases) {
        const { r } = raftWith(1n, [1n, 2n, 3n]);
        r.loadState(newHardState(1n, vote, 0n));
        r.step(msg(MT.MsgRequestVote, nvote, 1n, { term: 1n }));
        const ms = readMessages(r);
        expect(ms).toHaveLength(1);
        expect(ms[0]?.msgType).toBe(MT.MsgRequestVoteResponse);
        expect(ms[0]?.reject).toBe(wreject);
      }
    });

    it('a candidate that hears from a leader of at least its term steps down (§5.2)', () => {
      for (const term of [1n, 2n]) {
        const { r } = raftWith(1n, [1n, 2n, 3n]);
        r.step(msg(MT.MsgHup, 1n, 1n));
        expect(r.state).toBe(StateRole.Candidate);
        r.step(msg(MT.MsgAppend, 2n, 1n, { term: r.term + term - 1n }));
        expect(r.state).toBe(StateRole.Follower);
      }
    });

    it.each([
      ['follower', StateRole.Follower],
      ['candidate', StateRole.Candidate],
    ])('the %s election timeout is randomized in [et, 2et) (§5.2)', (_name, state) => {
      const { r } = raftWith(1n, [1n, 2n, 3n]);
      const et = r.electionTimeout;
      const seen = new Set<number>();
      for (let round = 0; round < 200; round++) {
        if (state === StateRole.Follower) r.becomeFollower(r.term + 1n, 2n);
        else r.becomeCandidate();
        readMessages(r);
        const before = r.term;
        let t = 0;
        while (r.term === before) {
          r.tick();
          t++;
        }
        seen.add(t);
        expect(t).toBeGreaterThanOrEqual(et);
        expect(t).toBeLessThan(2 * et);
      }
      // every value of the range shows up
      expect(seen.size).toBe(et);
    });

    it('randomized timeouts make split votes rare: usually only one follower times out first (§5.2)', () => {
      let conflicts = 0;
      const rounds = 1000;
      const rs = [1n, 2n, 3n, 4n, 5n].map((id) => raftWith(id, [1n, 2n, 3n, 4n, 5n]).r);
      for (let round = 0; round < rounds; round++) {
        for (const r of rs) r.becomeFollower(r.term + 1n, 0n);
        let timedOut = 0;
        while (timedOut === 0) {
          for (const r of rs) {
            r.tick();
            if (readMessages(r).length > 0) timedOut++;
          }
        }
        if (timedOut > 1) conflicts++;
      }
      expect(conflicts / rounds).toBeLessThanOrEqual(0.3);
    });
  });

  describe('§5.3 log replication', () => {
    it('the leader appends a proposal to its log and sends AppendEntries to every follower (§5.3)', () => {
      const { r, s } = raftWith(1n, [1n, 2n, 3n]);
      electLeader(r, s);
      ack(r, s, 2n, r.raftLog.lastIndex());
      ack(r, s, 3n, r.raftLog.lastIndex());
      readMessages(r);
      const li = r.raftLog.lastIndex();
      stepPersist(r, s, propose(1n, 'some data'));
      expect(r.raftLog.lastIndex()).toBe(li + 1n);
      expect(r.raftLog.committed).toBe(li);
      const ms = readMessages(r);
      expect(types(ms)).toEqual([MT.MsgAppend, MT.MsgAppend]);
      for (const m of ms) {
        expect(m.index).toBe(li);
        expect(m.logTerm).toBe(1n);
        expect(m.entries.map((e) => [e.index, e.term])).toEqual([[li + 1n, 1n]]);
        expect(m.commit).toBe(li);
      }
    });

    it('an entry is committed once the leader replicated it on a majority, and followers learn the commit index (§5.3)', () => {
      const { r, s } = raftWith(1n, [1n, 2n, 3n]);
      electLeader(r, s);
      ack(r, s, 2n, 1n);
      ack(r, s, 3n, 1n);
      readMessages(r);
      const li = r.raftLog.lastIndex();
      stepPersist(r, s, propose(1n, 'some data'));
      readMessages(r);
      expect(r.raftLog.committed).toBe(li);
      ack(r, s, 2n, li + 1n);
      expect(r.raftLog.committed).toBe(li + 1n);
      const ms = readMessages(r).filter((m) => m.msgType === MT.MsgAppend);
      expect(ms.map((m) => m.to).sort()).toContain(3n);
      expect(ms.every((m) => m.commit === li + 1n)).toBe(true);
    });

    it.each([
      [1, [] as number[], true],
      [3, [], false],
      [3, [2], true],
      [3, [2, 3], true],
      [5, [], false],
      [5, [2], false],
      [5, [2, 3], true],
      [5, [2, 3, 4, 5], true],
    ])('in a %d-node cluster, acks from %j commit the entry: %s (§5.3)', (size, acks, committed) => {
      const peers = Array.from({ length: size }, (_, i) => BigInt(i + 1));
      const { r, s } = raftWith(1n, peers);
      electLeader(r, s);
      const li = r.raftLog.lastIndex();
      stepPersist(r, s, propose(1n, 'x'));
      for (const id of acks) ack(r, s, BigInt(id), li + 1n);
      expect(r.raftLog.committed >= li + 1n).toBe(committed);
    });

    it("committing an entry also commits all preceding entries, including previous leaders' (§5.3)", () => {
      const cases = [[], [2], [1, 1], [1]];
      for (const terms of cases) {
        const { r, s } = raftWith(1n, [1n, 2n, 3n], { log: entsWithTerms(...terms), term: 2n });
        electLeader(r, s);
        const li = r.raftLog.lastIndex();
        stepPersist(r, s, propose(1n, 'x'));
        ack(r, s, 2n, li + 1n);
        expect(r.raftLog.committed).toBe(li + 1n);
        expect(r.raftLog.nextEntriesSince(0n).length).toBe(Number(li + 1n));
      }
    });

    it('a follower applies entries once it learns they are committed (§5.3)', () => {
      for (const [n, commit] of [[1, 1], [2, 2], [2, 1], [1, 0]] as Array<[number, number]>) {
        const { r, s } = raftWith(1n, [1n, 2n, 3n]);
        r.becomeFollower(1n, 2n);
        const ents = Array.from({ length: n }, (_, i) => ent(BigInt(i + 1), 1n, `d${i}`));
        stepPersist(r, s, msg(MT.MsgAppend, 2n, 1n, { term: 1n, logTerm: 0n, index: 0n, entries: ents, commit: BigInt(commit) }));
        expect(r.raftLog.committed).toBe(BigInt(commit));
        expect(r.raftLog.nextEntriesSince(0n).map((e) => e.index)).toEqual(ents.slice(0, commit).map((e) => e.index));
      }
    });

    it('a follower rejects AppendEntries whose previous entry does not match its log, with a hint (§5.3)', () => {
      const cases: Array<[bigint, bigint, bigint, boolean, bigint]> = [
        // prev term, prev index, reply index, reject, hint
        [0n, 0n, 1n, false, 0n], // match with the committed entry
        [2n, 2n, 2n, false, 0n], // match with the last entry
        [3n, 2n, 2n, true, 2n], // term mismatch
        [3n, 3n, 3n, true, 2n], // index beyond the log
      ];
      for (const [term, index, windex, wreject, whint] of cases) {
        const { r, s } = raftWith(1n, [1n, 2n, 3n], { log: entsWithTerms(1, 2), commit: 1n });
        r.becomeFollower(2n, 2n);
        stepPersist(r, s, msg(MT.MsgAppend, 2n, 1n, { term: 2n, logTerm: term, index }));
        const ms = readMessages(r);
        expect(ms).toHaveLength(1);
        expect(ms[0]?.index).toBe(windex === 1n ? 1n : windex);
        expect(ms[0]?.reject).toBe(wreject);
        if (wreject) expect(ms[0]?.rejectHint).toBe(whint);
      }
    });

    it('a follower deletes a conflicting suffix and appends the new entries (§5.3)', () => {
      const cases: Array<[bigint, bigint, number[], number[]]> = [
        [2n, 2n, [3], [1, 2, 3]],
        [1n, 1n, [3, 4], [1, 3, 4]],
        [0n, 0n, [1], [1, 2]],
        [0n, 0n, [3], [3]],
      ];
      for (const [index, term, newTerms, want] of cases) {
        const { r, s } = raftWith(1n, [1n, 2n, 3n], { log: entsWithTerms(1, 2) });
        r.becomeFollower(2n, 2n);
        const ents = newTerms.map((t, i) => ent(index + BigInt(i) + 1n, BigInt(t)));
        stepPersist(r, s, msg(MT.MsgAppend, 2n, 1n, { term: 2n, logTerm: term, index, entries: ents }));
        expect(logOf(r).map(([, t]) => Number(t))).toEqual(want);
      }
    });

    it('the leader brings inconsistent follower logs in line with its own (§5.3, figure 7)', () => {
      const leaderLog = entsWithTerms(1, 1, 1, 4, 4, 5, 5, 6, 6, 6);
      const followers = [
        entsWithTerms(1, 1, 1, 4, 4, 5, 5, 6, 6), // a
        entsWithTerms(1, 1, 1, 4), // b
        entsWithTerms(1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6), // c
        entsWithTerms(1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7), // d
        entsWithTerms(1, 1, 1, 4, 4, 4, 4), // e
        entsWithTerms(1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3), // f
      ];
      for (const fl of followers) {
        const ls = MemStorage.withConfState(newConfState([1n, 2n, 3n]));
        ls.append(leaderLog);
        ls.setHardState(newHardState(8n, 0n, 10n));
        const lead = newTestRaft(1n, [1n, 2n, 3n], {}, ls);
        const fs = MemStorage.withConfState(newConfState([1n, 2n, 3n]));
        fs.append(fl);
        fs.setHardState(newHardState(7n, 0n, 0n));
        const follower = newTestRaft(2n, [1n, 2n, 3n], {}, fs);
        const storages = new Map([
          [1n, ls],
          [2n, fs],
        ]);
        const net = new TestNetwork([lead, follower, null], {}, storages);
        net.send([msg(MT.MsgHup, 1n, 1n)]);
        // node 3 is a black hole: answer the vote for it
        net.send([msg(MT.MsgRequestVoteResponse, 3n, 1n, { term: lead.term })]);
        net.send([propose(1n, 'x')]);
        expect(lead.state).toBe(StateRole.Leader);
        expect(logOf(follower)).toEqual(logOf(lead));
        expect(follower.raftLog.committed).toBe(lead.raftLog.committed);
      }
    });
  });

  describe('§5.4 safety', () => {
    it('vote requests carry the candidate last log index and term (§5.4.1)', () => {
      for (const [terms, wterm] of [
        [[1], 2n],
        [[1, 2], 3n],
      ] as Array<[number[], bigint]>) {
        const { r } = raftWith(1n, [1n, 2n, 3n], { log: entsWithTerms(...terms) });
        r.step(msg(MT.MsgAppend, 2n, 1n, { term: wterm - 1n, logTerm: 0n, index: 0n, entries: entsWithTerms(...terms) }));
        readMessages(r);
        tickN(r, 2 * r.electionTimeout);
        const ms = readMessages(r).filter((m) => m.msgType === MT.MsgRequestVote);
        expect(ms).toHaveLength(2);
        for (const m of ms) {
          expect(m.index).toBe(BigInt(terms.length));
          expect(m.logTerm).toBe(BigInt(terms[terms.length - 1] as number));
          expect(m.term).toBe(wterm);
        }
      }
    });

    it('a voter denies its vote to a candidate whose log is less up-to-date than its own (§5.4.1)', () => {
      const cases: Array<[number[], bigint, bigint, boolean]> = [
        // same last term, candidate log shorter / equal / longer
        [[1], 1n, 1n, false],
        [[1], 1n, 2n, false],
        [[1, 1], 1n, 1n, true],
        // candidate has a higher last term
        [[1], 2n, 1n, false],
        [[1], 2n, 2n, false],
        [[1, 1], 2n, 1n, false],
        // candidate has a lower last term
        [[2], 1n, 1n, true],
        [[2], 1n, 2n, true],
        [[2, 2], 1n, 1n, true],
      ];
      for (const [terms, logTerm, index, wreject] of cases) {
        const { r } = raftWith(1n, [1n, 2n], { log: entsWithTerms(...terms) });
        r.step(msg(MT.MsgRequestVote, 2n, 1n, { term: 3n, logTerm, index }));
        const ms = readMessages(r);
        expect(ms).toHaveLength(1);
        expect(ms[0]?.reject).toBe(wreject);
      }
    });

    it('a leader commits by counting replicas only entries of its current term (§5.4.2)', () => {
      for (const [index, wcommit] of [
        [1n, 0n],
        [2n, 0n],
        [3n, 3n],
      ] as Array<[bigint, bigint]>) {
        const { r, s } = raftWith(1n, [1n, 2n, 3n], { log: entsWithTerms(1, 2), term: 2n });
        electLeader(r, s);
        expect(r.term).toBe(3n);
        ack(r, s, 2n, index);
        expect(r.raftLog.committed).toBe(wcommit);
      }
    });

    it('leader completeness: a node missing a committed entry cannot be elected (§5.4)', () => {
      const net = new TestNetwork([undefined, undefined, undefined]);
      net.send([msg(MT.MsgHup, 1n, 1n)]);
      net.isolate(3n);
      net.send([propose(1n, 'committed')]);
      const committed = net.get(1n).raftLog.committed;
      expect(net.get(2n).raftLog.committed).toBeGreaterThanOrEqual(committed - 1n);
      net.recover();
      // 1 goes away; 3 (stale log) campaigns and must lose; 2 can win.
      net.isolate(1n);
      net.send([msg(MT.MsgHup, 3n, 3n)]);
      expect(net.get(3n).state).not.toBe(StateRole.Leader);
      net.send([msg(MT.MsgHup, 2n, 2n)]);
      expect(net.get(2n).state).toBe(StateRole.Leader);
      expect(net.get(2n).raftLog.term(committed)).toBe(net.get(1n).raftLog.term(committed));
    });
  });

  describe('§6 cluster membership changes', () => {
    it('during joint consensus, commitment needs a majority of both the old and the new configuration (§6)', () => {
      const { r, s } = raftWith(1n, [1n, 2n, 3n]);
      electLeader(r, s);
      // Joint: old {1,2,3}, new {1,4,5}.
      r.applyConfChange({
        transition: eraftpb.ConfChangeTransition.Explicit,
        changes: [
          { changeType: eraftpb.ConfChangeType.RemoveNode, nodeId: 2n },
          { changeType: eraftpb.ConfChangeType.RemoveNode, nodeId: 3n },
          { changeType: eraftpb.ConfChangeType.AddNode, nodeId: 4n },
          { changeType: eraftpb.ConfChangeType.AddNode, nodeId: 5n },
        ],
        context: new Uint8Array(0),
      });
      expect(r.prs.conf.voters.isJoint()).toBe(true);
      const li = r.raftLog.lastIndex();
      stepPersist(r, s, propose(1n, 'x'));
      // a majority of the old config only
      ack(r, s, 2n, li + 1n);
      ack(r, s, 3n, li + 1n);
      expect(r.raftLog.committed).toBeLessThan(li + 1n);
      // and of the new one
      ack(r, s, 4n, li + 1n);
      expect(r.raftLog.committed).toBe(li + 1n);
    });

    it('during joint consensus, an election needs a majority of both configurations (§6)', () => {
      const { r } = raftWith(1n, [1n, 2n, 3n]);
      r.applyConfChange({
        transition: eraftpb.ConfChangeTransition.Explicit,
        changes: [
          { changeType: eraftpb.ConfChangeType.AddNode, nodeId: 4n },
          { changeType: eraftpb.ConfChangeType.AddNode, nodeId: 5n },
          { changeType: eraftpb.ConfChangeType.RemoveNode, nodeId: 3n },
        ],
        context: new Uint8Array(0),
      });
      r.step(msg(MT.MsgHup, 1n, 1n));
      r.step(msg(MT.MsgRequestVoteResponse, 2n, 1n, { term: r.term }));
      // {1,2} is a majority of {1,2,3} but not of {1,2,4,5}
      expect(r.state).toBe(StateRole.Candidate);
      r.step(msg(MT.MsgRequestVoteResponse, 4n, 1n, { term: r.term }));
      expect(r.state).toBe(StateRole.Leader);
    });

    it('leaving the joint configuration makes the new configuration alone decide (§6)', () => {
      const { r, s } = raftWith(1n, [1n, 2n, 3n]);
      electLeader(r, s);
      r.applyConfChange({
        transition: eraftpb.ConfChangeTransition.Explicit,
        changes: [
          { changeType: eraftpb.ConfChangeType.RemoveNode, nodeId: 3n },
          { changeType: eraftpb.ConfChangeType.AddNode, nodeId: 4n },
        ],
        context: new Uint8Array(0),
      });
      r.applyConfChange({ transition: eraftpb.ConfChangeTransition.Auto, changes: [], context: new Uint8Array(0) });
      expect(r.prs.conf.voters.isJoint()).toBe(false);
      expect(r.prs.confState().voters).toEqual([1n, 2n, 4n]);
      const li = r.raftLog.lastIndex();
      stepPersist(r, s, propose(1n, 'x'));
      ack(r, s, 4n, li + 1n);
      expect(r.raftLog.committed).toBe(li + 1n);
    });
  });
});
