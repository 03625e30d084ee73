// PD's persistence on the real engines: the same start / write / reopen cycle on engine-memory
// and on engine-rocks (a temp directory), so PdStorage's scans, batches and synced writes are
// checked against implementations that pass the KvEngine conformance suite.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KvEngine } from '@tikv-ts/engine-traits';
import { MemoryEngine, MemoryEngineStore } from '@tikv-ts/engine-memory';
import { RocksEngine } from '@tikv-ts/engine-rocks';
import { metapb, pdpb } from '@tikv-ts/proto';
import { SeededRng } from '@tikv-ts/util';
import { ManualClock } from '@tikv-ts/util/testing';
import { PdServer } from './pd-server';
import { composeTso } from './tso';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

interface EngineKind {
  readonly name: string;
  open(): Promise<KvEngine>;
  cleanup(): void;
}

function memoryKind(): EngineKind {
  const store = new MemoryEngineStore();
  return { name: 'engine-memory', open: () => Promise.resolve(MemoryEngine.open({ store })), cleanup: () => undefined };
}

function rocksKind(): EngineKind {
  const dir = mkdtempSync(join(tmpdir(), 'pd-rocks-spec-'));
  return { name: 'engine-rocks', open: () => RocksEngine.open({ path: join(dir, 'kv') }), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describe.each([['engine-memory', memoryKind], ['engine-rocks', rocksKind]])('PdServer on %s', (_name, makeKind) => {
  it('persists cluster id, ids, TSO window, stores, regions and GC safe points across reopen', async () => {
    const kind = makeKind();
    const clock = new ManualClock();
    try {
      let engine = await kind.open();
      let pd = await PdServer.start({ engine, clock, rng: new SeededRng(5n) });
      const clusterId = pd.clusterId;
      const storeId = await pd.ids.alloc();
      await pd.cluster.bootstrap(
        metapb.Store.fromPartial({ id: storeId, address: '127.0.0.1:20160' }),
        metapb.Region.fromPartial({ id: 100n, regionEpoch: { version: 1n, confVer: 1n }, peers: [{ id: 101n, storeId }] }),
      );
      for (let i = 0; i < 20; i++) {
        await pd.cluster.handleRegionHeartbeat({
          region: metapb.Region.fromPartial({
            id: 200n + BigInt(i),
            startKey: enc(`k${String(i).padStart(2, '0')}`),
            endKey: enc(`k${String(i).padStart(2, '0')}~`),
            regionEpoch: { version: 2n, confVer: 1n },
            peers: [{ id: 300n + BigInt(i), storeId }],
          }),
          leader: undefined,
        });
      }
      await pd.cluster.storeHeartbeat(pdpb.StoreStats.fromPartial({ storeId }));
      await pd.cluster.updateGcSafePoint(77n);
      await pd.cluster.updateServiceSafePoint('cdc', 3600n, 80n);
      const lastTs = composeTso(await pd.tso.getTimestamp(10));
      const lastId = await pd.ids.alloc();
      await pd.close();
      await engine.close();
      clock.setWallMs(clock.nowMs() - 10_000); // the clock went back while PD was down

      engine = await kind.open();
      pd = await PdServer.start({ engine, clock, rng: new SeededRng(6n) });
      try {
        expect(pd.clusterId).toBe(clusterId);
        expect(pd.cluster.isBootstrapped).toBe(true);
        expect(pd.cluster.getStore(storeId).meta.address).toBe('127.0.0.1:20160');
        // The 20 reported regions overlap the bootstrap region (version 1), which they replaced.
        expect(pd.cluster.regionCount).toBe(20);
        expect(pd.cluster.getRegionByKey(enc('k05x')).meta.id).toBe(205n);
        expect(pd.cluster.gcSafePoint).toBe(77n);
        expect(pd.cluster.serviceSafePoints().map((s) => s.serviceId)).toEqual(['cdc']);
        expect(composeTso(await pd.tso.getTimestamp())).toBeGreaterThan(lastTs);
        expect(await pd.ids.alloc()).toBeGreaterThan(lastId);
      } finally {
        await pd.close();
        await engine.close();
      }
    } finally {
      kind.cleanup();
    }
  });
});
