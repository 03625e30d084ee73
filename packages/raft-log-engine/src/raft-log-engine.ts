import {
  EntryCompactedError,
  EntryUnavailableError,
  type FetchEntriesRange,
  type RaftEngine,
  RaftEngineClosedError,
  RaftEngineCorruptionError,
  type RaftEntry,
  type RaftLocalState,
  type RaftLogBatch,
  type RaftWriteOptions,
} from '@tikv-ts/engine-traits';
import { eraftpb } from '@tikv-ts/proto';
import type { FileHandle, FileSystem } from '@tikv-ts/util';
import {
  FILE_HEADER_BYTES,
  type LogOp,
  type PendingOp,
  RECORD_HEADER_BYTES,
  STATE_OP_BYTES,
  checkRecordCrc,
  checkRecordHeader,
  cloneState,
  decodePayload,
  encodeFileHeader,
  encodeRecord,
  isValidFileHeader,
  parseSegmentFileName,
  segmentFileName,
} from './format';
import { type EntrySlot, MemTable } from './memtable';
import { RaftLogEngineBatch } from './raft-log-batch';

/**
 * What recovery does with a bad record (torn write, checksum mismatch) in the LAST segment file.
 * A bad record in any earlier file is always an error, since every earlier file was synced
 * before the next one was started.
 * - `tolerate-tail-corruption` (default): cut the file at the first bad record and continue.
 *   Only unsynced writes can be lost this way.
 * - `absolute-consistency`: refuse to open ({@link RaftEngineCorruptionError}).
 */
export type RecoveryMode = 'tolerate-tail-corruption' | 'absolute-consistency';

/** Configuration of {@link RaftLogEngine.open}. */
export interface RaftLogEngineConfig {
  /** Directory of the segment files; created when missing. One engine per directory. */
  dir: string;
  /** A segment is closed and a new one started once it holds this many bytes. Default 128 MiB. */
  targetFileSizeBytes?: number;
  /**
   * Bytes (encoded entry sizes) of recently written entries kept decoded in memory; older
   * entries are read back from the files. 0 disables the cache. Default 64 MiB.
   */
  cacheLimitBytes?: number;
  /** Default `tolerate-tail-corruption`. */
  recoveryMode?: RecoveryMode;
  /** Upper bound of bytes carried by one group-commit write (a single batch may exceed it). Default 16 MiB. */
  maxGroupBytes?: number;
  /** Run {@link RaftLogEngine.purgeExpiredFiles} after every rotation. Default true. */
  purgeAfterRotation?: boolean;
}

/** Defaults of {@link RaftLogEngineConfig}. */
export const RAFT_LOG_ENGINE_DEFAULTS = {
  targetFileSizeBytes: 128 * 1024 * 1024,
  cacheLimitBytes: 64 * 1024 * 1024,
  recoveryMode: 'tolerate-tail-corruption',
  maxGroupBytes: 16 * 1024 * 1024,
  purgeAfterRotation: true,
} as const satisfies Required<Omit<RaftLogEngineConfig, 'dir'>>;

/** What recovery found, for logs and tests. */
export interface RecoveryReport {
  /** Segment files replayed, by sequence number. */
  segments: number[];
  /** Records replayed. */
  records: number;
  /** Bytes cut from the tail of the last file (a torn or unsynced write), 0 when none. */
  truncatedBytes: number;
  /** Files deleted because a gap separates them from the newest files (an interrupted purge). */
  removedStaleSegments: number[];
}

interface Segment {
  readonly seq: number;
  readonly path: string;
  readonly handle: FileHandle;
  sizeBytes: number;
  /** Reads in progress on this file. */
  pins: number;
  /** Unlinked by a purge; the handle is closed once `pins` drops to 0. */
  deleted: boolean;
}

type QueueItem =
  | {
      kind: 'write';
      bytes: Uint8Array;
      ops: LogOp[];
      sync: boolean;
      resolve: (bytes: number) => void;
      reject: (e: unknown) => void;
    }
  | { kind: 'purge'; resolve: (regions: bigint[]) => void; reject: (e: unknown) => void };

