// Storage facade: transaction scheduler, latches, Percolator commands, MVCC, raw KV, GC.
export {};
