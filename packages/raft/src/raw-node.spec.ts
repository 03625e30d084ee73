import { eraftpb } from '@tikv-ts/proto';
import { SeededRng } from '@tikv-ts/util';
import type { Config } from './config';
import { validateConfig } from './config';
import { ConfigInvalidError, ProposalDroppedError, RequestSnapshotDroppedError, StepLocalMessageError, StepPeerNotFoundError } from './errors';
import { decodeConfChangeEntry, isConfChangeEntry, StateRole } from './raft';
import type { Ready } from './raw-node';
import { RawNode } from './raw-node';
import { ReadOnlyOption } from './read-only';
import { msg } from './sim/test-network';
import { MemStorage } from './storage';
import type { ConfState, Entry, Message } from './util';
import { newConfState } from './util';

const MT = eraftpb.MessageType;
const enc = new TextEncoder();
const dec = new TextDecoder();
const NONE = new Uint8Array(0);

function config(id: bigint, extra: Partial<Config> = {}): Config {
  return { id, electionTick: 10, heartbeatTick: 1, rng: new SeededRng(id), ...extra };
}

/** A cluster of RawNodes driven exactly as the README describes. */
class Cluster {
  readonly nodes = new Map<bigint, RawNode>();
  readonly storages = new Map<bigint, MemStorage>();
  readonly applied = new Map<bigint, string[]>();
  readonly confStates = new Map<bigint, ConfState>();
  readonly reads: string[] = [];
  #queue: Message[] = [];

  constructor(ids: bigint[], extra: Partial<Config> = {}) {
    for (const id of ids) this.add(id, newConfState(ids), extra);
  }

  add(id: bigint, cs: ConfState, extra: Partial<Config> = {}): void {
    const s = MemStorage.withConfState(cs);
    this.storages.set(id, s);
    this.nodes.set(id, new RawNode(config(id, extra), s));
    this.applied.set(id, []);
  }

  node(id: bigint): RawNode {
    return this.nodes.get(id) as RawNode;
  }

  #applyEntries(id: bigint, ents: Entry[]): void {
    const raw = this.node(id);
    for (const e of ents) {
      if (isConfChangeEntry(e)) this.confStates.set(id, raw.applyConfChange(decodeConfChangeEntry(e)));
      else if (e.data.length > 0) this.applied.get(id)?.push(dec.decode(e.data));
    }
  }

  /** One round of the driving loop on one node. */
  handleReady(id: bigint): boolean {
    const raw = this.node(id);
    if (!raw.hasReady()) return false;
    const rd: Ready = raw.ready();
    const s = this.storages.get(id) as MemStorage;
    this.#queue.push(...rd.messages);
    if (rd.snapshot !== undefined) s.applySnapshot(rd.snapshot);
    s.append(rd.entries);
    if (rd.hardState !== undefined) s.setHardState(rd.hardState);
    this.#queue.push(...rd.persistedMessages);
    this.#applyEntries(id, rd.committedEntries);
    for (const rs of rd.readStates) this.reads.push(`${id}:${dec.decode(rs.requestCtx)}@${rs.index}`);
    const light = raw.advance(rd);
    this.#queue.push(...light.messages);
    this.#applyEntries(id, light.committedEntries);
    raw.advanceApply();
    return true;
  }

  /** Runs readies and delivers messages until quiet. */
  stabilize(): void {
    for (let i = 0; i < 10_000; i++) {
      let any = false;
      for (const id of this.nodes.keys()) any = this.handleReady(id) || any;
      const q = this.#queue;
      this.#queue = [];
      for (const m of q) {
        any = true;
        try {
          this.nodes.get(m.to)?.step(m);
        } catch (e: unknown) {
          if (!(e instanceof StepPeerNotFoundError || e instanceof ProposalDroppedError)) throw e;
        }
      }
      if (!any) return;
    }
    throw new Error('cluster does not stabilize');
  }
}

