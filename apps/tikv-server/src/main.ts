// The tikv-server process: parses flags and config and composes a store.
export {};
