/**
 * The sliding window of in-flight MsgAppend messages to one follower, identified by the
 * last entry index each one carried (raft-rs/etcd "inflights"). The leader stops sending
 * appends while the window is full and frees slots as the follower acknowledges.
 */
export class Inflights {
  readonly #cap: number;
  #buffer: bigint[] = [];
  #start = 0;

  /** @param cap the window size in messages (>= 1) */
  constructor(cap: number) {
    this.#cap = cap;
  }

  /** Capacity in messages. */
  get cap(): number {
    return this.#cap;
  }

  /** Number of messages in flight. */
  get count(): number {
    return this.#buffer.length - this.#start;
  }

  /** Whether no more message may be sent. */
  full(): boolean {
    return this.count >= this.#cap;
  }

  /** Records a message whose last entry index is `lastIndex` (indexes must be added in increasing order). */
  add(lastIndex: bigint): void {
    if (this.full()) throw new Error('Invariant violated: cannot add into a full inflights window');
    this.#buffer.push(lastIndex);
  }

  /** Frees every message whose last index is <= `index`. */
  freeTo(index: bigint): void {
    const b = this.#buffer;
    let i = this.#start;
    while (i < b.length && (b[i] as bigint) <= index) i++;
    this.#start = i;
    this.#compact();
  }

  /** Frees the oldest message (used on heartbeat responses when the window is full). */
  freeFirstOne(): void {
    if (this.count > 0) this.#start++;
    this.#compact();
  }

  /** Frees everything. */
  reset(): void {
    this.#buffer = [];
    this.#start = 0;
  }

  #compact(): void {
    if (this.#start === this.#buffer.length) {
      this.#buffer = [];
      this.#start = 0;
    } else if (this.#start > 64 && this.#start * 2 > this.#buffer.length) {
      this.#buffer = this.#buffer.slice(this.#start);
      this.#start = 0;
    }
  }
}
