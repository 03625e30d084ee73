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
  /**
   * Block compression. Only `'none'`: the prebuilt RocksDB of rocksdb-native 3.18.1 is compiled
   * without compression libraries (its LOG reports snappy, lz4, zstd, zlib and bzip2 unsupported),
   * so `RocksEngine.open` rejects any other value instead of silently ignoring it.
   */
  readonly compression?: 'none';
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
 * Small-machine defaults per column family (88 MiB in all, see rocksMemoryBoundBytes): block caches for the two CFs
 * that hold user data (`default`, `write`), 4 MiB memtables everywhere, 10-bit bloom filters.
 */
export const DEFAULT_CF_OPTIONS: Readonly<Record<CfName, Required<RocksCfOptions>>> = Object.freeze({
  default: { blockCache: true, writeBufferSizeBytes: 4 * MiB, maxWriteBufferNumber: 2, bloomFilterBitsPerKey: 10, blockSizeBytes: 8192, compression: 'none' },
  write: { blockCache: true, writeBufferSizeBytes: 4 * MiB, maxWriteBufferNumber: 2, bloomFilterBitsPerKey: 10, blockSizeBytes: 8192, compression: 'none' },
  lock: { blockCache: false, writeBufferSizeBytes: 2 * MiB, maxWriteBufferNumber: 2, bloomFilterBitsPerKey: 10, blockSizeBytes: 4096, compression: 'none' },
  raft: { blockCache: false, writeBufferSizeBytes: 2 * MiB, maxWriteBufferNumber: 2, bloomFilterBitsPerKey: 10, blockSizeBytes: 4096, compression: 'none' },
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
    compression: given.compression ?? d.compression,
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

/** A TiKV-style column family section (`[rocksdb.defaultcf]` and siblings), sizes already in bytes. */
export interface TikvCfConfig {
  readonly 'block-cache'?: boolean;
  readonly 'write-buffer-size'?: number;
  readonly 'max-write-buffer-number'?: number;
  readonly 'bloom-filter-bits-per-key'?: number;
  readonly 'block-size'?: number;
  /** TiKV's per-level list; every level must be `"no"` with this binding (see `RocksCfOptions.compression`). */
  readonly 'compression-per-level'?: readonly string[];
}

/** A TiKV-style `[rocksdb]` section, sizes already in bytes, plus our `memory-limit`. */
export interface TikvRocksdbConfig {
  readonly 'max-background-jobs'?: number;
  readonly 'max-open-files'?: number;
  readonly 'memory-limit'?: number;
  readonly defaultcf?: TikvCfConfig;
  readonly writecf?: TikvCfConfig;
  readonly lockcf?: TikvCfConfig;
  readonly raftcf?: TikvCfConfig;
}

function cfFromTikv(c: TikvCfConfig | undefined, name: string): RocksCfOptions {
  if (c === undefined) return {};
  const levels = c['compression-per-level'];
  if (levels !== undefined && levels.some((l) => l !== 'no')) {
    throw new RangeError(`rocksdb.${name}.compression-per-level must be "no" for every level: this RocksDB build has no compression, got ${JSON.stringify(levels)}`);
  }
  return {
    ...(c['block-cache'] === undefined ? {} : { blockCache: c['block-cache'] }),
    ...(c['write-buffer-size'] === undefined ? {} : { writeBufferSizeBytes: c['write-buffer-size'] }),
    ...(c['max-write-buffer-number'] === undefined ? {} : { maxWriteBufferNumber: c['max-write-buffer-number'] }),
    ...(c['bloom-filter-bits-per-key'] === undefined ? {} : { bloomFilterBitsPerKey: c['bloom-filter-bits-per-key'] }),
    ...(c['block-size'] === undefined ? {} : { blockSizeBytes: c['block-size'] }),
    ...(levels === undefined ? {} : { compression: 'none' as const }),
  };
}

/**
 * Engine options from a TiKV-style `[rocksdb]` config section (TiKV's key names; sizes must
 * already be numbers of bytes, as the config loader produces them).
 *
 * @throws RangeError on a compression the binding cannot do
 */
export function rocksOptionsFromTikvConfig(path: string, config: TikvRocksdbConfig = {}): RocksEngineOptions {
  return {
    path,
    cfs: {
      default: cfFromTikv(config.defaultcf, 'defaultcf'),
      write: cfFromTikv(config.writecf, 'writecf'),
      lock: cfFromTikv(config.lockcf, 'lockcf'),
      raft: cfFromTikv(config.raftcf, 'raftcf'),
    },
    ...(config['max-background-jobs'] === undefined ? {} : { maxBackgroundJobs: config['max-background-jobs'] }),
    ...(config['max-open-files'] === undefined ? {} : { maxOpenFiles: config['max-open-files'] }),
    ...(config['memory-limit'] === undefined ? {} : { memoryLimitBytes: config['memory-limit'] }),
  };
}
