import { eraftpb } from '@tikv-ts/proto';
import { SeededRng } from '@tikv-ts/util';
import type { Config } from '../config';
import { validateConfig } from '../config';
import { Raft } from '../raft';
import { MemStorage } from '../storage';
import type { Message } from '../util';
import { newConfState, snapshotIndexTerm } from '../util';

/**
 * Test harness in the style of etcd's raft_test.go network: Raft instances wired directly,
 * every state change persisted to a MemStorage at once, messages delivered synchronously
 * until quiet. Not part of the public API.
 */

/** Options for {@link newTestRaft}. */
export type TestRaftOptions = Partial<Omit<Config, 'id'>> & { learners?: bigint[] };

/** A Raft over `storage` (created with `peers` as voters when not given). */
export function newTestRaft(id: bigint, peers: bigint[], opts: TestRaftOptions = {}, storage?: MemStorage): Raft {
  const s = storage ?? MemStorage.withConfState(newConfState(peers, opts.learners ?? []));
  const { learners: _l, ...rest } = opts;
  const cfg: Config = { electionTick: 10, heartbeatTick: 1, rng: new SeededRng(id), ...rest, id };
  return new Raft(validateConfig(cfg), s);
}

/** Persists everything the raft holds unstable into its storage and acknowledges it. */
export function persist(r: Raft, s: MemStorage): void {
  const u = r.raftLog.unstable;
  if (u.snapshot !== undefined) {
    const snap = u.snapshot;
    s.applySnapshot(snap);
    r.onPersistSnap(snapshotIndexTerm(snap).index);
  }
  const ents = u.entries.slice();
  const last = ents[ents.length - 1];
  if (last !== undefined) {
    s.append(ents);
    u.acceptInProgress();
    r.onPersistEntries(last.index, last.term);
  }
  s.setHardState(r.hardState());
}

/** Takes the raft's outgoing messages after persisting. */
export function readMessages(r: Raft): Message[] {
  const m = r.msgs;
  r.msgs = [];
  return m;
}

/** A message from `from` to `to` of type `t` with extra fields. */
export function msg(t: eraftpb.MessageType, from: bigint, to: bigint, fields: Partial<Message> = {}): Message {
  return {
    msgType: t,
    to,
    from,
    term: 0n,
    logTerm: 0n,
    index: 0n,
    entries: [],
    commit: 0n,
    snapshot: undefined,
    reject: false,
    rejectHint: 0n,
    context: new Uint8Array(0),
    requestSnapshot: 0n,
    deprecatedPriority: 0n,
    priority: 0n,
    ...fields,
  };
}

/** A proposal message with one entry carrying `data`. */
export function propose(from: bigint, data: string): Message {
  return msg(eraftpb.MessageType.MsgPropose, from, from, {
    entries: [{ entryType: eraftpb.EntryType.EntryNormal, term: 0n, index: 0n, data: new TextEncoder().encode(data), syncLog: false, context: new Uint8Array(0) }],
  });
}

/** A message-passing network of Raft nodes; `undefined` peers are black holes. */
export class TestNetwork {
  readonly peers = new Map<bigint, Raft | undefined>();
  readonly storage = new Map<bigint, MemStorage>();
  #drop = new Map<string, number>();
  #ignore = new Set<eraftpb.MessageType>();
  readonly #rng = new SeededRng(42n);
  /** When set, a message is delivered only if the hook returns true. */
  msgHook: ((m: Message) => boolean) | undefined;

  /**
   * @param peers one entry per node id 1..n: a Raft (its storage is taken from `storages` or
   * made fresh), `undefined` for a new default Raft, or `null` for a black hole
   */
  constructor(peers: (Raft | undefined | null)[], opts: TestRaftOptions = {}, storages?: Map<bigint, MemStorage>) {
    const ids = peers.map((_, i) => BigInt(i + 1));
    peers.forEach((p, i) => {
      const id = BigInt(i + 1);
      if (p === null) {
        this.peers.set(id, undefined);
      } else if (p === undefined) {
        const s = MemStorage.withConfState(newConfState(ids));
        this.storage.set(id, s);
        this.peers.set(id, newTestRaft(id, ids, opts, s));
      } else {
        this.storage.set(id, storages?.get(id) ?? new MemStorage());
        this.peers.set(id, p);
      }
    });
  }

  /** The raft with id `id` (throws for a black hole). */
  get(id: bigint): Raft {
    const r = this.peers.get(id);
    if (r === undefined) throw new Error(`No raft ${id}`);
    return r;
  }

  /** Delivers messages and everything they cause until the network is quiet. */
  send(msgs: Message[]): void {
    const queue = [...msgs];
    let steps = 0;
    while (queue.length > 0) {
      if (++steps > 1_000_000) throw new Error('TestNetwork.send does not converge');
      const m = queue.shift() as Message;
      const r = this.peers.get(m.to);
      if (r === undefined) continue;
      r.step(m);
      persist(r, this.storage.get(m.to) as MemStorage);
      queue.push(...this.filter(readMessages(r)));
    }
  }

  /** Steps messages into a raft without delivering what it sends. */
  deliverOnly(msgs: Message[]): void {
    for (const m of msgs) this.peers.get(m.to)?.step(m);
  }

  /** Applies drop/ignore rules and the hook. */
  filter(msgs: Message[]): Message[] {
    return msgs.filter((m) => {
      if (this.#ignore.has(m.msgType)) return false;
      if (m.msgType === eraftpb.MessageType.MsgHup) throw new Error('MsgHup must never be sent');
      const p = this.#drop.get(`${m.from}-${m.to}`) ?? 0;
      if (p > 0 && this.#rng.next() < p) return false;
      if (this.msgHook !== undefined && !this.msgHook(m)) return false;
      return true;
    });
  }

  /** Drops messages from `from` to `to` with probability `p`. */
  drop(from: bigint, to: bigint, p: number): void {
    this.#drop.set(`${from}-${to}`, p);
  }

  /** Cuts both directions between two nodes. */
  cut(a: bigint, b: bigint): void {
    this.drop(a, b, 2);
    this.drop(b, a, 2);
  }

  /** Cuts a node off from everyone. */
  isolate(id: bigint): void {
    for (const other of this.peers.keys()) {
      if (other !== id) this.cut(id, other);
    }
  }

  /** Drops every message of type `t`. */
  ignore(t: eraftpb.MessageType): void {
    this.#ignore.add(t);
  }

  /** Removes every drop and ignore rule and the hook. */
  recover(): void {
    this.#drop = new Map();
    this.#ignore = new Set();
    this.msgHook = undefined;
  }
}
