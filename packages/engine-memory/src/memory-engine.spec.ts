import { runKvEngineSuite } from '@tikv-ts/engine-traits/testing';
import type { KvEngine } from '@tikv-ts/engine-traits';
import { MemoryEngine } from './memory-engine';

describe('MemoryEngine conformance', () => {
  runKvEngineSuite({
    factory: {
      create: () => Promise.resolve(MemoryEngine.open()),
      reopen: (closed: KvEngine) => Promise.resolve(MemoryEngine.open({ store: (closed as MemoryEngine).store })),
    },
    supports: { reopen: true },
  });
});

describe('MemoryEngine conformance with tiny B+tree nodes (splits and empty-node removal)', () => {
  runKvEngineSuite({
    factory: {
      create: () => Promise.resolve(MemoryEngine.open({ nodeCapacity: 4 })),
      reopen: (closed: KvEngine) => Promise.resolve(MemoryEngine.open({ store: (closed as MemoryEngine).store, nodeCapacity: 4 })),
    },
    supports: { reopen: true },
    seed: 7,
  });
});

describe('MemoryEngine', () => {
  it('refuses to open a store that another engine has open', async () => {
    const a = MemoryEngine.open();
    expect(() => MemoryEngine.open({ store: a.store })).toThrow(/already open/);
    await a.close();
    const b = MemoryEngine.open({ store: a.store });
    await b.close();
  });
});
