// Deterministic fakes for tests: ManualClock, SimFs, MemoryLogSink, createTestRuntime.
export { ManualClock, MANUAL_CLOCK_DEFAULT_WALL_MS, drainMicrotasks, type ManualClockOptions } from './manual-clock';
export { SimFs, SimFsError, type SimFsOp, type SimFsFaultRule, type SimFsOptions, type SimFsCrashOptions } from './sim-fs';
export { MemoryLogSink } from './memory-log-sink';
export { createTestRuntime, type TestRuntime, type TestRuntimeOptions } from './test-runtime';