const EMPTY = new Uint8Array(0);
/** Entries whose bytes are closer than this in one file are fetched with one read. */
const READ_COALESCE_GAP_BYTES = 64 * 1024;
const RECOVERY_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * raft-log-engine: a {@link RaftEngine} over append-only, checksummed segment files, doing all
 * I/O through an injected {@link FileSystem} (see the package README for the format and the
 * recovery, group-commit, purge and memory rules).
 *
 * Concurrency: any number of callers may call any method concurrently. Writes are applied in
 * call order by one writer loop; synced writes that arrive while an fsync is running are carried
 * together by the next write and fdatasync (group commit).
 */
export class RaftLogEngine implements RaftEngine {
  readonly #fs: FileSystem;
  readonly #dir: string;
  readonly #targetFileSizeBytes: number;
  readonly #maxGroupBytes: number;
  readonly #purgeAfterRotation: boolean;
  readonly #mem: MemTable;
  readonly #segments: Segment[];
  readonly #bySeq = new Map<number, Segment>();
  #active: Segment;
  /** The active file holds writes not yet fdatasync'ed. */
  #dirty = false;
  #queue: QueueItem[] = [];
  #draining: Promise<void> | undefined;
  #needsPurge = false;
  #closing = false;
  #closed: Promise<void> | undefined;
  #failure: unknown = undefined;
  #readers = 0;
  #readersIdle: (() => void) | undefined;
  /** What recovery found when this engine was opened. */
  readonly recovery: RecoveryReport;

  private constructor(
    fs: FileSystem,
    config: Required<RaftLogEngineConfig>,
    mem: MemTable,
    segments: Segment[],
    recovery: RecoveryReport,
  ) {
    this.#fs = fs;
    this.#dir = config.dir;
    this.#targetFileSizeBytes = config.targetFileSizeBytes;
    this.#maxGroupBytes = config.maxGroupBytes;
    this.#purgeAfterRotation = config.purgeAfterRotation;
    this.#mem = mem;
    this.#segments = segments;
    for (const s of segments) this.#bySeq.set(s.seq, s);
    const active = segments[segments.length - 1];
    if (active === undefined) throw new Error('Invariant violated: an engine has at least one segment');
    this.#active = active;
    this.recovery = recovery;
  }

