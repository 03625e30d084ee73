// KvEngine held in memory with exactly the semantics of engine-rocks (tests, simulation).
export {};
