// KvEngine held in memory with exactly the semantics of engine-rocks (tests, simulation).
export { MemoryEngine, MemoryEngineStore, MemoryWriteBatch, MemorySnapshot, MemoryIterator } from './memory-engine';
export type { MemoryEngineOptions } from './memory-engine';
