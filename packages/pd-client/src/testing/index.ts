// Test helpers (STYLE.md §7): an in-memory PdClient for raftstore/server specs and simulations,
// and the PdClient conformance suite (jest globals: import it only from spec files).
export { TestPdClient, type TestPdClientOptions } from './test-pd-client';
export { runPdClientSuite, type PdClientFactory, type PdClientSuiteOptions } from './pd-client-suite';