describe('RawNode', () => {
  it('drives a 3-node cluster through the ready loop: elect, propose, commit, apply everywhere', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.node(1n).campaign();
    c.stabilize();
    expect(c.node(1n).status().softState.raftState).toBe(StateRole.Leader);
    for (let i = 0; i < 5; i++) c.node(1n).propose(NONE, enc.encode(`v${i}`));
    c.node(2n).propose(NONE, enc.encode('via-follower'));
    c.stabilize();
    for (const id of [1n, 2n, 3n]) expect(c.applied.get(id)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'via-follower']);
    const st = c.node(1n).status();
    expect(st.progress?.get(2n)?.matched).toBe(st.lastIndex);
    expect(st.applied).toBe(st.committed);
  });

  it('a single node commits only after persisting its own entries (Ready then advance)', () => {
    const s = MemStorage.withConfState(newConfState([1n]));
    const raw = new RawNode(config(1n), s);
    raw.campaign();
    let rd = raw.ready();
    expect(rd.softState?.raftState).toBe(StateRole.Leader);
    expect(rd.entries).toHaveLength(1);
    expect(rd.committedEntries).toHaveLength(0);
    expect(rd.mustSync).toBe(true);
    s.append(rd.entries);
    if (rd.hardState !== undefined) s.setHardState(rd.hardState);
    const light = raw.advance(rd);
    expect(light.commitIndex).toBe(1n);
    expect(light.committedEntries.map((e) => e.index)).toEqual([1n]);
    raw.advanceApply();
    raw.propose(NONE, enc.encode('x'));
    rd = raw.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([2n]);
    expect(rd.committedEntries).toHaveLength(0);
    s.append(rd.entries);
    const l2 = raw.advanceAppend(rd);
    expect(l2.committedEntries.map((e) => dec.decode(e.data))).toEqual(['x']);
    // the caller persists the new commit index reported by the LightReady
    expect(l2.commitIndex).toBe(2n);
    raw.advanceApply();
    expect(raw.status().applied).toBe(2n);
    expect(raw.hasReady()).toBe(false);
  });

  it('asynchronous persistence: later Readies do not repeat in-progress entries; onPersistReady acknowledges them', () => {
    const s = MemStorage.withConfState(newConfState([1n]));
    const raw = new RawNode(config(1n), s);
    raw.campaign();
    const rd1 = raw.ready();
    raw.advanceAppendAsync(rd1);
    raw.propose(NONE, enc.encode('a'));
    const rd2 = raw.ready();
    raw.advanceAppendAsync(rd2);
    expect(rd2.entries.map((e) => e.index)).toEqual([2n]);
    expect(raw.status().committed).toBe(0n);
    // both writes finish; persistence order is preserved
    s.append(rd1.entries);
    s.append(rd2.entries);
    raw.onPersistReady(rd2.number);
    expect(raw.status().committed).toBe(2n);
    expect(raw.hasReady()).toBe(true);
    const rd3 = raw.ready();
    expect(rd3.committedEntries.map((e) => e.index)).toEqual([1n, 2n]);
    expect(rd3.entries).toEqual([]);
  });

  it('followers send their acknowledgements only as persisted messages; the leader sends appends at once', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.node(1n).campaign();
    c.stabilize();
    c.node(1n).propose(NONE, enc.encode('z'));
    const rd = c.node(1n).ready();
    expect(rd.messages.filter((m) => m.msgType === MT.MsgAppend)).toHaveLength(2);
    expect(rd.persistedMessages).toEqual([]);
    c.node(2n).step(rd.messages[0] as Message);
    const frd = c.node(2n).ready();
    expect(frd.messages).toEqual([]);
    expect(frd.persistedMessages.map((m) => m.msgType)).toEqual([MT.MsgAppendResponse]);
  });

  it('rejects local message types and responses from unknown peers', () => {
    const raw = new RawNode(config(1n), MemStorage.withConfState(newConfState([1n, 2n])));
    expect(() => raw.step(msg(MT.MsgHup, 1n, 1n))).toThrow(StepLocalMessageError);
    expect(() => raw.step(msg(MT.MsgAppendResponse, 9n, 1n, { term: 1n }))).toThrow(StepPeerNotFoundError);
    expect(() => raw.propose(NONE, enc.encode('x'))).toThrow(ProposalDroppedError);
    expect(() => raw.requestSnapshot()).toThrow(RequestSnapshotDroppedError);
  });

  it('validates its config', () => {
    expect(() => validateConfig(config(0n))).toThrow(ConfigInvalidError);
    expect(() => validateConfig(config(1n, { electionTick: 1, heartbeatTick: 1 }))).toThrow(ConfigInvalidError);
    expect(() => validateConfig(config(1n, { readOnlyOption: ReadOnlyOption.LeaseBased }))).toThrow(/requires checkQuorum/);
    expect(() => validateConfig(config(1n, { maxInflightMsgs: 0 }))).toThrow(ConfigInvalidError);
    expect(() => validateConfig(config(1n, { minElectionTick: 5 }))).toThrow(ConfigInvalidError);
    expect(validateConfig(config(1n)).maxElectionTick).toBe(20);
  });

  it('read index through RawNode returns a ReadState with the request context', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.node(1n).campaign();
    c.stabilize();
    c.node(1n).propose(NONE, enc.encode('a'));
    c.stabilize();
    c.node(3n).readIndex(enc.encode('req-1'));
    c.node(1n).readIndex(enc.encode('req-2'));
    c.stabilize();
    const committed = c.node(1n).status().committed;
    expect(c.reads.sort()).toEqual([`1:req-2@${committed}`, `3:req-1@${committed}`]);
  });

  describe('joint consensus', () => {
    function joint(transition: eraftpb.ConfChangeTransition): Cluster {
      const c = new Cluster([1n, 2n, 3n]);
      c.node(1n).campaign();
      c.stabilize();
      // a new node is created knowing the current membership (or it must receive a snapshot)
      c.add(4n, newConfState([1n, 2n, 3n]));
      c.node(1n).proposeConfChange(NONE, {
        transition,
        changes: [
          { changeType: eraftpb.ConfChangeType.RemoveNode, nodeId: 3n },
          { changeType: eraftpb.ConfChangeType.AddNode, nodeId: 4n },
        ],
        context: NONE,
      });
      c.stabilize();
      // node 4 starts empty: it gets the log from index 1 through probing (no compaction here)
      return c;
    }

    it('Auto with several changes enters the joint config and leaves it by itself', () => {
      const c = joint(eraftpb.ConfChangeTransition.Auto);
      const cs = c.node(1n).status().confState;
      expect(cs.voters).toEqual([1n, 2n, 4n]);
      expect(cs.votersOutgoing).toEqual([]);
      expect(c.confStates.get(2n)?.votersOutgoing).toEqual([]);
    });

    it('Implicit enters joint and Raft proposes the leave on its own', () => {
      const c = joint(eraftpb.ConfChangeTransition.Implicit);
      expect(c.node(1n).status().confState.votersOutgoing).toEqual([]);
      expect(c.node(1n).status().confState.voters).toEqual([1n, 2n, 4n]);
    });

    it('Explicit stays joint until the application proposes an empty ConfChangeV2', () => {
      const c = joint(eraftpb.ConfChangeTransition.Explicit);
      let cs = c.node(1n).status().confState;
      expect(cs.votersOutgoing).toEqual([1n, 2n, 3n]);
      expect(cs.autoLeave).toBe(false);
      // a further change is refused while joint (turned into an empty entry)
      c.node(1n).proposeConfChange(NONE, { id: 0n, changeType: eraftpb.ConfChangeType.AddNode, nodeId: 5n, context: NONE });
      c.stabilize();
      expect(c.node(1n).status().confState.voters).toEqual([1n, 2n, 4n]);
      c.node(1n).proposeConfChange(NONE, { transition: eraftpb.ConfChangeTransition.Auto, changes: [], context: NONE });
      c.stabilize();
      cs = c.node(1n).status().confState;
      expect(cs.votersOutgoing).toEqual([]);
      expect(cs.voters).toEqual([1n, 2n, 4n]);
      // the new configuration works without node 3
      c.nodes.delete(3n);
      c.node(1n).propose(NONE, enc.encode('after'));
      c.stabilize();
      expect(c.applied.get(4n)).toContain('after');
    });
  });

  it('transferLeader hands leadership over through RawNode', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.node(1n).campaign();
    c.stabilize();
    c.node(1n).transferLeader(3n);
    c.stabilize();
    expect(c.node(3n).status().softState.raftState).toBe(StateRole.Leader);
  });

  it('a restarted node resumes from its storage and applies only what follows appliedIndex', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.node(1n).campaign();
    c.stabilize();
    c.node(1n).propose(NONE, enc.encode('a'));
    c.stabilize();
    const s = c.storages.get(2n) as MemStorage;
    const hs = s.hardState();
    const raw = new RawNode(config(2n, { appliedIndex: hs.commit }), s);
    expect(raw.status().hardState).toEqual(hs);
    expect(raw.status().applied).toBe(hs.commit);
    expect(raw.hasReady()).toBe(false);
  });
});
