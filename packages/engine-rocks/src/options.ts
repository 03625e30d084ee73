import { ALL_CFS } from '@tikv-ts/engine-traits';
import type { CfName } from '@tikv-ts/engine-traits';

/**
 * Size of one column family's block cache when enabled, in bytes. rocksdb-native 3.18.1 can
 * turn a column family's block cache on or off but not size it: RocksDB then makes its default
 * LRU cache of 32 MiB for that column family (read from RocksDB's LOG of this build).
 */
export const ROCKS_BLOCK_CACHE_BYTES_PER_CF = 32 * 1024 * 1024;

/** Options of one column family. */
export interface RocksCfOptions {
  /** Give the column family its own 32 MiB block cache (index and filter blocks live in it too). */
  readonly blockCache?: boolean;
  /** Size of one memtable, bytes. */
  readonly writeBufferSizeBytes?: number;
  /** Memtables kept in memory at most (the active one plus those waiting for flush). */
  readonly maxWriteBufferNumber?: number;
  /** Bloom filter bits per key; 0 turns the filter off. */
  readonly bloomFilterBitsPerKey?: number;
  /** Size of a data block in SST files, bytes. */
  readonly blockSizeBytes?: number;
}

/** Options of {@link RocksEngine.open}. Absent fields take the small-machine defaults below. */
export interface RocksEngineOptions {
  /** Directory of the database (created when missing). */
  readonly path: string;
  /** Per column family options; each field falls back to {@link DEFAULT_CF_OPTIONS} of that CF. */
  readonly cfs?: Partial<Readonly<Record<CfName, RocksCfOptions>>>;
  /** Background flush and compaction threads. */
  readonly maxBackgroundJobs?: number;
  /** Open SST files kept at most (-1: unlimited). */
  readonly maxOpenFiles?: number;
  /**
   * Refuse to open when {@link rocksMemoryBoundBytes} of the resolved options exceeds this many
   * bytes. Absent: no check.
   */
  readonly memoryLimitBytes?: number;
  /** Entries fetched per native iterator read (scans and iterators). */
  readonly iteratorChunk?: number;
}

const MiB = 1024 * 1024;

/**
 * Small-machine defaults per column family (about 80 MiB in all): block caches for the two CFs
 * that hold user data (`default`, `write`), 4 MiB memtables everywhere, 10-bit bloom filters.
 */
export const DEFAULT_CF_OPTIONS: Readonly<Record<CfName, Required<RocksCfOptions>>> = Object.freeze({
  default: { blockCache: true, writeBufferSizeBytes: 4 * MiB, maxWriteBufferNumber: 2, bloomFilterBitsPerKey: 10, blockSizeBytes: 8192 },
  write: { blockCache: true, writeBufferSizeBytes: 4 * MiB, maxWriteBufferNumber: 2, bloomFilterBitsPerKey: 10, blockSizeBytes: 8192 },
  lock: { blockCache: false, writeBufferSizeBytes: 2 * MiB, maxWriteBufferNumber: 2, bloomFilterBitsPerKey: 10, blockSizeBytes: 4096 },
  raft: { blockCache: false, writeBufferSizeBytes: 2 * MiB, maxWriteBufferNumber: 2, bloomFilterBitsPerKey: 10, blockSizeBytes: 4096 },
});

/** Engine-wide defaults. */
export const DEFAULT_ROCKS_OPTIONS = Object.freeze({ maxBackgroundJobs: 2, maxOpenFiles: 512, iteratorChunk: 256 });

/** The options of `cf` with defaults filled in. */
export function resolveCfOptions(options: Pick<RocksEngineOptions, 'cfs'>, cf: CfName): Required<RocksCfOptions> {
  const given = options.cfs?.[cf] ?? {};
  const d = DEFAULT_CF_OPTIONS[cf];
  return {
    blockCache: given.blockCache ?? d.blockCache,
    writeBufferSizeBytes: given.writeBufferSizeBytes ?? d.writeBufferSizeBytes,
    maxWriteBufferNumber: given.maxWriteBufferNumber ?? d.maxWriteBufferNumber,
    bloomFilterBitsPerKey: given.bloomFilterBitsPerKey ?? d.bloomFilterBitsPerKey,
    blockSizeBytes: given.blockSizeBytes ?? d.blockSizeBytes,
  };
}

/**
 * The memory the engine may use for data, in bytes: block caches plus every memtable it may
 * hold (`writeBufferSizeBytes * maxWriteBufferNumber` per CF). Index and filter blocks are
 * charged to the block cache (or read per lookup when a CF has none). Not counted: blocks pinned
 * by open iterators and snapshots' memtables, and RocksDB's fixed overhead (a few MiB).
 */
export function rocksMemoryBoundBytes(options: Pick<RocksEngineOptions, 'cfs'>): number {
  let total = 0;
  for (const cf of ALL_CFS) {
    const o = resolveCfOptions(options, cf);
    total += (o.blockCache ? ROCKS_BLOCK_CACHE_BYTES_PER_CF : 0) + o.writeBufferSizeBytes * o.maxWriteBufferNumber;
  }
  return total;
}
