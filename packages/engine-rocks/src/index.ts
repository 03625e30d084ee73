// KvEngine on RocksDB through an npm binding (rocksdb-native).
export { RocksEngine, RocksWriteBatch, RocksSnapshot, RocksIterator } from './rocks-engine';
export {
  DEFAULT_CF_OPTIONS,
  DEFAULT_ROCKS_OPTIONS,
  ROCKS_BLOCK_CACHE_BYTES_PER_CF,
  resolveCfOptions,
  rocksMemoryBoundBytes,
  rocksOptionsFromTikvConfig,
} from './options';
export type { RocksEngineOptions, RocksCfOptions, TikvRocksdbConfig, TikvCfConfig } from './options';
