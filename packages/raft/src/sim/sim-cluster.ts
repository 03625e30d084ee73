import { eraftpb } from '@tikv-ts/proto';
import type { Rng } from '@tikv-ts/util';
import { SeededRng } from '@tikv-ts/util';
import { ConfChangeError, ProposalDroppedError, RequestSnapshotDroppedError, StepPeerNotFoundError } from '../errors';
import { decodeConfChangeEntry, isConfChangeEntry, StateRole } from '../raft';
import { ReadOnlyOption } from '../read-only';
import type { Ready } from '../raw-node';
import { RawNode, SnapshotStatus } from '../raw-node';
import { MemStorage } from '../storage';
import type { ConfState, Entry, Message, Snapshot } from '../util';
import { bytesKey, newConfState, newHardState, newSnapshot, snapshotIndexTerm } from '../util';

const MT = eraftpb.MessageType;
const enc = new TextEncoder();

/** A broken safety property found by the simulation. */
export class InvariantViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvariantViolation';
  }
}

/** Storage of a simulated node: MemStorage plus snapshot generation on demand (as TiKV does). */
class SimStorage extends MemStorage {
  /** Called when Raft asks for a snapshot: the node creates one at its applied index. */
  onSnapshot: (() => void) | undefined;

  override snapshot(requestIndex: bigint, to: bigint): Snapshot {
    this.onSnapshot?.();
    return super.snapshot(requestIndex, to);
  }
}

interface SimNode {
  readonly id: bigint;
  readonly storage: SimStorage;
  raw: RawNode | undefined;
  /** A Ready taken but not yet persisted. */
  /** Readies taken but not yet persisted, oldest first (at most one unless the run persists asynchronously). */
  pending: Ready[];
  applied: bigint;
  confState: ConfState;
  /** Committed prefix already checked against the global record. */
  checkedCommit: bigint;
  incarnation: number;
}

interface InFlight {
  m: Message;
}

/** Options of one simulated run. */
export interface SimOptions {
  seed: bigint;
  /** Number of random actions. */
  steps: number;
  /** Ids 1..maxNodes exist; 1..3 start as voters. Default 5. */
  maxNodes?: number;
  /** Record a trace of actions (for debugging a failing seed). */
  trace?: boolean;
}

/** Counters of what a run did (to prove the faults reached the interesting paths). */
export interface SimStats {
  proposals: number;
  committed: number;
  elections: number;
  confChanges: number;
  crashes: number;
  snapshotsSent: number;
  readsServed: number;
  dropped: number;
  duplicated: number;
  transfers: number;
}

/**
 * A seeded simulation of a Raft cluster driven through RawNode: a network that drops,
 * delays, duplicates, reorders and partitions messages; nodes that crash (losing everything
 * not yet written to their MemStorage) and restart from it; random proposals, conf changes
 * (v1 and v2, joint with every transition), read-index requests and leader transfers.
 * After every action it checks: at most one leader per term; log matching; leader
 * completeness; committed entries never change; applied entries follow the committed log;
 * read-index answers are linearizable.
 */
export class SimCluster {
  readonly rng: Rng;
  readonly nodes = new Map<bigint, SimNode>();
  readonly stats: SimStats = { proposals: 0, committed: 0, elections: 0, confChanges: 0, crashes: 0, snapshotsSent: 0, readsServed: 0, dropped: 0, duplicated: 0, transfers: 0 };
  readonly trace: string[] = [];
  #net: InFlight[] = [];
  /** Partition: node id -> group; messages across groups are lost. */
  #partition = new Map<bigint, number>();
  readonly #opts: Required<SimOptions>;
  readonly #preVote: boolean;
  readonly #checkQuorum: boolean;
  readonly #maxSizePerMsg: number;
  readonly #maxInflight: number;
  readonly #dropRate: number;
  readonly #dupRate: number;
  /** Persist Readies asynchronously (several in flight per node, acknowledged by number). */
  readonly #async: boolean;
  readonly #maxCommittedSizePerReady: number;
  readonly #skipBcastCommit: boolean;
  // invariant state
  readonly #leaders = new Map<bigint, bigint>();
  readonly #entryIds = new Map<string, string>();
  readonly #committed = new Map<bigint, string>();
  #globalCommit = 0n;
  readonly #reads = new Map<string, { node: bigint; minIndex: bigint }>();
  #proposalSeq = 0;
  #readSeq = 0;
  #step = 0;

