// Storage facade: transaction scheduler, latches, Percolator commands, MVCC, raw KV, GC.
export type {
  Engine,
  EngineContext,
  EngineSnapshot,
  EngineWriteOptions,
  Modify,
  PutModify,
  DeleteModify,
  DeleteRangeModify,
} from './engine';
export { modifiesSize } from './engine';
export { LocalEngine, type LocalEngineOptions } from './local-engine';
// Raw KV lives in ./raw (owned by the raw-KV work); re-exported here once src/raw/index.ts exists:
// export * from './raw';
