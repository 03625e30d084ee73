#!/usr/bin/env node
// Benchmark of storage's RawStore (a script, not a test; ARCHITECTURE.md "Testing").
//
// For each engine (engine-memory, engine-rocks), in one run, measures with C concurrent clients:
//   - ceilings: LocalEngine.write of one put per call (what RawStore.put costs without its checks
//     and latches), snapshot + get + close through LocalEngine (what RawStore.get costs), and two
//     such reads then a write (what a client's get + RawStore.compareAndSwap costs);
//   - RawStore.put (distinct keys per client), RawStore.get, RawStore.compareAndSwap on distinct
//     keys, and on one hot key shared by every client (latched: serialized);
// and prints ops/s and each rate as a ratio of its ceiling.
//
// Usage: npx nx run-many -t build -p @tikv-ts/storage @tikv-ts/engine-memory @tikv-ts/engine-rocks && node tools/bench-raw.mjs
// Env: BENCH_SECONDS (per phase, default 2), BENCH_CLIENTS (default 64), BENCH_VALUE_BYTES (default 100),
//      BENCH_SYNC (1: fsync each engine batch on engine-rocks; default 0), BENCH_DIR (rocks dir parent, default os.tmpdir()).
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const root = new URL('..', import.meta.url).pathname;
let storage, memory, rocks, utilNode;
try {
  storage = require(join(root, 'packages/storage/dist/index.js'));
  memory = require(join(root, 'packages/engine-memory/dist/index.js'));
  rocks = require(join(root, 'packages/engine-rocks/dist/index.js'));
  utilNode = require(join(root, 'packages/util/dist/node/index.js'));
} catch (e) {
  console.error('Build first: npx nx run-many -t build -p @tikv-ts/storage @tikv-ts/engine-memory @tikv-ts/engine-rocks\n', e);
  process.exit(1);
}
const { LocalEngine, RawStore } = storage;

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 64);
const VALUE_BYTES = Number(process.env.BENCH_VALUE_BYTES ?? 100);
const SYNC = process.env.BENCH_SYNC === '1';

const value = Buffer.alloc(VALUE_BYTES, 0x61);
const keyOf = (c, i) => Buffer.from(`bench-${String(c).padStart(4, '0')}-${String(i % 1000).padStart(6, '0')}`);

async function rate(name, body) {
  let ops = 0;
  const start = performance.now();
  const end = start + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      for (let i = 0; performance.now() < end; i++) {
        await body(c, i);
        ops++;
        // engine-memory settles in microtasks only: let the event loop turn now and then.
        if (i % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
      }
    }),
  );
  const perSec = ops / ((performance.now() - start) / 1000);
  return { name, perSec };
}

function print(engineName, results, ceilings) {
  console.log(`\n${engineName} (${CLIENTS} clients, ${VALUE_BYTES}-byte values, ${SECONDS}s per phase${engineName === 'engine-rocks' ? `, sync=${SYNC}` : ''})`);
  for (const r of results) {
    const ceiling = ceilings[r.ceiling];
    const ratio = ceiling === undefined ? '' : `  ${(r.perSec / ceiling.perSec).toFixed(2)}x of ${ceiling.name}`;
    console.log(`  ${r.name.padEnd(34)} ${Math.round(r.perSec).toString().padStart(9)} ops/s${ratio}`);
  }
}

async function benchEngine(engineName, kv) {
  const engine = new LocalEngine(kv, { sync: SYNC });
  const raw = new RawStore({ engine, clock: new utilNode.SystemClock() });
  const ctx = {};
  const ceilings = {
    write: await rate('LocalEngine.write(put)', (c, i) => engine.write(ctx, [{ type: 'put', cf: 'default', key: keyOf(c, i), value }])),
    read: await rate('LocalEngine snapshot+get', async (c, i) => {
      const snap = await engine.snapshot(ctx);
      try {
        await snap.get('default', keyOf(c, i));
      } finally {
        snap.close();
      }
    }),
    rmw: await rate('LocalEngine get+get+write', async (c, i) => {
      for (let n = 0; n < 2; n++) {
        const snap = await engine.snapshot(ctx);
        try {
          await snap.get('default', keyOf(c, i));
        } finally {
          snap.close();
        }
      }
      await engine.write(ctx, [{ type: 'put', cf: 'default', key: keyOf(c, i), value }]);
    }),
  };
  const results = [
    { ...ceilings.write },
    { ...ceilings.read },
    { ...ceilings.rmw },
    { ...(await rate('RawStore.put', (c, i) => raw.put(ctx, { key: keyOf(c, i), value }))), ceiling: 'write' },
    { ...(await rate('RawStore.get', (c, i) => raw.get(ctx, { key: keyOf(c, i) }))), ceiling: 'read' },
    {
      ...(await rate('RawStore.compareAndSwap (own keys)', async (c, i) => {
        const key = keyOf(c, i);
        const cur = await raw.get(ctx, { key });
        await raw.compareAndSwap(ctx, cur === undefined ? { key, value, previousNotExist: true } : { key, value, previousValue: cur });
      })),
      ceiling: 'rmw',
    },
    {
      ...(await rate('RawStore.compareAndSwap (1 hot key)', async () => {
        const key = Buffer.from('hot');
        const cur = await raw.get(ctx, { key });
        await raw.compareAndSwap(ctx, cur === undefined ? { key, value, previousNotExist: true } : { key, value, previousValue: cur });
      })),
      ceiling: 'rmw',
    },
  ];
  print(engineName, results, ceilings);
}

const mem = memory.MemoryEngine.open();
await benchEngine('engine-memory', mem);
await mem.close();

const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'bench-raw-'));
try {
  const kv = await rocks.RocksEngine.open({ path: join(dir, 'db') });
  await benchEngine('engine-rocks', kv);
  await kv.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
