// gRPC services (client API, Raft transport, snapshots), the status HTTP server and node bootstrap.
export {};