  /**
   * Opens (creating when missing) the engine in `config.dir`: replays every intact record of the
   * segment files in order and cuts a torn tail off the last file (see {@link RecoveryMode}).
   * @throws RaftEngineCorruptionError when a file other than the last is damaged, or when
   *   `recoveryMode` is `absolute-consistency` and the last one is
   * @throws RangeError on an invalid configuration
   */
  static async open(fs: FileSystem, config: RaftLogEngineConfig): Promise<RaftLogEngine> {
    const cfg: Required<RaftLogEngineConfig> = { ...RAFT_LOG_ENGINE_DEFAULTS, ...config };
    for (const key of ['targetFileSizeBytes', 'maxGroupBytes'] as const) {
      if (!Number.isSafeInteger(cfg[key]) || cfg[key] <= 0) throw new RangeError(`${key} ${cfg[key]} is not a positive integer`);
    }
    if (!Number.isSafeInteger(cfg.cacheLimitBytes) || cfg.cacheLimitBytes < 0) {
      throw new RangeError(`cacheLimitBytes ${cfg.cacheLimitBytes} is not a non-negative integer`);
    }
    if (cfg.recoveryMode !== 'tolerate-tail-corruption' && cfg.recoveryMode !== 'absolute-consistency') {
      throw new RangeError(`Unknown recoveryMode ${String(cfg.recoveryMode)}`);
    }
    const dir = cfg.dir.replace(/\/+$/, '') || '/';
    cfg.dir = dir;
    // A new directory is durable only once its parent is synced: sync every created level.
    const missing: string[] = [];
    for (let d = dir; !(await fs.exists(d)); d = parentDir(d)) {
      missing.push(d);
      if (parentDir(d) === d) break;
    }
    if (missing.length > 0) {
      await fs.mkdir(dir);
      for (const d of missing.reverse()) await fs.syncDir(parentDir(d));
    }

    const seqs = (await fs.readdir(dir))
      .map(parseSegmentFileName)
      .filter((s): s is number => s !== undefined)
      .sort((a, b) => a - b);
    // Live files form one run of consecutive numbers ending at the newest. Files before a gap are
    // left over from a purge that a crash interrupted: their data is dead, and replaying them
    // without the files in the gap could resurrect removed entries.
    let start = seqs.length - 1;
    while (start > 0 && seqs[start - 1] === (seqs[start] as number) - 1) start--;
    const stale = start > 0 ? seqs.slice(0, start) : [];
    const live = seqs.slice(Math.max(0, start));
    for (const seq of stale) await fs.unlink(joinPath(dir, segmentFileName(seq)));
    if (stale.length > 0) await fs.syncDir(dir);

    const mem = new MemTable(cfg.cacheLimitBytes);
    const segments: Segment[] = [];
    const report: RecoveryReport = { segments: [...live], records: 0, truncatedBytes: 0, removedStaleSegments: stale };
    try {
      for (let i = 0; i < live.length; i++) {
        const seq = live[i] as number;
        const path = joinPath(dir, segmentFileName(seq));
        const handle = await fs.open(path);
        const segment: Segment = { seq, path, handle, sizeBytes: 0, pins: 0, deleted: false };
        segments.push(segment);
        const size = await handle.size();
        const scan = await scanSegment(handle, size, seq, path, mem);
        report.records += scan.records;
        if (scan.error === undefined) {
          segment.sizeBytes = size;
          continue;
        }
        const isLast = i === live.length - 1;
        if (!isLast || cfg.recoveryMode === 'absolute-consistency') {
          throw new RaftEngineCorruptionError(
            `Raft log file ${path} is corrupt at offset ${scan.validEnd}: ${scan.error}` +
              (isLast ? ' (recoveryMode absolute-consistency)' : '; it is not the last file, so this is not a torn write'),
            path,
          );
        }
        // A torn tail: the unsynced end of the newest file. Cut it and make the cut durable.
        report.truncatedBytes = size - scan.validEnd;
        if (scan.validEnd < FILE_HEADER_BYTES) {
          await handle.truncate(0);
          await handle.write(0, encodeFileHeader());
          segment.sizeBytes = FILE_HEADER_BYTES;
        } else {
          await handle.truncate(scan.validEnd);
          segment.sizeBytes = scan.validEnd;
        }
        await handle.sync();
      }
      if (segments.length === 0) {
        segments.push(await createSegment(fs, dir, 1));
      }
    } catch (e: unknown) {
      for (const s of segments) await s.handle.close();
      throw e;
    }
    return new RaftLogEngine(fs, cfg, mem, segments, report);
  }

  /** @inheritDoc */
  logBatch(): RaftLogEngineBatch {
    return new RaftLogEngineBatch();
  }

  /** @inheritDoc */
  write(batch: RaftLogBatch, options: RaftWriteOptions = {}): Promise<number> {
    try {
      this.#ensureOpen();
    } catch (e: unknown) {
      return Promise.reject(e);
    }
    if (!(batch instanceof RaftLogEngineBatch)) {
      return Promise.reject(new TypeError('The batch was not made by RaftLogEngine.logBatch()'));
    }
    const sync = options.sync === true;
    if (batch.isEmpty() && !sync) return Promise.resolve(0);
    const record = batch.isEmpty() ? { bytes: EMPTY, ops: [] } : encodeRecord(batch.pendingOps(), batch.persistSizeBytes());
    return this.#enqueueWrite(record.bytes, record.ops, sync);
  }