  constructor(opts: SimOptions) {
    this.#opts = { maxNodes: 5, trace: false, ...opts };
    this.rng = new SeededRng(opts.seed);
    const r = this.rng;
    this.#preVote = r.chance(0.5);
    this.#checkQuorum = r.chance(0.5);
    this.#maxSizePerMsg = r.chance(0.3) ? 64 : Number.MAX_SAFE_INTEGER;
    this.#maxInflight = r.nextRange(1, 8);
    this.#dropRate = r.chance(0.5) ? 0.05 : 0.2 * r.next();
    this.#dupRate = r.chance(0.5) ? 0.02 : 0.1 * r.next();
    this.#async = r.chance(0.5);
    this.#maxCommittedSizePerReady = r.chance(0.3) ? 50 : Number.MAX_SAFE_INTEGER;
    this.#skipBcastCommit = r.chance(0.2);
    const initial = newConfState([1n, 2n, 3n]);
    for (let i = 1; i <= this.#opts.maxNodes; i++) {
      const id = BigInt(i);
      const storage = new SimStorage();
      if (i <= 3) {
        // Bootstrap like TiKV: the initial membership is a snapshot at index 1, term 1, so
        // that nodes added later must receive a snapshot first.
        storage.applySnapshot(newSnapshot(1n, 1n, initial));
        storage.setHardState(newHardState(1n, 0n, 1n));
      }
      const node: SimNode = { id, storage, raw: undefined, pending: [], applied: 0n, confState: newConfState(), checkedCommit: 0n, incarnation: 0 };
      storage.onSnapshot = () => this.#makeSnapshot(node);
      this.nodes.set(id, node);
      this.#start(node);
    }
    this.#log(`config preVote=${this.#preVote} checkQuorum=${this.#checkQuorum} maxSizePerMsg=${this.#maxSizePerMsg} maxInflight=${this.#maxInflight} drop=${this.#dropRate.toFixed(3)} dup=${this.#dupRate.toFixed(3)} async=${this.#async} maxCommittedSizePerReady=${this.#maxCommittedSizePerReady} skipBcastCommit=${this.#skipBcastCommit}`);
  }

  #log(s: string): void {
    if (this.#opts.trace) this.trace.push(`[${this.#step}] ${s}`);
  }

