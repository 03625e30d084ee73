import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALL_CFS } from '@tikv-ts/engine-traits';
import type { Snapshot } from '@tikv-ts/engine-traits';
import { RocksEngine } from './rocks-engine';

// Snapshot sharing (RocksEngine.takeNativeSnap): snapshots taken with no write in between share
// one RocksDB snapshot; this must be indistinguishable from one snapshot per call. SNAP_SEED
// overrides the seed of the interleaving test.
const SEED = Number(process.env['SNAP_SEED'] ?? '20261128');

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COUNTER = new TextEncoder().encode('c');
const num = (i: number): Uint8Array => new TextEncoder().encode(String(i));
const dataKey = (i: number): Uint8Array => new TextEncoder().encode(`k${String(i).padStart(6, '0')}`);
const decode = (v: Uint8Array | undefined): number => (v === undefined ? 0 : Number(new TextDecoder().decode(v)));
/** The engine's internal count of RocksDB snapshots taken (stripped from the public declarations). */
const taken = (e: RocksEngine): number => (e as unknown as { nativeSnapshotsTaken: number }).nativeSnapshotsTaken;
const yieldToIo = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const root = mkdtempSync(join(tmpdir(), 'engine-rocks-sharing-'));
let n = 0;
const open = (): Promise<RocksEngine> => RocksEngine.open({ path: join(root, `db-${n++}`), iteratorChunk: 8 });

afterAll(() => rmSync(root, { recursive: true, force: true }));

/**
 * Checks a snapshot taken when writes 1..lo had resolved and 1..hi had been called: write i sets
 * the counter of every CF to i and adds data key i to every CF, so the snapshot must show one
 * write count v with lo <= v <= hi, the same in every CF, through gets and iterators.
 */
async function checkView(s: Snapshot, lo: number, hi: number, context: string): Promise<void> {
  const counters = await Promise.all(ALL_CFS.map(async (cf) => decode(await s.get(cf, COUNTER))));
  const v = counters[0] as number;
  expect({ context, counters }).toEqual({ context, counters: ALL_CFS.map(() => v) });
  if (v < lo || v > hi) throw new Error(`${context}: snapshot shows ${v} writes, expected between ${lo} and ${hi}`);
  for (const cf of ALL_CFS) {
    const it = s.iterator(cf, { lowerBound: dataKey(0), upperBound: dataKey(1_000_000) });
    let count = 0;
    if (await it.seekToFirst()) {
      for (;;) {
        const part = await it.nextv(5);
        if (part.length === 0) break;
        count += part.length;
      }
    }
    const last = (await it.seekToLast()) ? decode(it.value()) : 0;
    it.close();
    expect({ context, cf, count, last }).toEqual({ context, cf, count: v, last: v });
  }
  s.close();
}

describe('snapshot sharing', () => {
  it('shares one RocksDB snapshot between snapshots and iterators taken with no write in between', async () => {
    const e = await open();
    const base = taken(e);
    const a = e.snapshot();
    const b = e.snapshot();
    const it = e.iterator('write');
    expect(taken(e)).toBe(base + 1);
    await e.put('write', COUNTER, num(1));
    const c = e.snapshot();
    expect(taken(e)).toBe(base + 2);
    // While a write is in flight every snapshot is a fresh one.
    const pending = e.put('write', COUNTER, num(2));
    const d1 = e.snapshot();
    const d2 = e.snapshot();
    expect(taken(e)).toBe(base + 4);
    await pending;
    expect(decode(await a.get('write', COUNTER))).toBe(0);
    expect(decode(await b.get('write', COUNTER))).toBe(0);
    expect(await it.seekToFirst()).toBe(false);
    expect(decode(await c.get('write', COUNTER))).toBe(1);
    expect([1, 2]).toContain(decode(await d1.get('write', COUNTER)));
    expect([1, 2]).toContain(decode(await d2.get('write', COUNTER)));
    const f = e.snapshot();
    expect(decode(await f.get('write', COUNTER))).toBe(2);
    // Closing one holder of a shared snapshot leaves the others working, also across a write.
    a.close();
    await e.put('write', COUNTER, num(3));
    expect(decode(await b.get('write', COUNTER))).toBe(0);
    b.close();
    expect(await it.seekToFirst()).toBe(false);
    it.close();
    for (const s of [c, d1, d2, f]) s.close();
    await e.close();
  });

  it(`snapshots interleaved with seeded writes see exactly the acknowledged state (SNAP_SEED=${SEED})`, async () => {
    const e = await open();
    const rnd = prng(SEED);
    let called = 0;
    let acked = 0;
    const writes: Promise<void>[] = [];
    const checks: Promise<void>[] = [];
    for (let step = 0; step < 600; step++) {
      const r = rnd();
      if (r < 0.3) {
        const i = ++called;
        const wb = e.writeBatch();
        for (const cf of ALL_CFS) {
          wb.put(cf, COUNTER, num(i));
          wb.put(cf, dataKey(i), num(i));
        }
        writes.push(
          wb.write({ sync: rnd() < 0.1 }).then(() => {
            acked = i;
          }),
        );
      } else if (r < 0.75) {
        checks.push(checkView(e.snapshot(), acked, called, `SNAP_SEED=${SEED} step ${step}`));
      } else if (r < 0.85) {
        await Promise.resolve();
      } else if (r < 0.95) {
        await yieldToIo();
      } else {
        await Promise.all(writes);
      }
    }
    await Promise.all(writes);
    await Promise.all(checks);
    await checkView(e.snapshot(), called, called, `SNAP_SEED=${SEED} end`);
    // Some snapshots were shared and some were not (the test exercised both paths).
    expect(taken(e)).toBeGreaterThan(1);
    expect(taken(e)).toBeLessThan(checks.length);
    await e.close();
  }, 60_000);
});
