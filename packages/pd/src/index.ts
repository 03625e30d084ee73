// The Placement Driver as a library: TSO, id allocation, cluster state, scheduling, gRPC and HTTP services.
export {};