  #fail(s: string): never {
    throw new InvariantViolation(`step ${this.#step}: ${s}`);
  }

  #start(node: SimNode): void {
    const snap = node.storage.currentSnapshot();
    const { index } = snapshotIndexTerm(snap);
    node.incarnation++;
    node.raw = new RawNode(
      {
        id: node.id,
        electionTick: 10,
        heartbeatTick: 2,
        appliedIndex: index,
        preVote: this.#preVote,
        checkQuorum: this.#checkQuorum,
        readOnlyOption: ReadOnlyOption.Safe,
        maxSizePerMsg: this.#maxSizePerMsg,
        maxInflightMsgs: this.#maxInflight,
        maxCommittedSizePerReady: this.#maxCommittedSizePerReady,
        skipBcastCommit: this.#skipBcastCommit,
        rng: this.rng.fork(`node-${node.id}-${node.incarnation}`),
      },
      node.storage,
    );
    node.pending = [];
    node.applied = index;
    node.confState = snap.metadata?.confState ?? newConfState();
    node.checkedCommit = index;
  }

  #makeSnapshot(node: SimNode): void {
    const { index } = snapshotIndexTerm(node.storage.currentSnapshot());
    if (node.applied > index) {
      node.storage.createSnapshot(node.applied, node.confState, enc.encode(`state@${node.applied}`));
      this.#log(`node ${node.id} snapshot at ${node.applied} voters=${node.confState.voters.join(',')} out=${node.confState.votersOutgoing.join(',')}`);
    }
  }

  /** Runs the random schedule, then a fault-free phase that must make progress. */
  run(): void {
    const r = this.rng;
    if (r.chance(0.5)) this.#live()[0]?.raw?.campaign();
    for (this.#step = 0; this.#step < this.#opts.steps; this.#step++) {
      const x = r.next();
      if (x < 0.22) this.#tickAll();
      else if (x < 0.6) this.#deliver();
      else if (x < 0.75) this.#persistRandom();
      else if (x < 0.83) this.#propose();
      else if (x < 0.86) this.#readIndex();
      else if (x < 0.885) this.#confChange();
      else if (x < 0.895) this.#crash();
      else if (x < 0.925) this.#restart();
      else if (x < 0.94) this.#partitionOrHeal();
      else if (x < 0.945) this.#transfer();
      else if (x < 0.95) this.#compact();
      else this.#deliver();
      this.#pump();
      this.#check();
    }
    this.#quiesce();
  }

  #live(): SimNode[] {
    const out: SimNode[] = [];
    for (const n of this.nodes.values()) if (n.raw !== undefined) out.push(n);
    return out;
  }

  #pick<T>(xs: T[]): T | undefined {
    if (xs.length === 0) return undefined;
    return xs[this.rng.nextInt(xs.length)];
  }

  #leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.#live()) {
      const raft = n.raw?.raft;
      if (raft !== undefined && raft.state === StateRole.Leader && (best === undefined || raft.term > (best.raw?.raft.term ?? 0n))) best = n;
    }
    return best;
  }

  // ---- actions ----

  #tickAll(): void {
    for (const n of this.#live()) n.raw?.tick();
  }

  #send(msgs: Message[]): void {
    for (const m of msgs) {
      if (m.msgType === MT.MsgSnapshot) this.stats.snapshotsSent++;
      if (this.rng.chance(this.#dropRate)) {
        this.stats.dropped++;
        this.#afterLost(m);
        continue;
      }
      this.#net.push({ m: cloneMessage(m) });
      if (this.rng.chance(this.#dupRate)) {
        this.stats.duplicated++;
        this.#net.push({ m: cloneMessage(m) });
      }
      if (m.msgType === MT.MsgSnapshot) this.nodes.get(m.from)?.raw?.reportSnapshot(m.to, SnapshotStatus.Finish);
    }
  }

  #afterLost(m: Message): void {
    const sender = this.nodes.get(m.from)?.raw;
    if (sender === undefined) return;
    if (m.msgType === MT.MsgSnapshot) sender.reportSnapshot(m.to, SnapshotStatus.Failure);
    else if (this.rng.chance(0.3)) sender.reportUnreachable(m.to);
  }

  #deliver(): void {
    if (this.#net.length === 0) return;
    // Mostly near the head (short delays), sometimes anywhere (long delays, reordering).
    const i = this.rng.chance(0.8) ? this.rng.nextInt(Math.min(3, this.#net.length)) : this.rng.nextInt(this.#net.length);
    const { m } = this.#net.splice(i, 1)[0] as InFlight;
    const to = this.nodes.get(m.to);
    if (to?.raw === undefined) return;
    if ((this.#partition.get(m.from) ?? 0) !== (this.#partition.get(m.to) ?? 0)) {
      this.stats.dropped++;
      return;
    }
    this.#log(`deliver ${MT[m.msgType]} ${m.from}->${m.to} term=${m.term} idx=${m.index} lt=${m.logTerm} n=${m.entries.length} commit=${m.commit} rej=${m.reject}`);
    try {
      to.raw.step(m);
      if (this.#opts.trace && (m.msgType === MT.MsgSnapshot || m.msgType === MT.MsgAppend)) {
        const u = to.raw.raft.raftLog.unstable;
        this.#log(`  node ${to.id} unstable offset=${u.offset} inProgress=${u.offsetInProgress} n=${u.entries.length} snap=${snapshotIndexTerm(u.snapshot).index} committed=${to.raw.raft.raftLog.committed} applying=${to.raw.raft.raftLog.applying} pendingReq=${to.raw.raft.pendingRequestSnapshot}`);
      }
    } catch (e: unknown) {
      if (!(e instanceof ProposalDroppedError || e instanceof StepPeerNotFoundError)) throw e;
    }
  }

  /** Takes a Ready from every node that has one and no pending one; persists some at once. */
  #pump(): void {
    for (let round = 0; round < 3; round++) {
      let any = false;
      for (const n of this.#live()) {
        const raw = n.raw as RawNode;
        if (n.pending.length < (this.#async ? 3 : 1) && raw.hasReady()) {
          any = true;
          const rd = raw.ready();
          this.#onReady(n, rd);
          if (this.#async) raw.advanceAppendAsync(rd);
          n.pending.push(rd);
          if (this.#opts.trace && (rd.entries.length > 0 || rd.snapshot !== undefined)) {
            this.#log(`node ${n.id} ready #${rd.number} snap=${snapshotIndexTerm(rd.snapshot).index} ents=${rd.entries[0]?.index ?? '-'}..${rd.entries[rd.entries.length - 1]?.index ?? '-'} committed=${rd.committedEntries.length}`);
          }
          this.#send(rd.messages);
          if (this.rng.chance(0.6)) this.#persist(n);
        }
      }
      if (!any) break;
    }
  }

  #persistRandom(): void {
    const n = this.#pick(this.#live().filter((x) => x.pending.length > 0));
    if (n !== undefined) this.#persist(n);
  }

  #persist(n: SimNode): void {
    const raw = n.raw;
    const rd = n.pending.shift();
    if (raw === undefined || rd === undefined) return;
    if (rd.snapshot !== undefined) {
      const { index } = snapshotIndexTerm(rd.snapshot);
      n.storage.applySnapshot(rd.snapshot);
      n.applied = index;
      n.confState = rd.snapshot.metadata?.confState ?? newConfState();
      if (n.checkedCommit < index) n.checkedCommit = index;
      this.#log(`node ${n.id} installs snapshot ${index} voters=${n.confState.voters.join(',')} out=${n.confState.votersOutgoing.join(',')}`);
    }
    n.storage.append(rd.entries);
    if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
    this.#send(rd.persistedMessages);
    this.#apply(n, rd.committedEntries);
    for (const rs of rd.readStates) this.#onReadState(n, rs.index, rs.requestCtx);
    if (this.#async) {
      // Asynchronous persistence: acknowledge by number; what it unlocks comes in later Readies.
      raw.onPersistReady(rd.number);
      raw.advanceApplyTo(n.applied);
      return;
    }
    const light = raw.advance(rd);
    this.#send(light.messages);
    this.#apply(n, light.committedEntries);
    raw.advanceApply();
  }

  #apply(n: SimNode, ents: Entry[]): void {
    for (const e of ents) {
      if (e.index !== n.applied + 1n) this.#fail(`node ${n.id} applies ${e.index} after ${n.applied}`);
      this.#checkCommittedEntry(e.index, entryKey(e), `node ${n.id} applying`);
      if (isConfChangeEntry(e) && n.raw !== undefined) {
        const cc = decodeConfChangeEntry(e);
        try {
          n.confState = n.raw.applyConfChange(cc);
        } catch (err: unknown) {
          if (err instanceof ConfChangeError) this.#fail(`node ${n.id} cannot apply conf change at ${e.index}: ${err.message}`);
          throw err;
        }
        this.#log(`node ${n.id} applied conf change ${e.index}: voters=${n.confState.voters.join(',')} out=${n.confState.votersOutgoing.join(',')} learners=${n.confState.learners.join(',')}`);
      }
      // Only now is the entry applied: a snapshot taken meanwhile (applyConfChange may make
      // the leader send one) must not claim this index with the old membership.
      n.applied = e.index;
    }
  }

  #propose(): void {
    const n = this.rng.chance(0.7) ? this.#leader() : this.#pick(this.#live());
    if (n?.raw === undefined) return;
    const data = enc.encode(`p${this.#opts.seed}-${++this.#proposalSeq}`);
    try {
      n.raw.propose(new Uint8Array(0), data);
      this.stats.proposals++;
    } catch (e: unknown) {
      if (!(e instanceof ProposalDroppedError)) throw e;
    }
  }

  #readIndex(): void {
    const n = this.#pick(this.#live());
    if (n?.raw === undefined) return;
    const ctx = enc.encode(`r${++this.#readSeq}`);
    try {
      n.raw.readIndex(ctx);
      // Every write committed before the read starts must be visible at the read index.
      this.#reads.set(bytesKey(ctx), { node: n.id, minIndex: this.#globalCommit });
    } catch (e: unknown) {
      if (!(e instanceof ProposalDroppedError)) throw e;
    }
  }

  #onReadState(n: SimNode, index: bigint, ctx: Uint8Array): void {
    const key = bytesKey(ctx);
    const req = this.#reads.get(key);
    if (req === undefined) return;
    if (req.node !== n.id) this.#fail(`read state for a read issued on ${req.node} arrived at ${n.id}`);
    if (index < req.minIndex) this.#fail(`read index ${index} misses writes committed up to ${req.minIndex} before the read (node ${n.id})`);
    this.#reads.delete(key);
    this.stats.readsServed++;
  }

  #confChange(): void {
    const l = this.#leader();
    const raw = l?.raw;
    if (raw === undefined) return;
    const conf = raw.raft.prs.conf;
    const ids = [...this.nodes.keys()];
    const voters = [...conf.voters.incoming.voters];
    const learners = [...conf.learners];
    let cc: eraftpb.ConfChange | eraftpb.ConfChangeV2;
    if (conf.voters.isJoint()) {
      if (conf.autoLeave) return;
      cc = { transition: eraftpb.ConfChangeTransition.Auto, changes: [], context: new Uint8Array(0) };
    } else {
      const nonMembers = ids.filter((id) => !voters.includes(id) && !learners.includes(id));
      const changes: eraftpb.ConfChangeSingle[] = [];
      const kind = this.rng.nextInt(5);
      if (kind === 0 && nonMembers.length > 0) changes.push({ changeType: eraftpb.ConfChangeType.AddNode, nodeId: this.#pick(nonMembers) as bigint });
      else if (kind === 1 && nonMembers.length > 0) changes.push({ changeType: eraftpb.ConfChangeType.AddLearnerNode, nodeId: this.#pick(nonMembers) as bigint });
      else if (kind === 2 && learners.length > 0) changes.push({ changeType: eraftpb.ConfChangeType.AddNode, nodeId: this.#pick(learners) as bigint });
      else if (kind === 3 && voters.length > 2) {
        const v = this.#pick(voters) as bigint;
        changes.push({ changeType: this.rng.chance(0.5) ? eraftpb.ConfChangeType.RemoveNode : eraftpb.ConfChangeType.AddLearnerNode, nodeId: v });
      } else if (kind === 4 && nonMembers.length > 0 && voters.length > 1) {
        // Replace a voter by a new one: needs joint consensus.
        changes.push({ changeType: eraftpb.ConfChangeType.RemoveNode, nodeId: this.#pick(voters) as bigint });
        changes.push({ changeType: eraftpb.ConfChangeType.AddNode, nodeId: this.#pick(nonMembers) as bigint });
      } else return;
      if (changes.length === 1 && this.rng.chance(0.3)) {
        const c = changes[0] as eraftpb.ConfChangeSingle;
        cc = { id: 0n, changeType: c.changeType, nodeId: c.nodeId, context: new Uint8Array(0) };
      } else {
        const t = changes.length > 1 ? this.rng.nextInt(3) : this.rng.chance(0.5) ? 0 : this.rng.nextRange(1, 2);
        cc = { transition: t as eraftpb.ConfChangeTransition, changes, context: new Uint8Array(0) };
      }
    }
    try {
      raw.proposeConfChange(new Uint8Array(0), cc);
      this.stats.confChanges++;
      this.#log(`propose conf change on ${l?.id}: ${JSON.stringify(cc, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))}`);
    } catch (e: unknown) {
      if (!(e instanceof ProposalDroppedError)) throw e;
    }
  }

  #crash(): void {
    const live = this.#live();
    if (live.length <= 1) return;
    const n = this.#pick(live) as SimNode;
    this.#log(`crash ${n.id}`);
    n.raw = undefined;
    n.pending = [];
    this.stats.crashes++;
  }

  #restart(): void {
    const n = this.#pick([...this.nodes.values()].filter((x) => x.raw === undefined));
    if (n === undefined) return;
    this.#log(`restart ${n.id}`);
    this.#start(n);
  }

  #partitionOrHeal(): void {
    if (this.#partition.size > 0 && this.rng.chance(0.5)) {
      this.#partition = new Map();
      this.#log('heal');
      return;
    }
    this.#partition = new Map();
    for (const id of this.nodes.keys()) this.#partition.set(id, this.rng.nextInt(2));
    this.#log(`partition ${[...this.#partition].map(([id, g]) => `${id}:${g}`).join(' ')}`);
  }

  #transfer(): void {
    const l = this.#leader();
    const raw = l?.raw;
    if (raw === undefined) return;
    const target = this.#pick([...raw.raft.prs.conf.voters.ids()].filter((id) => id !== l?.id));
    if (target === undefined) return;
    raw.transferLeader(target);
    this.stats.transfers++;
    if (this.rng.chance(0.2)) {
      try {
        this.#pick(this.#live())?.raw?.requestSnapshot();
      } catch (e: unknown) {
        if (!(e instanceof RequestSnapshotDroppedError)) throw e;
      }
    }
  }

  #compact(): void {
    const n = this.#pick(this.#live());
    if (n === undefined) return;
    this.#makeSnapshot(n);
    const { index } = snapshotIndexTerm(n.storage.currentSnapshot());
    const first = n.storage.firstIndex();
    const to = index - BigInt(this.rng.nextInt(3));
    if (to >= first) n.storage.compact(to);
  }

  /** Heals everything and runs without faults: a leader must emerge and commit a proposal. */
  #quiesce(): void {
    this.#partition = new Map();
    for (const n of this.nodes.values()) if (n.raw === undefined) this.#start(n);
    const saved = [this.#dropRate, this.#dupRate];
    const self = this as unknown as { dropFree: boolean };
    self.dropFree = true;
    const before = this.#globalCommit;
    let proposed = false;
    for (let i = 0; i < 4000; i++) {
      this.#step++;
      if (i % 4 === 0) this.#tickAll();
      while (this.#net.length > 0) {
        const { m } = this.#net.shift() as InFlight;
        const to = this.nodes.get(m.to);
        if (to?.raw !== undefined) this.#log(`deliver ${MT[m.msgType]} ${m.from}->${m.to} term=${m.term} idx=${m.index} lt=${m.logTerm} n=${m.entries.length} commit=${m.commit} rej=${m.reject}`);
        try {
          to?.raw?.step(m);
        } catch (e: unknown) {
          if (!(e instanceof ProposalDroppedError || e instanceof StepPeerNotFoundError)) throw e;
        }
        this.#pumpReliable();
      }
      this.#pumpReliable();
      this.#check();
      const l = this.#leader();
      if (l?.raw !== undefined && !proposed && l.raw.raft.raftLog.committed >= l.raw.raft.raftLog.lastIndex()) {
        try {
          l.raw.propose(new Uint8Array(0), enc.encode('final'));
          proposed = true;
        } catch (e: unknown) {
          if (!(e instanceof ProposalDroppedError)) throw e;
        }
      }
      if (proposed && this.#globalCommit > before && l !== undefined && l.raw?.raft.raftLog.committed === l.raw?.raft.raftLog.lastIndex()) {
        void saved;
        return;
      }
    }
    const l = this.#leader();
    const st = l?.raw?.status();
    const detail = st === undefined ? '' : ` status ${JSON.stringify({ ...st, progress: st.progress === undefined ? undefined : [...st.progress] }, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))}`;
    this.#fail(`no progress after healing (leader ${l?.id ?? 'none'}, commit ${this.#globalCommit})${detail}`);
  }

  #pumpReliable(): void {
    for (let round = 0; round < 10; round++) {
      let any = false;
      for (const n of this.#live()) {
        const raw = n.raw as RawNode;
        while (n.pending.length > 0) this.#persistReliable(n);
        if (raw.hasReady()) {
          any = true;
          const rd = raw.ready();
          this.#onReady(n, rd);
          if (this.#async) raw.advanceAppendAsync(rd);
          n.pending.push(rd);
          this.#sendReliable(rd.messages);
          this.#persistReliable(n);
        }
      }
      if (!any) return;
    }
  }

  #sendReliable(msgs: Message[]): void {
    for (const m of msgs) {
      this.#net.push({ m: cloneMessage(m) });
      if (m.msgType === MT.MsgSnapshot) this.nodes.get(m.from)?.raw?.reportSnapshot(m.to, SnapshotStatus.Finish);
    }
  }

  #persistReliable(n: SimNode): void {
    const raw = n.raw;
    const rd = n.pending.shift();
    if (raw === undefined || rd === undefined) return;
    if (rd.snapshot !== undefined) {
      const { index } = snapshotIndexTerm(rd.snapshot);
      n.storage.applySnapshot(rd.snapshot);
      n.applied = index;
      n.confState = rd.snapshot.metadata?.confState ?? newConfState();
      if (n.checkedCommit < index) n.checkedCommit = index;
    }
    n.storage.append(rd.entries);
    if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
    this.#sendReliable(rd.persistedMessages);
    this.#apply(n, rd.committedEntries);
    for (const rs of rd.readStates) this.#onReadState(n, rs.index, rs.requestCtx);
    if (this.#async) {
      raw.onPersistReady(rd.number);
      raw.advanceApplyTo(n.applied);
      return;
    }
    const light = raw.advance(rd);
    this.#sendReliable(light.messages);
    this.#apply(n, light.committedEntries);
    raw.advanceApply();
  }

  // ---- invariants ----

  #onReady(n: SimNode, rd: Ready): void {
    const raft = (n.raw as RawNode).raft;
    // Log matching: an (index, term) pair identifies one entry with one predecessor, forever.
    for (const e of rd.entries) {
      const prevTerm = e.index === rd.entries[0]?.index ? raft.raftLog.term(e.index - 1n) : undefined;
      const id = `${e.index}:${e.term}`;
      const val = `${entryKey(e)}`;
      const seen = this.#entryIds.get(id);
      if (seen === undefined) this.#entryIds.set(id, val);
      else if (seen !== val) this.#fail(`log matching: entry ${id} differs between logs`);
      if (prevTerm !== undefined && e.index > 1n) {
        const pid = `prev:${id}`;
        const p = this.#entryIds.get(pid);
        const pv = String(prevTerm);
        if (p === undefined) this.#entryIds.set(pid, pv);
        else if (p !== pv) this.#fail(`log matching: entry ${id} follows term ${pv} on ${n.id} but term ${p} elsewhere`);
      }
    }
    for (let i = 1; i < rd.entries.length; i++) {
      const e = rd.entries[i] as Entry;
      const pv = String((rd.entries[i - 1] as Entry).term);
      const pid = `prev:${e.index}:${e.term}`;
      const p = this.#entryIds.get(pid);
      if (p === undefined) this.#entryIds.set(pid, pv);
      else if (p !== pv) this.#fail(`log matching: entry ${e.index}:${e.term} follows term ${pv} on ${n.id} but term ${p} elsewhere`);
    }
    if (rd.snapshot !== undefined) {
      const { index, term } = snapshotIndexTerm(rd.snapshot);
      const c = this.#committed.get(index);
      if (c !== undefined && !c.startsWith(`${term}|`)) this.#fail(`snapshot ${index}:${term} on ${n.id} contradicts committed entry ${c}`);
    }
    if (rd.softState?.raftState === StateRole.Leader) this.stats.elections++;
  }

  #checkCommittedEntry(index: bigint, key: string, who: string): void {
    const c = this.#committed.get(index);
    if (c === undefined) {
      this.#committed.set(index, key);
      this.stats.committed++;
    } else if (c !== key) {
      this.#fail(`${who}: committed entry ${index} changed from ${c} to ${key}`);
    }
  }

  #check(): void {
    for (const n of this.#live()) {
      const raft = (n.raw as RawNode).raft;
      const log = raft.raftLog;
      if (raft.state === StateRole.Leader) {
        const prev = this.#leaders.get(raft.term);
        if (prev === undefined) {
          this.#leaders.set(raft.term, n.id);
          // Leader completeness: a new leader holds every entry committed so far.
          if (log.lastIndex() < this.#globalCommit) this.#fail(`leader ${n.id} of term ${raft.term} lacks committed entries up to ${this.#globalCommit}`);
          for (let i = log.firstIndex(); i <= this.#globalCommit; i++) {
            const c = this.#committed.get(i);
            if (c !== undefined && !c.startsWith(`${log.term(i)}|`)) this.#fail(`leader ${n.id} of term ${raft.term} has a different entry at committed index ${i}`);
          }
        } else if (prev !== n.id) {
          this.#fail(`two leaders in term ${raft.term}: ${prev} and ${n.id}`);
        }
      }
      // Committed entries never change: check this node's newly committed prefix.
      const first = log.firstIndex();
      if (n.checkedCommit < first - 1n) n.checkedCommit = first - 1n;
      if (log.committed > n.checkedCommit) {
        const ents = log.slice(n.checkedCommit + 1n, log.committed + 1n);
        for (const e of ents) this.#checkCommittedEntry(e.index, entryKey(e), `node ${n.id}`);
        n.checkedCommit = log.committed;
      }
      if (log.committed > this.#globalCommit) this.#globalCommit = log.committed;
    }
  }

  /** Whether the run exercised the safety checks (a leader was elected and something committed). */
  summary(): string {
    return JSON.stringify(this.stats);
  }
}

function entryKey(e: Entry): string {
  return `${e.term}|${e.entryType}|${bytesKey(e.data)}`;
}

function cloneMessage(m: Message): Message {
  return { ...m, entries: m.entries.map((e) => ({ ...e })) };
}

/** Runs one seed; throws InvariantViolation (with the seed in the message) on failure. */
export function runSimulation(seed: bigint, steps: number, trace = false): SimCluster {
  const c = new SimCluster({ seed, steps, trace });
  try {
    c.run();
  } catch (e: unknown) {
    const tail = trace ? `\n${c.trace.slice(-80).join('\n')}` : '';
    const msg = e instanceof Error ? e.message : String(e);
    throw new InvariantViolation(`SIM_SEED=${seed} failed: ${msg}${tail}`);
  }
  return c;
}
