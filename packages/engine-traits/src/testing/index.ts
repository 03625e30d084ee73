// Conformance suites for the engine interfaces (STYLE.md §7). They use jest globals: import them
// only from spec files.
export { runKvEngineSuite } from './kv-engine-suite';
export type { KvEngineFactory, KvEngineSuiteOptions, KvEngineSuiteSupports } from './kv-engine-suite';
export { runRaftEngineSuite } from './raft-engine-suite';
export type { RaftEngineFactory, RaftEngineSuiteOptions, RaftEngineSuiteSupports } from './raft-engine-suite';
