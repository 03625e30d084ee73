/** One edge of the wait-for graph: `txn` waits for `waitForTxn` on the key with `keyHash`. */
export interface WaitForEntry {
  readonly txn: bigint;
  readonly waitForTxn: bigint;
  readonly keyHash: bigint;
  readonly key: Uint8Array;
}

/**
 * The wait-for graph of pessimistic lock waiters on this node (TiKV's deadlock detector, local
 * form). Adding an edge that closes a cycle is refused and the cycle returned, so the waiter can
 * fail with a deadlock error instead of waiting. Pure and synchronous.
 */
export class DeadlockDetector {
  /** waiter txn -> edges it has (a txn may wait on one lock at a time; kept as a list for safety). */
  readonly #edges = new Map<bigint, WaitForEntry[]>();

  /**
   * Records that `entry.txn` waits for `entry.waitForTxn`, unless that closes a cycle: then
   * nothing is recorded and the wait chain (from the holder back to the waiter) is returned.
   */
  detect(entry: WaitForEntry): WaitForEntry[] | undefined {
    const chain = this.#path(entry.waitForTxn, entry.txn);
    if (chain !== undefined) return [...chain, entry];
    const list = this.#edges.get(entry.txn) ?? [];
    list.push(entry);
    this.#edges.set(entry.txn, list);
    return undefined;
  }

  /** Removes the edges of waiter `txn` on `keyHash` (all of them when `keyHash` is undefined). */
  cleanUpWaitFor(txn: bigint, keyHash?: bigint): void {
    const list = this.#edges.get(txn);
    if (list === undefined) return;
    const left = keyHash === undefined ? [] : list.filter((e) => e.keyHash !== keyHash);
    if (left.length === 0) this.#edges.delete(txn);
    else this.#edges.set(txn, left);
  }

  /** Number of waiting transactions. */
  get size(): number {
    return this.#edges.size;
  }

  /** A path of edges from `from` to `to`, by depth-first search. */
  #path(from: bigint, to: bigint): WaitForEntry[] | undefined {
    const seen = new Set<bigint>();
    const stack: { txn: bigint; path: WaitForEntry[] }[] = [{ txn: from, path: [] }];
    while (stack.length > 0) {
      const { txn, path } = stack.pop() as { txn: bigint; path: WaitForEntry[] };
      if (txn === to) return path;
      if (seen.has(txn)) continue;
      seen.add(txn);
      for (const e of this.#edges.get(txn) ?? []) stack.push({ txn: e.waitForTxn, path: [...path, e] });
    }
    return undefined;
  }
}
