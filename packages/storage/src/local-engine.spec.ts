import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryEngine } from '@tikv-ts/engine-memory';
import { EngineClosedError } from '@tikv-ts/engine-traits';
import { RocksEngine } from '@tikv-ts/engine-rocks';
import { LocalEngine } from './local-engine';
import { runEngineSuite } from './testing';

describe('LocalEngine on engine-memory', () => {
  runEngineSuite(
    {
      factory: () => {
        const kv = MemoryEngine.open();
        return Promise.resolve({ engine: new LocalEngine(kv), cleanup: () => kv.close() });
      },
    },
    it,
  );

  it('stores user keys under the z data prefix and group-commits concurrent writes', async () => {
    const kv = MemoryEngine.open();
    const engine = new LocalEngine(kv);
    const writes = [];
    for (let i = 0; i < 50; i++) {
      writes.push(engine.write({}, [{ type: 'put', cf: 'default', key: Uint8Array.of(i), value: Uint8Array.of(i) }]));
    }
    await Promise.all(writes);
    expect(engine.batchesWritten).toBeLessThan(50);
    expect(await kv.get('default', Uint8Array.of(0x7a, 7))).toEqual(Uint8Array.of(7));
    expect(await kv.get('default', Uint8Array.of(7))).toBeUndefined();
    await kv.close();
  });

  it('rejects every queued write when the engine fails, and keeps working for later writes', async () => {
    const kv = MemoryEngine.open();
    const engine = new LocalEngine(kv);
    await kv.close();
    const put = (i: number) => engine.write({}, [{ type: 'put', cf: 'default', key: Uint8Array.of(i), value: Uint8Array.of(i) }]);
    const results = await Promise.allSettled([put(1), put(2), put(3)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    await expect(put(4)).rejects.toBeInstanceOf(EngineClosedError);
  });
});

describe('LocalEngine on engine-rocks', () => {
  const root = mkdtempSync(join(tmpdir(), 'storage-local-engine-'));
  let n = 0;
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  runEngineSuite(
    {
      factory: async () => {
        const kv = await RocksEngine.open({ path: join(root, `db-${n++}`) });
        return { engine: new LocalEngine(kv), cleanup: () => kv.close() };
      },
    },
    it,
  );
});
