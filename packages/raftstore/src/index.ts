// Multi-Raft: peer, apply and store FSMs, peer storage, split, conf change, snapshots, RaftKv.
export {};
