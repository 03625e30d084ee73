import type { eraftpb } from '@tikv-ts/proto';
import type { Raft } from '../raft';
import type { MemStorage } from '../storage';
import type { Entry } from '../util';
import { newEntry } from '../util';
import { persist } from './test-network';

const enc = new TextEncoder();

/** An entry at (index, term) with optional string data. */
export function ent(index: bigint, term: bigint, data?: string): Entry {
  return newEntry({ index, term, ...(data === undefined ? {} : { data: enc.encode(data) }) });
}

/** Entries with the given terms at indexes 1, 2, …. */
export function entsWithTerms(...terms: number[]): Entry[] {
  return terms.map((t, i) => ent(BigInt(i + 1), BigInt(t)));
}

/** Steps `m` into `r` and persists the result into `s`. */
export function stepPersist(r: Raft, s: MemStorage, m: eraftpb.Message): void {
  r.step(m);
  persist(r, s);
}

/** Index/term pairs of the raft's whole log (for assertions). */
export function logOf(r: Raft): Array<[bigint, bigint]> {
  return r.raftLog.allEntries().map((e) => [e.index, e.term]);
}

/** Ticks `r` `n` times. */
export function tickN(r: Raft, n: number): void {
  for (let i = 0; i < n; i++) r.tick();
}
