// Storage engine interfaces: KvEngine, Snapshot, WriteBatch, EngineIterator, column family names, RaftEngine.
export {};
