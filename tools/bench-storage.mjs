#!/usr/bin/env node
// Benchmark of storage's transactional path (a script, not a test; ARCHITECTURE.md "Testing").
//
// On engine-rocks, in one run, with C concurrent clients, measures:
//   - prewrite+commit pairs per second through Storage (one key per transaction, 2PC), against
//     the engine alone doing the same two write batches per transaction (a lock put, then a write
//     put + lock delete) straight on the KvEngine with the same sync setting;
//   - point gets per second through Storage.get (lock check, one seek in CF write, short value),
//     against KvEngine.get of the same number of keys;
//   - each also against a second ceiling: the same engine reads and batches storage issues
//     (snapshot, lock get, bounded seek...), done directly, which isolates storage's own cost;
// and prints each rate with its ratio to the engine-alone ceiling. Then the same on engine-memory.
//
// Usage: npx nx run-many -t build -p @tikv-ts/storage @tikv-ts/engine-memory @tikv-ts/engine-rocks && node tools/bench-storage.mjs
// Env: BENCH_SECONDS (per phase, default 2), BENCH_CLIENTS (default 64), BENCH_KEYS (default 20000),
//      BENCH_SYNC (1: fsync every engine batch; default 0), BENCH_ROUNDS (default 3), BENCH_DIR (rocks dir parent, default os.tmpdir()).
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const root = new URL('..', import.meta.url).pathname;
let storage, memory, rocks, codec, utilNode;
try {
  storage = require(join(root, 'packages/storage/dist/index.js'));
  memory = require(join(root, 'packages/engine-memory/dist/index.js'));
  rocks = require(join(root, 'packages/engine-rocks/dist/index.js'));
  codec = require(join(root, 'packages/codec/dist/index.js'));
  utilNode = require(join(root, 'packages/util/dist/node/index.js'));
} catch (e) {
  console.error('Build first: npx nx run-many -t build -p @tikv-ts/storage @tikv-ts/engine-memory @tikv-ts/engine-rocks\n', e);
  process.exit(1);
}

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 64);
const KEYS = Number(process.env.BENCH_KEYS ?? 20_000);
const SYNC = process.env.BENCH_SYNC === '1';
// Phases alternate engine-alone and storage rounds and keep each side's best, to damp the noise
// of a shared machine.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);


const VALUE = Buffer.alloc(64, 0x61);

let tsCounter = 0n;
// TSO-shaped timestamps: physical ms << 18 | logical.
const nextTs = () => (1_700_000_000_000n << 18n) + ++tsCounter;
const userKey = (i) => Buffer.from(`user-key-${String(i).padStart(8, '0')}`);

async function timed(fn) {
  let ops = 0;
  const deadline = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      let i = c;
      while (performance.now() < deadline) {
        await fn(i);
        i += CLIENTS;
        ops++;
      }
    }),
  );
  return ops / SECONDS;
}

function report(name, value, ceilingName, ceiling) {
  console.log(
    `${name.padEnd(40)} ${value.toFixed(0).padStart(9)} ops/s   ${ceilingName.padEnd(34)} ${ceiling.toFixed(0).padStart(9)} ops/s   ratio ${(value / ceiling).toFixed(2)}`,
  );
}

