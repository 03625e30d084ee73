import { MemoryEngine } from '@tikv-ts/engine-memory';
import type { WriteOptions } from '@tikv-ts/engine-traits';
import { ManualClock } from '@tikv-ts/util/testing';
import { PdStorage } from './storage';
import { reopenEngine } from './testdata/reopen-engine';
import { composeTso, TSO_MAX_LOGICAL, TsoAllocator } from './tso';
import { PdInvalidValueError } from './errors';

/**
 * Counts the synced writes made through `engine` from now on (puts, deletes, range deletes and
 * batch writes with `sync: true`), by spying on its methods.
 */
function watchSyncedWrites(engine: MemoryEngine): { count(): number } {
  let n = 0;
  const synced = (options?: WriteOptions): void => {
    if (options?.sync === true) n++;
  };
  const put = engine.put.bind(engine);
  jest.spyOn(engine, 'put').mockImplementation((cf, key, value, options) => (synced(options), put(cf, key, value, options)));
  const del = engine.delete.bind(engine);
  jest.spyOn(engine, 'delete').mockImplementation((cf, key, options) => (synced(options), del(cf, key, options)));
  const delRange = engine.deleteRange.bind(engine);
  jest.spyOn(engine, 'deleteRange').mockImplementation((cf, start, end, options) => (synced(options), delRange(cf, start, end, options)));
  const writeBatch = engine.writeBatch.bind(engine);
  jest.spyOn(engine, 'writeBatch').mockImplementation(() => {
    const wb = writeBatch();
    const write = wb.write.bind(wb);
    jest.spyOn(wb, 'write').mockImplementation((options) => (synced(options), write(options)));
    return wb;
  });
  return { count: () => n };
}

async function open(engine: MemoryEngine, clock: ManualClock, saveIntervalMs = 3000): Promise<TsoAllocator> {
  const storage = new PdStorage(engine);
  await storage.saveClusterId(7n);
  const tso = new TsoAllocator(clock, storage, { saveIntervalMs, updateIntervalMs: 50 });
  await tso.initialize();
  return tso;
}

describe('TsoAllocator', () => {
  it('hands out strictly increasing timestamps that follow the wall clock', async () => {
    const clock = new ManualClock();
    const tso = await open(MemoryEngine.open(), clock);
    let last = 0n;
    for (let i = 0; i < 1000; i++) {
      const ts = composeTso(await tso.getTimestamp(1 + (i % 5)));
      expect(ts).toBeGreaterThan(last);
      last = ts;
      if (i % 100 === 0) await clock.advanceAsync(7);
    }
    expect(Number(last >> 18n)).toBe(clock.nowMs());
    tso.close();
  });

  it('returns the largest of count timestamps (the caller owns logical-count+1..logical)', async () => {
    const clock = new ManualClock();
    const tso = await open(MemoryEngine.open(), clock);
    const a = await tso.getTimestamp(10);
    const b = await tso.getTimestamp(5);
    expect(b.physicalMs).toBe(a.physicalMs);
    expect(b.logical).toBe(a.logical + 5);
    expect(a.logical).toBe(10);
    await expect(tso.getTimestamp(0)).rejects.toBeInstanceOf(PdInvalidValueError);
    await expect(tso.getTimestamp(TSO_MAX_LOGICAL)).rejects.toBeInstanceOf(PdInvalidValueError);
    tso.close();
  });

  it('stays increasing when the wall clock stalls or goes back, moving the physical part itself', async () => {
    const clock = new ManualClock();
    const tso = await open(MemoryEngine.open(), clock);
    const start = clock.nowMs();
    let last = composeTso(await tso.getTimestamp());
    clock.setWallMs(start - 60_000); // back by a minute
    for (let i = 0; i < 10; i++) {
      const ts = await tso.getTimestamp(100_000);
      const v = composeTso(ts);
      expect(v).toBeGreaterThan(last);
      expect(ts.logical).toBeLessThan(TSO_MAX_LOGICAL);
      last = v;
    }
    // 10 × 100000 logical values need four milliseconds beyond the start.
    expect(Number(last >> 18n)).toBeGreaterThan(start);
    clock.setWallMs(start + 10_000); // and forward again
    await clock.advanceAsync(100);
    const after = await tso.getTimestamp();
    expect(composeTso(after)).toBeGreaterThan(last);
    expect(after.physicalMs).toBeGreaterThanOrEqual(start + 10_000);
    tso.close();
  });

  it('is larger after a restart than anything handed out before, even when the clock went back', async () => {
    const clock = new ManualClock();
    const engine = MemoryEngine.open();
    let last = 0n;
    let current = engine;
    for (let restart = 0; restart < 5; restart++) {
      const tso = await open(current, clock);
      for (let i = 0; i < 50; i++) {
        const v = composeTso(await tso.getTimestamp(3));
        expect(v).toBeGreaterThan(last);
        last = v;
        await clock.advanceAsync(37);
      }
      tso.close(); // a crash: nothing else is written
      current = await reopenEngine(current);
      clock.setWallMs(clock.nowMs() - 5000); // the new process's clock is behind
    }
  });

  it('costs few synced writes for many requests (one per window)', async () => {
    const clock = new ManualClock();
    const engine = MemoryEngine.open();
    const tso = await open(engine, clock);
    const synced = watchSyncedWrites(engine);
    const before = synced.count();
    // 10 s of virtual time, 1000 requests per 100 ms (10k requests per second).
    for (let step = 0; step < 100; step++) {
      await Promise.all(Array.from({ length: 1000 }, () => tso.getTimestamp(1)));
      await clock.advanceAsync(100);
    }
    const writes = synced.count() - before;
    // 3 s windows renewed at half-life: about one write per 1.5 s of time.
    expect(writes).toBeGreaterThan(0);
    expect(writes).toBeLessThanOrEqual(10);
    tso.close();
  });

  it('keeps increasing inside the persisted window when the wall clock jumps past it, with few writes', async () => {
    const clock = new ManualClock();
    const engine = MemoryEngine.open();
    const tso = await open(engine, clock, 100);
    const synced = watchSyncedWrites(engine);
    const before = synced.count();
    clock.setWallMs(clock.nowMs() + 1_000_000);
    const results = await Promise.all(Array.from({ length: 500 }, () => tso.getTimestamp(1000)));
    const values = results.map(composeTso);
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1] as bigint);
    expect(synced.count() - before).toBeLessThanOrEqual(5);
    for (const r of results) expect(r.physicalMs).toBeLessThan(tso.windowEndMs);
    tso.close();
  });

  it('tryGetTimestamp answers from memory and returns undefined only when the window is used up', async () => {
    const clock = new ManualClock();
    const engine = MemoryEngine.open();
    const tso = await open(engine, clock, 2); // a 2 ms window: two milliseconds of logical space
    const synced = watchSyncedWrites(engine);
    const seen: bigint[] = [];
    let ts = tso.tryGetTimestamp(TSO_MAX_LOGICAL - 1);
    while (ts !== undefined) {
      seen.push(composeTso(ts));
      ts = tso.tryGetTimestamp(TSO_MAX_LOGICAL - 1);
    }
    expect(seen.length).toBe(2);
    const writes = synced.count();
    const after = composeTso(await tso.getTimestamp(TSO_MAX_LOGICAL - 1));
    expect(after).toBeGreaterThan(seen[1] as bigint);
    expect(synced.count()).toBe(writes + 1);
    tso.close();
    expect(() => tso.tryGetTimestamp(1)).toThrow('PD server is closed');
  });
});
