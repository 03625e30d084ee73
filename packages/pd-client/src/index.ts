// PD gRPC client: TSO batching, region cache, store and region heartbeats.
export {};