async function benchOne(label, kv) {
  console.log(`\n== ${label} (clients ${CLIENTS}, ${SECONDS}s per phase, sync ${SYNC}) ==`);
  const engine = new storage.LocalEngine(kv, { sync: SYNC });
  const s = new storage.Storage({ engine, clock: new utilNode.SystemClock() });
  const ctx = {};
  const data = (b) => Buffer.concat([Buffer.from('z'), b]);

  // Ceiling for writes: the two batches of a 2PC transaction, straight on the engine.
  const lockBytes = Buffer.alloc(40, 1);
  const writeBytes = Buffer.alloc(80, 2);
  let engineTxn = 0;
  let txn = 0;
  let round = 0;
  for (let r = 0; r < ROUNDS; r++) {
  round++;
  engineTxn = Math.max(engineTxn, await timed(async (i) => {
    const enc = codec.Key.fromRaw(Buffer.from(`ceiling-${round}-${i}`));
    const ts = nextTs();
    const b1 = kv.writeBatch();
    b1.put('lock', data(enc.asEncoded()), lockBytes);
    await b1.write({ sync: SYNC });
    const b2 = kv.writeBatch();
    b2.put('write', data(enc.appendTs(ts).asEncoded()), writeBytes);
    b2.delete('lock', data(enc.asEncoded()));
    await b2.write({ sync: SYNC });
  }));
  // Fresh keys for storage so that earlier engine-only records do not interfere.
  txn = Math.max(txn, await timed(async (i) => {
    const key = Buffer.from(`txn-${round}-${i}`);
    const startTs = nextTs();
    const r = await s.prewrite(ctx, { mutations: [{ type: 'put', key, value: VALUE }], primaryLock: key, startVersion: startTs, lockTtl: 3000n });
    if (r.errors.length > 0) throw r.errors[0];
    await s.commit(ctx, { keys: [key], startVersion: startTs, commitVersion: nextTs() });
  }));
  }
  // Second ceiling: the engine operations a 2PC transaction needs, without storage's logic:
  // prewrite = snapshot + lock get + bounded seek in CF write + batch; commit = snapshot + lock get + batch.
  let engineOpsTxn = 0;
  for (let r = 0; r < ROUNDS; r++) {
    round++;
    engineOpsTxn = Math.max(engineOpsTxn, await timed(async (i) => {
      const enc = codec.Key.fromRaw(Buffer.from(`ops-${round}-${i}`));
      const lockKey = data(enc.asEncoded());
      const s1 = kv.snapshot();
      await s1.get('lock', lockKey);
      const it = s1.iterator('write', { lowerBound: lockKey, upperBound: data(codec.keySuccessor(enc.appendTs(0n).asEncoded())) });
      await it.seek(data(enc.appendTs(0xffffffffffffffffn).asEncoded()));
      it.close();
      s1.close();
      const b1 = kv.writeBatch();
      b1.put('lock', lockKey, lockBytes);
      await b1.write({ sync: SYNC });
      const s2 = kv.snapshot();
      await s2.get('lock', lockKey);
      s2.close();
      const b2 = kv.writeBatch();
      b2.put('write', data(enc.appendTs(nextTs()).asEncoded()), writeBytes);
      b2.delete('lock', lockKey);
      await b2.write({ sync: SYNC });
    }));
  }
  report('storage prewrite+commit (1 key)', txn, 'engine: 2 batches per txn', engineTxn);
  report('storage prewrite+commit (1 key)', txn, 'engine: same reads + 2 batches', engineOpsTxn);

  // Load keys for reads through storage (committed versions with short values).
  const commitTsOf = [];
  for (let i = 0; i < KEYS; i += 500) {
    const keys = Array.from({ length: Math.min(500, KEYS - i) }, (_, j) => userKey(i + j));
    const startTs = nextTs();
    const commitTs = nextTs();
    await s.prewrite(ctx, { mutations: keys.map((key) => ({ type: 'put', key, value: VALUE })), primaryLock: keys[0], startVersion: startTs, lockTtl: 3000n });
    await s.commit(ctx, { keys, startVersion: startTs, commitVersion: commitTs });
    for (let j = 0; j < keys.length; j++) commitTsOf.push(commitTs);
  }
  const readTs = nextTs();
  // Ceiling for reads: one engine get of the key's existing commit record.
  let engineGet = 0;
  let get = 0;
  for (let r = 0; r < ROUNDS; r++) {
    engineGet = Math.max(engineGet, await timed(async (i) => {
      const n = (i * 7919) % KEYS;
      const v = await kv.get('write', data(codec.Key.fromRaw(userKey(n)).appendTs(commitTsOf[n]).asEncoded()));
      if (v === undefined) throw new Error('missing record');
    }));
    get = Math.max(get, await timed(async (i) => {
      const res = await s.get(ctx, userKey((i * 7919) % KEYS), readTs);
      if (res.value === undefined) throw new Error('missing key');
    }));
  }
  // Second ceiling: the engine operations storage.get needs (snapshot, lock get, bounded seek, value).
  let engineOpsGet = 0;
  for (let r = 0; r < ROUNDS; r++) {
    engineOpsGet = Math.max(engineOpsGet, await timed(async (i) => {
      const enc = codec.Key.fromRaw(userKey((i * 7919) % KEYS));
      const snap = kv.snapshot();
      await snap.get('lock', data(enc.asEncoded()));
      const it = snap.iterator('write', { lowerBound: data(enc.asEncoded()), upperBound: data(codec.keySuccessor(enc.appendTs(0n).asEncoded())) });
      if (!(await it.seek(data(enc.appendTs(readTs).asEncoded())))) throw new Error('missing record');
      it.close();
      snap.close();
    }));
  }
  report('storage point get', get, 'engine: KvEngine.get', engineGet);
  report('storage point get', get, 'engine: same reads (snap+get+seek)', engineOpsGet);
  return { txn, engineTxn, get, engineGet };
}

const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'bench-storage-'));
try {
  const kv = await rocks.RocksEngine.open({ path: join(dir, 'db') });
  await benchOne('engine-rocks', kv);
  await kv.close();
  const mem = memory.MemoryEngine.open();
  await benchOne('engine-memory', mem);
  await mem.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
