// Test helpers of @tikv-ts/storage: the Engine conformance suite.
export { runEngineSuite, type EngineSuiteOptions, type TestFn } from './engine-suite';
