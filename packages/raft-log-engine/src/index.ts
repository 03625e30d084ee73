// RaftEngine: append-only, checksummed segment files for Raft entries and states.
export {};
