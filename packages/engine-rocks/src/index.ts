// KvEngine on RocksDB through an npm binding.
export {};
