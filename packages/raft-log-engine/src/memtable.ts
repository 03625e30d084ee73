import type { RaftEntry, RaftLocalState } from '@tikv-ts/engine-traits';
import type { LogOp } from './format';

/** Where one entry lives, plus the decoded entry while it is in the cache. */
export interface EntrySlot {
  readonly index: bigint;
  readonly term: bigint;
  /** Sequence number of the segment file holding the entry's bytes. */
  readonly seq: number;
  /** Byte offset of the entry's protobuf bytes in that file. */
  readonly offset: number;
  /** Length of those bytes (the entry's size for `maxSizeBytes`). */
  readonly length: number;
  /** The entry, while cached; undefined once evicted (then it is read back from the file). */
  cached: RaftEntry | undefined;
}

/** The in-memory index of one region: its entries' locations and its Raft state. */
export class RegionLog {
  /** Slots of consecutive indexes; `slots[i].index === slots[0].index + i`. */
  slots: EntrySlot[] = [];
  /** Entries below this index were compacted away (0 when never compacted). */
  compactedTo = 0n;
  state: RaftLocalState | undefined = undefined;
  /** Segment holding the record with the current state (meaningful when `state` is set). */
  stateSeq = 0;

  constructor(readonly regionId: bigint) {}

  get firstIndex(): bigint | undefined {
    return this.slots[0]?.index;
  }

  get lastIndex(): bigint | undefined {
    return this.slots[this.slots.length - 1]?.index;
  }

  /** The slot of `index`, or undefined when the log does not hold it. */
  slot(index: bigint): EntrySlot | undefined {
    const first = this.slots[0];
    if (first === undefined || index < first.index) return undefined;
    const pos = index - first.index;
    return pos < BigInt(this.slots.length) ? this.slots[Number(pos)] : undefined;
  }

  get isEmpty(): boolean {
    return this.slots.length === 0 && this.state === undefined;
  }
}

/**
 * Every region's index plus a FIFO cache of recently written entries bounded by
 * `cacheLimitBytes` (counted as encoded entry sizes). Raft reads mostly the tail of a log, which
 * is what a FIFO keeps; evicted entries are read back from the segment files.
 */
export class MemTable {
  readonly regions = new Map<bigint, RegionLog>();
  #cacheQueue: EntrySlot[] = [];
  #cacheHead = 0;
  #cachedBytes = 0;
  #cachedCount = 0;

  constructor(readonly cacheLimitBytes: number) {}

  get cachedBytes(): number {
    return this.#cachedBytes;
  }

  region(regionId: bigint): RegionLog | undefined {
    return this.regions.get(regionId);
  }

  #regionOrCreate(regionId: bigint): RegionLog {
    let r = this.regions.get(regionId);
    if (r === undefined) {
      r = new RegionLog(regionId);
      this.regions.set(regionId, r);
    }
    return r;
  }

  /**
   * Applies ops of one record written at `payloadOffset` of segment `seq`, in order. Entry objects
   * carried by the ops go into the cache.
   */
  apply(ops: readonly LogOp[], seq: number, payloadOffset: number): void {
    for (const op of ops) {
      switch (op.kind) {
        case 'append': {
          const r = this.#regionOrCreate(op.regionId);
          const first = r.firstIndex;
          const last = r.lastIndex;
          if (first === undefined || last === undefined || op.firstIndex < first || op.firstIndex > last + 1n) {
            this.#drop(r.slots);
            r.slots = [];
          } else {
            const keep = Number(op.firstIndex - first);
            this.#drop(r.slots.slice(keep));
            r.slots.length = keep;
          }
          let index = op.firstIndex;
          for (const item of op.items) {
            const slot: EntrySlot = {
              index,
              term: item.term,
              seq,
              offset: payloadOffset + item.offset,
              length: item.length,
              cached: undefined,
            };
            if (item.entry !== undefined && this.cacheLimitBytes > 0) this.#cache(slot, item.entry);
            r.slots.push(slot);
            index++;
          }
          break;
        }
        case 'cut': {
          const r = this.regions.get(op.regionId);
          if (r === undefined) break;
          const first = r.firstIndex;
          if (first === undefined) break;
          const keep = op.fromIndex <= first ? 0 : Number(op.fromIndex - first);
          if (keep < r.slots.length) {
            this.#drop(r.slots.slice(keep));
            r.slots.length = keep;
          }
          this.#forgetIfEmpty(r);
          break;
        }
        case 'compact': {
          const r = this.#regionOrCreate(op.regionId);
          if (op.index > r.compactedTo) r.compactedTo = op.index;
          const first = r.firstIndex;
          if (first !== undefined && op.index > first) {
            const n = Math.min(r.slots.length, Number(op.index - first));
            this.#drop(r.slots.slice(0, n));
            r.slots.splice(0, n);
          }
          this.#forgetIfEmpty(r);
          break;
        }
        case 'putState': {
          const r = this.#regionOrCreate(op.regionId);
          r.state = op.state;
          r.stateSeq = seq;
          break;
        }
        case 'removeState': {
          const r = this.regions.get(op.regionId);
          if (r === undefined) break;
          r.state = undefined;
          this.#forgetIfEmpty(r);
          break;
        }
        default: {
          const never: never = op;
          throw new TypeError(`Unknown op ${String(never)}`);
        }
      }
    }
  }

  /** Regions with neither entries nor state are forgotten (their compaction point too). */
  #forgetIfEmpty(r: RegionLog): void {
    if (r.isEmpty) this.regions.delete(r.regionId);
  }

  #cache(slot: EntrySlot, entry: RaftEntry): void {
    slot.cached = entry;
    this.#cachedBytes += slot.length;
    this.#cachedCount++;
    this.#cacheQueue.push(slot);
    while (this.#cachedBytes > this.cacheLimitBytes && this.#cacheHead < this.#cacheQueue.length) {
      const oldest = this.#cacheQueue[this.#cacheHead++] as EntrySlot;
      this.#uncache(oldest);
    }
    // Compact the queue when dead references (evicted or dropped slots) dominate it.
    if (this.#cacheHead > 1024 && this.#cacheHead * 2 > this.#cacheQueue.length) {
      this.#cacheQueue = this.#cacheQueue.slice(this.#cacheHead);
      this.#cacheHead = 0;
    }
    if (this.#cacheQueue.length - this.#cacheHead > 4 * this.#cachedCount + 1024) {
      this.#cacheQueue = this.#cacheQueue.slice(this.#cacheHead).filter((s) => s.cached !== undefined);
      this.#cacheHead = 0;
    }
  }

  #uncache(slot: EntrySlot): void {
    if (slot.cached === undefined) return;
    slot.cached = undefined;
    this.#cachedBytes -= slot.length;
    this.#cachedCount--;
  }

  #drop(slots: readonly EntrySlot[]): void {
    for (const s of slots) this.#uncache(s);
  }

  /** Smallest segment sequence number any region still needs (entries or state), or undefined. */
  minLiveSeq(): number | undefined {
    let min: number | undefined;
    for (const r of this.regions.values()) {
      const s = r.slots[0]?.seq;
      if (s !== undefined && (min === undefined || s < min)) min = s;
      if (r.state !== undefined && (min === undefined || r.stateSeq < min)) min = r.stateSeq;
    }
    return min;
  }

  /** Smallest segment any region's entries (not states) still need, or undefined. */
  minEntrySeq(): number | undefined {
    let min: number | undefined;
    for (const r of this.regions.values()) {
      const s = r.slots[0]?.seq;
      if (s !== undefined && (min === undefined || s < min)) min = s;
    }
    return min;
  }
}
