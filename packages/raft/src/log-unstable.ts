import type { Entry, Snapshot } from './util';
import { snapshotIndexTerm } from './util';

/**
 * The tail of the log that is not yet in {@link Storage}: entries and possibly an incoming
 * snapshot. Entries handed out in a Ready are "in progress" until persisted, so a later
 * Ready does not hand them out again (etcd's offsetInProgress).
 */
export class Unstable {
  /** A snapshot received from the leader and not yet persisted. */
  snapshot: Snapshot | undefined = undefined;
  /** Entries starting at index `offset`. */
  entries: Entry[] = [];
  offset: bigint;
  /** Entries with index < offsetInProgress were handed out in a Ready already. */
  offsetInProgress: bigint;
  snapshotInProgress = false;

  constructor(offset: bigint) {
    this.offset = offset;
    this.offsetInProgress = offset;
  }

  /** Index of the first entry if the unstable part starts with a snapshot. */
  maybeFirstIndex(): bigint | undefined {
    return this.snapshot === undefined ? undefined : snapshotIndexTerm(this.snapshot).index + 1n;
  }

  /** Last index held here, if any. */
  maybeLastIndex(): bigint | undefined {
    if (this.entries.length > 0) return this.offset + BigInt(this.entries.length) - 1n;
    if (this.snapshot !== undefined) return snapshotIndexTerm(this.snapshot).index;
    return undefined;
  }

  /** Term of entry `i` if held here (or it is the snapshot's index). */
  maybeTerm(i: bigint): bigint | undefined {
    if (i < this.offset) {
      if (this.snapshot !== undefined) {
        const { index, term } = snapshotIndexTerm(this.snapshot);
        if (index === i) return term;
      }
      return undefined;
    }
    const e = this.entries[Number(i - this.offset)];
    return e?.term;
  }

  /** Entries not yet handed out. */
  nextEntries(): Entry[] {
    const start = Number(this.offsetInProgress - this.offset);
    if (start >= this.entries.length) return [];
    return this.entries.slice(start);
  }

  /** Whether some entries were not handed out yet. */
  hasNextEntries(): boolean {
    return this.offsetInProgress < this.offset + BigInt(this.entries.length);
  }

  /** The snapshot if not yet handed out. */
  nextSnapshot(): Snapshot | undefined {
    return this.snapshotInProgress ? undefined : this.snapshot;
  }

  /** Marks everything held as handed out. */
  acceptInProgress(): void {
    if (this.entries.length > 0) this.offsetInProgress = this.offset + BigInt(this.entries.length);
    if (this.snapshot !== undefined) this.snapshotInProgress = true;
  }

  /** Entries up to (i, t) are persisted: drop them, unless they were replaced meanwhile. */
  stableTo(i: bigint, t: bigint): void {
    // A pending snapshot replaces the whole stored log when it is written: entries written
    // before it (even with the same index and term) are not stable. Entries after it become
    // stable with the snapshot's own write, acknowledged after it.
    if (this.snapshot !== undefined) return;
    const gt = this.maybeTerm(i);
    if (gt === undefined || gt !== t || i < this.offset) return;
    const n = Number(i + 1n - this.offset);
    this.entries = this.entries.slice(n);
    this.offset = i + 1n;
    if (this.offsetInProgress < this.offset) this.offsetInProgress = this.offset;
  }

  /** The snapshot at `i` is persisted. */
  stableSnapTo(i: bigint): void {
    if (this.snapshot !== undefined && snapshotIndexTerm(this.snapshot).index === i) {
      this.snapshot = undefined;
      this.snapshotInProgress = false;
    }
  }

  /** Replaces everything by a snapshot. */
  restore(s: Snapshot): void {
    const { index } = snapshotIndexTerm(s);
    this.offset = index + 1n;
    this.offsetInProgress = this.offset;
    this.entries = [];
    this.snapshot = s;
    this.snapshotInProgress = false;
  }

  /** Appends entries, truncating any held entries at or after the first new index. */
  truncateAndAppend(ents: Entry[]): void {
    const first = ents[0];
    if (first === undefined) return;
    const after = first.index;
    const end = this.offset + BigInt(this.entries.length);
    if (after === end) {
      for (const e of ents) this.entries.push(e);
    } else if (after <= this.offset) {
      // Replaces everything held (the new entries start at or before the unstable part).
      this.offset = after;
      this.offsetInProgress = after;
      this.entries = ents.slice();
    } else {
      this.entries = this.entries.slice(0, Number(after - this.offset)).concat(ents);
      if (this.offsetInProgress > after) this.offsetInProgress = after;
    }
  }

  /** Entries in [lo, hi), which must be held here. */
  slice(lo: bigint, hi: bigint): Entry[] {
    const end = this.offset + BigInt(this.entries.length);
    if (lo > hi || lo < this.offset || hi > end) {
      throw new RangeError(`Invalid unstable slice [${lo}, ${hi}) of [${this.offset}, ${end})`);
    }
    return this.entries.slice(Number(lo - this.offset), Number(hi - this.offset));
  }
}
