import type { Message } from './util';
import { bytesKey } from './util';

/** How a leader serves read-index requests. */
export enum ReadOnlyOption {
  /**
   * Confirm leadership with a round of heartbeats acknowledged by a quorum before answering
   * (Raft thesis §6.4). Linearizable without clock assumptions.
   */
  Safe = 0,
  /**
   * Answer from the leader lease (check-quorum must be on). Linearizable only while clock
   * drift stays below the election timeout.
   */
  LeaseBased = 1,
}

/** A read request answered: reads may be served once the applied index reaches `index`. */
export interface ReadState {
  index: bigint;
  /** The context the request was made with (unique per request). */
  requestCtx: Uint8Array;
}

/** A pending safe read on the leader. */
export interface ReadIndexStatus {
  req: Message;
  index: bigint;
  acks: Set<bigint>;
}

/** The leader's queue of safe read-index requests waiting for a quorum of heartbeat acks. */
export class ReadOnly {
  readonly option: ReadOnlyOption;
  readonly #pending = new Map<string, ReadIndexStatus>();
  #queue: string[] = [];

  constructor(option: ReadOnlyOption) {
    this.option = option;
  }

  /** Registers request `m` (its context is `m.entries[0].data`) at commit index `index`. */
  addRequest(index: bigint, m: Message): void {
    const ctx = bytesKey(m.entries[0]?.data ?? new Uint8Array(0));
    if (this.#pending.has(ctx)) return;
    this.#pending.set(ctx, { req: m, index, acks: new Set() });
    this.#queue.push(ctx);
  }

  /** Records a heartbeat ack from `id` for context `ctx`; returns the acks so far, or undefined when unknown. */
  recvAck(id: bigint, ctx: Uint8Array): Set<bigint> | undefined {
    const rs = this.#pending.get(bytesKey(ctx));
    if (rs === undefined) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /** Removes and returns every request up to and including the one with context `ctx` (in order). */
  advance(ctx: Uint8Array): ReadIndexStatus[] {
    const key = bytesKey(ctx);
    const i = this.#queue.indexOf(key);
    if (i < 0) return [];
    const done = this.#queue.slice(0, i + 1);
    this.#queue = this.#queue.slice(i + 1);
    const out: ReadIndexStatus[] = [];
    for (const k of done) {
      const rs = this.#pending.get(k);
      if (rs !== undefined) out.push(rs);
      this.#pending.delete(k);
    }
    return out;
  }

  /** Context of the newest pending request (sent with heartbeats), if any. */
  lastPendingRequestCtx(): Uint8Array | undefined {
    const k = this.#queue[this.#queue.length - 1];
    if (k === undefined) return undefined;
    return this.#pending.get(k)?.req.entries[0]?.data;
  }

  /** Number of pending requests. */
  get pendingCount(): number {
    return this.#queue.length;
  }
}