  #enqueueWrite(bytes: Uint8Array, ops: LogOp[], sync: boolean): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.#queue.push({ kind: 'write', bytes, ops, sync, resolve, reject });
      this.#kick();
    });
  }

  /**
   * {@inheritDoc RaftEngine.purgeExpiredFiles}
   *
   * Deletes every segment file that no region needs any more (see README "Purge"). Raft states
   * kept only by old files are first rewritten into the active file (synced), so states never
   * pin files; entries do.
   * @returns ids of regions whose entries keep the oldest non-active file alive (callers may
   *   compact those logs so that it can go), ascending
   */
  purgeExpiredFiles(): Promise<bigint[]> {
    try {
      this.#ensureOpen();
    } catch (e: unknown) {
      return Promise.reject(e);
    }
    return new Promise<bigint[]>((resolve, reject) => {
      this.#queue.push({ kind: 'purge', resolve, reject });
      this.#kick();
    });
  }

  #kick(): void {
    if (this.#draining === undefined) this.#draining = this.#drain();
  }

  /** The single writer loop. Never rejects: failures go to the waiting callers. */
  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0 && this.#failure === undefined) {
        const head = this.#queue[0] as QueueItem;
        if (head.kind === 'purge') {
          this.#queue.shift();
          try {
            head.resolve(await this.#purge());
          } catch (e: unknown) {
            this.#fail(e);
            head.reject(this.#closedError());
          }
          continue;
        }
        const group: Extract<QueueItem, { kind: 'write' }>[] = [];
        let bytes = 0;
        for (;;) {
          const next = this.#queue[0];
          if (next === undefined || next.kind !== 'write') break;
          if (group.length > 0 && bytes + next.bytes.length > this.#maxGroupBytes) break;
          group.push(next);
          bytes += next.bytes.length;
          this.#queue.shift();
        }
        try {
          await this.#writeGroup(group);
        } catch (e: unknown) {
          this.#fail(e);
          for (const item of group) item.reject(this.#closedError());
          break;
        }
        for (const item of group) item.resolve(item.bytes.length);
        if (this.#needsPurge) {
          this.#needsPurge = false;
          try {
            await this.#purge();
          } catch (e: unknown) {
            this.#fail(e);
          }
        }
      }
      if (this.#failure !== undefined) {
        const rest = this.#queue;
        this.#queue = [];
        for (const item of rest) item.reject(this.#closedError());
      }
    } finally {
      this.#draining = undefined;
    }
  }

  /** Writes a group of records with one write call and at most one fdatasync, then indexes them. */
  async #writeGroup(group: readonly { bytes: Uint8Array; ops: LogOp[]; sync: boolean }[]): Promise<void> {
    let total = 0;
    let sync = false;
    for (const item of group) {
      total += item.bytes.length;
      sync ||= item.sync;
    }
    if (total > 0) {
      const seg0 = this.#active;
      if (seg0.sizeBytes >= this.#targetFileSizeBytes || (seg0.sizeBytes > FILE_HEADER_BYTES && seg0.sizeBytes + total > this.#targetFileSizeBytes)) {
        await this.#rotate();
      }
    }
    const seg = this.#active;
    const start = seg.sizeBytes;
    if (total > 0) {
      let buf: Uint8Array;
      if (group.length === 1) {
        buf = (group[0] as { bytes: Uint8Array }).bytes;
      } else {
        buf = new Uint8Array(total);
        let at = 0;
        for (const item of group) {
          buf.set(item.bytes, at);
          at += item.bytes.length;
        }
      }
      await seg.handle.write(start, buf);
      this.#dirty = true;
      seg.sizeBytes = start + total;
    }
    if (sync && this.#dirty) {
      await seg.handle.datasync();
      this.#dirty = false;
    }
    let at = start;
    for (const item of group) {
      if (item.bytes.length === 0) continue;
      this.#mem.apply(item.ops, seg.seq, at + RECORD_HEADER_BYTES);
      at += item.bytes.length;
    }
  }

  /** Seals the active file (synced, so only the newest file can ever have a torn tail) and starts the next. */
  async #rotate(): Promise<void> {
    const old = this.#active;
    if (this.#dirty) {
      await old.handle.datasync();
      this.#dirty = false;
    }
    const seg = await createSegment(this.#fs, this.#dir, old.seq + 1);
    this.#segments.push(seg);
    this.#bySeq.set(seg.seq, seg);
    this.#active = seg;
    this.#dirty = true; // its header is not synced yet
    if (this.#purgeAfterRotation) this.#needsPurge = true;
  }

  /** Runs inside the writer loop. */
  async #purge(): Promise<bigint[]> {
    const activeSeq = this.#active.seq;
    const oldest = this.#segments[0] as Segment;
    const minEntrySeq = Math.min(this.#mem.minEntrySeq() ?? activeSeq, activeSeq);
    if (oldest.seq < minEntrySeq) {
      // States living in files that entries no longer pin are written again into the active
      // file, so those files can go.
      const ops: PendingOp[] = [];
      for (const r of this.#mem.regions.values()) {
        if (r.state !== undefined && r.stateSeq < minEntrySeq) {
          ops.push({ kind: 'putState', regionId: r.regionId, state: cloneState(r.state) });
        }
      }
      if (ops.length > 0) {
        const record = encodeRecord(ops, ops.length * STATE_OP_BYTES);
        await this.#writeGroup([{ bytes: record.bytes, ops: record.ops, sync: true }]);
      }
    }
    const keepFrom = Math.min(this.#mem.minLiveSeq() ?? this.#active.seq, this.#active.seq);
    const doomed = this.#segments.filter((s) => s.seq < keepFrom);
    if (doomed.length > 0) {
      // The ops that made these files dead must be durable before the files disappear.
      if (this.#dirty) {
        await this.#active.handle.datasync();
        this.#dirty = false;
      }
      for (const s of doomed) {
        await this.#fs.unlink(s.path);
        s.deleted = true;
        this.#bySeq.delete(s.seq);
        this.#segments.shift();
        if (s.pins === 0) await s.handle.close();
      }
      await this.#fs.syncDir(this.#dir);
    }
    const first = this.#segments[0] as Segment;
    if (first.seq === this.#active.seq) return [];
    const pinning: bigint[] = [];
    for (const r of this.#mem.regions.values()) {
      if (r.slots[0]?.seq === first.seq) pinning.push(r.regionId);
    }
    return pinning.sort(compareBigint);
  }

  #fail(e: unknown): void {
    if (this.#failure === undefined) this.#failure = e;
  }

  #closedError(): RaftEngineClosedError {
    return this.#failure === undefined
      ? new RaftEngineClosedError()
      : new RaftEngineClosedError('Raft engine stopped after an I/O error', { cause: this.#failure });
  }

  #ensureOpen(): void {
    if (this.#closing || this.#failure !== undefined) throw this.#closedError();
  }

  /** @inheritDoc */
  async fetchEntriesTo(regionId: bigint, range: FetchEntriesRange): Promise<RaftEntry[]> {
    this.#ensureOpen();
    const { low, high, maxSizeBytes } = range;
    if (low > high) throw new RangeError(`Invalid range [${low}, ${high}) for region ${regionId}`);
    const r = this.#mem.region(regionId);
    const first = r?.firstIndex;
    const last = r?.lastIndex;
    if (r === undefined || first === undefined || last === undefined) {
      const compactedTo = r?.compactedTo ?? 0n;
      if (low < compactedTo) throw new EntryCompactedError(regionId, low, compactedTo);
      if (high > low) throw new EntryUnavailableError(regionId, high - 1n, undefined);
      return [];
    }
    if (low < first) throw new EntryCompactedError(regionId, low, first);
    if (high > last + 1n) throw new EntryUnavailableError(regionId, high - 1n, last);
    if (low === high) return [];
    const from = Number(low - first);
    const to = Number(high - first);
    const picked: EntrySlot[] = [];
    let size = 0;
    for (let i = from; i < to; i++) {
      const slot = r.slots[i] as EntrySlot;
      size += slot.length;
      if (picked.length > 0 && maxSizeBytes !== undefined && size > maxSizeBytes) break;
      picked.push(slot);
    }
    return this.#readSlots(regionId, picked);
  }

  /** @inheritDoc */
  async getEntry(regionId: bigint, index: bigint): Promise<RaftEntry | undefined> {
    this.#ensureOpen();
    const slot = this.#mem.region(regionId)?.slot(index);
    if (slot === undefined) return undefined;
    const [entry] = await this.#readSlots(regionId, [slot]);
    return entry;
  }

  /** Entries of `slots` (taken synchronously by the caller), from the cache or the files. */
  async #readSlots(regionId: bigint, slots: readonly EntrySlot[]): Promise<RaftEntry[]> {
    const out: (RaftEntry | undefined)[] = slots.map((s) => s.cached);
    // Runs of uncached slots in one file, close together, are fetched with one read.
    const runs: { seg: Segment; from: number; to: number }[] = [];
    for (let i = 0; i < slots.length; i++) {
      if (out[i] !== undefined) continue;
      const slot = slots[i] as EntrySlot;
      const prevRun = runs[runs.length - 1];
      const prevSlot = prevRun === undefined ? undefined : (slots[prevRun.to - 1] as EntrySlot);
      if (
        prevRun !== undefined &&
        prevSlot !== undefined &&
        prevRun.to === i &&
        prevSlot.seq === slot.seq &&
        slot.offset >= prevSlot.offset + prevSlot.length &&
        slot.offset - (prevSlot.offset + prevSlot.length) <= READ_COALESCE_GAP_BYTES
      ) {
        prevRun.to = i + 1;
        continue;
      }
      const seg = this.#bySeq.get(slot.seq);
      if (seg === undefined) throw new Error(`Invariant violated: segment ${slot.seq} of entry ${slot.index} of region ${regionId} is gone`);
      runs.push({ seg, from: i, to: i + 1 });
    }
    if (runs.length === 0) return out as RaftEntry[];
    for (const run of runs) run.seg.pins++;
    this.#readers++;
    try {
      await Promise.all(
        runs.map(async (run) => {
          const firstSlot = slots[run.from] as EntrySlot;
          const lastSlot = slots[run.to - 1] as EntrySlot;
          const start = firstSlot.offset;
          const length = lastSlot.offset + lastSlot.length - start;
          const data = await run.seg.handle.read(start, length);
          if (data.length < length) {
            throw new RaftEngineCorruptionError(
              `Raft log file ${run.seg.path} ends before entry ${lastSlot.index} of region ${regionId} (offset ${lastSlot.offset})`,
              run.seg.path,
            );
          }
          for (let i = run.from; i < run.to; i++) {
            const slot = slots[i] as EntrySlot;
            out[i] = decodeEntry(data.subarray(slot.offset - start, slot.offset - start + slot.length), slot, regionId, run.seg.path);
          }
        }),
      );
    } finally {
      this.#readers--;
      for (const run of runs) {
        run.seg.pins--;
        if (run.seg.deleted && run.seg.pins === 0) await run.seg.handle.close();
      }
      if (this.#readers === 0) this.#readersIdle?.();
    }
    return out as RaftEntry[];
  }

  /** @inheritDoc */
  async firstIndex(regionId: bigint): Promise<bigint | undefined> {
    this.#ensureOpen();
    return this.#mem.region(regionId)?.firstIndex;
  }

  /** @inheritDoc */
  async lastIndex(regionId: bigint): Promise<bigint | undefined> {
    this.#ensureOpen();
    return this.#mem.region(regionId)?.lastIndex;
  }

  /** @inheritDoc */
  async getRaftState(regionId: bigint): Promise<RaftLocalState | undefined> {
    this.#ensureOpen();
    const state = this.#mem.region(regionId)?.state;
    return state === undefined ? undefined : cloneState(state);
  }

  /** @inheritDoc */
  async compactTo(regionId: bigint, index: bigint): Promise<void> {
    const batch = this.logBatch();
    batch.compactTo(regionId, index);
    await this.write(batch);
  }

  /** @inheritDoc */
  async sync(): Promise<void> {
    this.#ensureOpen();
    await this.#enqueueWrite(EMPTY, [], true);
  }

  /** @inheritDoc Sum of the sizes of the segment files. */
  async approximateSizeBytes(): Promise<number> {
    this.#ensureOpen();
    let total = 0;
    for (const s of this.#segments) total += s.sizeBytes;
    return total;
  }

  /** @inheritDoc */
  async regionIds(): Promise<bigint[]> {
    this.#ensureOpen();
    const ids: bigint[] = [];
    for (const r of this.#mem.regions.values()) if (!r.isEmpty) ids.push(r.regionId);
    return ids.sort(compareBigint);
  }

  /** Number of segment files in use (tests, metrics). */
  segmentCount(): number {
    return this.#segments.length;
  }

  /** Bytes of decoded entries held by the cache; never above `cacheLimitBytes` (tests, metrics). */
  cachedBytes(): number {
    return this.#mem.cachedBytes;
  }

  /** @inheritDoc */
  close(): Promise<void> {
    if (this.#closed === undefined) {
      this.#closing = true;
      this.#closed = this.#shutdown();
    }
    return this.#closed;
  }

  async #shutdown(): Promise<void> {
    while (this.#draining !== undefined) await this.#draining;
    if (this.#readers > 0) {
      await new Promise<void>((resolve) => {
        this.#readersIdle = resolve;
      });
    }
    // Every handle is closed even when one fails; the first failure is reported.
    const errors: unknown[] = [];
    for (const s of this.#segments) {
      try {
        await s.handle.close();
      } catch (e: unknown) {
        errors.push(e);
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}

async function createSegment(fs: FileSystem, dir: string, seq: number): Promise<Segment> {
  const path = joinPath(dir, segmentFileName(seq));
  const handle = await fs.open(path, { create: true, truncate: true });
  await handle.write(0, encodeFileHeader());
  await fs.syncDir(dir);
  return { seq, path, handle, sizeBytes: FILE_HEADER_BYTES, pins: 0, deleted: false };
}

interface ScanResult {
  records: number;
  /** End of the last intact record (0 when even the file header is bad). */
  validEnd: number;
  /** Why scanning stopped early; undefined when the whole file is intact. */
  error: string | undefined;
}

/** Replays the intact records of one segment into `mem`, reading the file in large chunks. */
async function scanSegment(handle: FileHandle, size: number, seq: number, path: string, mem: MemTable): Promise<ScanResult> {
  let buf: Uint8Array = new Uint8Array(0);
  let bufStart = 0;
  const view = async (pos: number, length: number): Promise<Uint8Array> => {
    if (pos >= bufStart && pos + length <= bufStart + buf.length) return buf.subarray(pos - bufStart, pos - bufStart + length);
    buf = await handle.read(pos, Math.min(Math.max(length, RECOVERY_CHUNK_BYTES), size - pos));
    bufStart = pos;
    return buf.subarray(0, length);
  };
  if (size < FILE_HEADER_BYTES || !isValidFileHeader(await view(0, FILE_HEADER_BYTES))) {
    return { records: 0, validEnd: 0, error: size < FILE_HEADER_BYTES ? 'file header is incomplete' : 'bad file header' };
  }
  let pos = FILE_HEADER_BYTES;
  let records = 0;
  while (pos < size) {
    const head = await view(pos, Math.min(RECORD_HEADER_BYTES, size - pos));
    const check = checkRecordHeader(head, size - pos);
    if (!check.ok) return { records, validEnd: pos, error: check.reason };
    const record = await view(pos, RECORD_HEADER_BYTES + check.payloadLength);
    if (!checkRecordCrc(record)) return { records, validEnd: pos, error: 'record checksum mismatch' };
    let ops: LogOp[];
    try {
      ops = decodePayload(record.subarray(RECORD_HEADER_BYTES));
    } catch (e: unknown) {
      // The checksum matched, so these bytes are what was written: a bug or a format mismatch,
      // never a torn write.
      throw new RaftEngineCorruptionError(`Raft log file ${path} has an undecodable record at offset ${pos}`, path, { cause: e });
    }
    mem.apply(ops, seq, pos + RECORD_HEADER_BYTES);
    records++;
    pos += RECORD_HEADER_BYTES + check.payloadLength;
  }
  return { records, validEnd: pos, error: undefined };
}

function decodeEntry(bytes: Uint8Array, slot: EntrySlot, regionId: bigint, path: string): RaftEntry {
  let entry: RaftEntry;
  try {
    entry = eraftpb.Entry.decode(bytes);
  } catch (e: unknown) {
    throw new RaftEngineCorruptionError(`Entry ${slot.index} of region ${regionId} in ${path} at offset ${slot.offset} cannot be decoded`, path, { cause: e });
  }
  if (entry.index !== slot.index || entry.term !== slot.term) {
    throw new RaftEngineCorruptionError(
      `Entry at offset ${slot.offset} of ${path} is ${entry.index}/${entry.term}, expected index ${slot.index} term ${slot.term} of region ${regionId}`,
      path,
    );
  }
  return entry;
}

function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

function parentDir(dir: string): string {
  const cut = dir.lastIndexOf('/');
  if (cut < 0) return '.';
  return cut === 0 ? '/' : dir.slice(0, cut);
}

function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
