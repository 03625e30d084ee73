// Deterministic fakes for tests: ManualClock, SimFs.
export {};
