#!/usr/bin/env node
// Benchmark of engine-rocks (a script, not a test). Every figure is printed with its ratio
// against a ceiling measured in the same run:
//   - sync write batches with 1, 16 and 64 concurrent writers vs the disk's raw fdatasync rate
//     (node:fs write + fdatasync of a small record, one at a time, in the same directory);
//   - point gets, multi-gets and scanned keys per second vs rocksdb-native used directly on an
//     identical database (same column family options, same data, same chunk size);
//   - per-request reads as storage does them (a snapshot, then one get, or a bounded iterator
//     seek reading one entry, then close), 64 clients, vs the same through the bare binding.
// Read figures alternate engine/bare rounds (swapping which goes first) and keep each side's
// best, to damp machine noise; the fdatasync ceiling is measured again right before each sync row.
//
// Usage: node tools/bench-engine-rocks.mjs   (after `npx nx run @tikv-ts/engine-rocks:build`)
// Scans use the engine's chunk size (256 entries per native read) on both sides.
// Env: BENCH_DIR (default: os.tmpdir()), BENCH_KEYS (default 200000), BENCH_ROUNDS (default 5),
// BENCH_SNAP_OPS (operations per round of the snapshot rows, default 10000).
import { createRequire } from 'node:module';
import { mkdtempSync, openSync, writeSync, fdatasyncSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'packages/engine-rocks/package.json'));
// BENCH_ENGINE: another build of the package to measure (e.g. an older commit's sources, run with
// `node --conditions=@tikv-ts/source -r packages/engine-rocks/src/testdata/ts-register.cjs`).
const { RocksEngine, resolveCfOptions, DEFAULT_ROCKS_OPTIONS } = require(process.env.BENCH_ENGINE ?? join(root, 'packages/engine-rocks/dist/index.js'));
const RocksDB = require('rocksdb-native');

const KEYS = Number(process.env.BENCH_KEYS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const base = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'bench-engine-rocks-'));
const CFS = ['default', 'lock', 'write', 'raft'];
const CF = 'write';
const VALUE = Buffer.alloc(64, 0x5a);

const now = () => Number(process.hrtime.bigint()) / 1e9;
function key(i) {
  const b = Buffer.alloc(16);
  b.write('z', 0);
  b.writeUInt32BE(i, 12);
  return b;
}
let lcg = 12345;
function rnd(n) {
  lcg = (Math.imul(lcg, 1103515245) + 12345) >>> 0;
  return lcg % n;
}
async function pool(total, concurrency, fn) {
  let i = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (i < total) await fn(i++);
    }),
  );
}
const rows = [];
function report(name, value, unit, ceilingName, ceiling) {
  const ratio = value / ceiling;
  rows.push({ name, value, unit, ceilingName, ceiling, ratio });
  console.log(`${name.padEnd(44)} ${value.toFixed(0).padStart(9)} ${unit.padEnd(10)} ${ceilingName.padEnd(30)} ${ceiling.toFixed(0).padStart(9)}  ratio ${ratio.toFixed(2)}x`);
}

function fdatasyncRate(dir, seconds = 2) {
  const fd = openSync(join(dir, 'fdatasync.bin'), 'w');
  const rec = Buffer.alloc(128, 1);
  let n = 0;
  const t0 = now();
  while (now() - t0 < seconds) {
    writeSync(fd, rec);
    fdatasyncSync(fd);
    n++;
  }
  const rate = n / (now() - t0);
  closeSync(fd);
  return rate;
}

function bareOpen(path) {
  const families = CFS.map((cf) => {
    const o = resolveCfOptions({}, cf);
    return new RocksDB.ColumnFamily(cf, {
      blockCache: o.blockCache,
      writeBufferSize: o.writeBufferSizeBytes,
      maxWriteBufferNumber: o.maxWriteBufferNumber,
      filterPolicy: o.bloomFilterBitsPerKey > 0 ? new RocksDB.BloomFilterPolicy(o.bloomFilterBitsPerKey) : null,
      tableBlockSize: o.blockSizeBytes,
      tableCacheIndexAndFilterBlocks: o.blockCache,
    });
  });
  return new RocksDB(path, {
    columnFamily: families[0],
    columnFamilies: families.slice(1),
    maxBackgroundJobs: DEFAULT_ROCKS_OPTIONS.maxBackgroundJobs,
    maxOpenFiles: DEFAULT_ROCKS_OPTIONS.maxOpenFiles,
  });
}

async function main() {
  console.log(`bench-engine-rocks: ${KEYS} keys, ${ROUNDS} rounds, dir ${base}`);
  console.log(`${'figure'.padEnd(44)} ${'value'.padStart(9)} ${'unit'.padEnd(10)} ${'ceiling'.padEnd(30)} ${'value'.padStart(9)}`);

  // 1. Sync batches vs raw fdatasync.
  const wdb = await RocksEngine.open({ path: join(base, 'sync') });
  for (const writers of [1, 16, 64]) {
    const fsync = fdatasyncRate(base, 1);
    const total = writers === 1 ? 300 : writers * 40;
    let seq = 0;
    const t0 = now();
    await pool(total, writers, async () => {
      const wb = wdb.writeBatch();
      const k = key(seq++);
      wb.put('default', k, VALUE);
      wb.put('write', k, VALUE);
      await wb.write({ sync: true });
    });
    report(`sync batches, ${writers} writer(s)`, total / (now() - t0), 'batches/s', 'raw write+fdatasync', fsync);
  }
  await wdb.close();

  // 2. Identical data in an engine and in a bare binding database.
  const engine = await RocksEngine.open({ path: join(base, 'engine') });
  const bare = bareOpen(join(base, 'bare'));
  await bare.ready();
  const bareCf = bare.columnFamily(CF);
  for (let s = 0; s < KEYS; s += 1000) {
    const wb = engine.writeBatch();
    const bw = bareCf.write({ capacity: 1000 });
    for (let i = s; i < Math.min(KEYS, s + 1000); i++) {
      wb.put(CF, key(i), VALUE);
      bw.tryPut(key(i), VALUE);
    }
    await wb.write();
    await bw.flush();
    bw.destroy();
  }
  await engine.flush();
  await bareCf.flush();

  const GETS = Math.min(KEYS, 50_000);
  const CONC = 64;
  const best = { eg: 0, bg: 0, em: 0, bm: 0, es: 0, bs: 0, er: 0, br: 0, ei: 0, eir: 0, bsf: 0, bsr: 0, esg: 0, bsg: 0, esk: 0, bsk: 0 };
  const SNAP_OPS = Number(process.env.BENCH_SNAP_OPS ?? Math.min(GETS, 10_000));
  const UPPER = Buffer.alloc(16, 0xff);
  const chunk = DEFAULT_ROCKS_OPTIONS.iteratorChunk;
  const M = 100;
  const engineGets = async () => {
    const t0 = now();
    await pool(GETS, CONC, async () => {
      if ((await engine.get(CF, key(rnd(KEYS)))) === undefined) throw new Error('miss');
    });
    best.eg = Math.max(best.eg, GETS / (now() - t0));
  };
  const bareGets = async () => {
    const t0 = now();
    await pool(GETS, CONC, async () => {
      if ((await bareCf.get(key(rnd(KEYS)))) === null) throw new Error('miss');
    });
    best.bg = Math.max(best.bg, GETS / (now() - t0));
  };
  const engineMulti = async () => {
    const t0 = now();
    for (let s = 0; s < GETS; s += M) {
      const ks = Array.from({ length: M }, () => key(rnd(KEYS)));
      await engine.multiGet(CF, ks);
    }
    best.em = Math.max(best.em, GETS / (now() - t0));
  };
  const bareMulti = async () => {
    const t0 = now();
    for (let s = 0; s < GETS; s += M) {
      const r = bareCf.read({ capacity: M });
      const ps = Array.from({ length: M }, () => r.get(key(rnd(KEYS))));
      r.tryFlush();
      await Promise.all(ps);
      r.destroy();
    }
    best.bm = Math.max(best.bm, GETS / (now() - t0));
  };
  const engineScan = (reverse) => async () => {
    const t0 = now();
    const got = await engine.scan(CF, { reverse });
    if (got.length !== KEYS) throw new Error(`scan returned ${got.length}`);
    const rate = got.length / (now() - t0);
    if (reverse) best.er = Math.max(best.er, rate);
    else best.es = Math.max(best.es, rate);
  };
  // Bare scan that returns its entries (the same work as engine.scan, which returns an array).
  const bareScan = (reverse) => async () => {
    const t0 = now();
    const out = [];
    for await (const e of bareCf.iterator({}, { capacity: chunk, reverse })) out.push(e);
    if (out.length !== KEYS) throw new Error(`bare scan returned ${out.length}`);
    const rate = out.length / (now() - t0);
    if (reverse) best.br = Math.max(best.br, rate);
    else best.bs = Math.max(best.bs, rate);
  };
  // Streaming: entries are looked at and dropped.
  const bareStream = (reverse) => async () => {
    const t0 = now();
    let n = 0;
    for await (const _ of bareCf.iterator({}, { capacity: chunk, reverse })) n++;
    if (n !== KEYS) throw new Error(`bare stream returned ${n}`);
    const rate = n / (now() - t0);
    if (reverse) best.bsr = Math.max(best.bsr, rate);
    else best.bsf = Math.max(best.bsf, rate);
  };
  const engineStream = (reverse) => async () => {
    const t0 = now();
    const it = engine.iterator(CF);
    let n = 0;
    await (reverse ? it.seekToLast() : it.seekToFirst());
    for (;;) {
      const part = await (reverse ? it.prevv(1024) : it.nextv(1024));
      if (part.length === 0) break;
      n += part.length;
    }
    it.close();
    if (n !== KEYS) throw new Error(`engine stream returned ${n}`);
    const rate = n / (now() - t0);
    if (reverse) best.eir = Math.max(best.eir, rate);
    else best.ei = Math.max(best.ei, rate);
  };
  // Snapshot + one get (what a raw get or an MVCC point read does per request), 64 clients.
  const engineSnapGet = async () => {
    const t0 = now();
    await pool(SNAP_OPS, CONC, async () => {
      const s = engine.snapshot();
      if ((await s.get(CF, key(rnd(KEYS)))) === undefined) throw new Error('miss');
      s.close();
    });
    best.esg = Math.max(best.esg, SNAP_OPS / (now() - t0));
  };
  const bareSnapGet = async () => {
    const t0 = now();
    await pool(SNAP_OPS, CONC, async () => {
      const s = bareCf.snapshot();
      if ((await s.get(key(rnd(KEYS)))) === null) throw new Error('miss');
      await s.close();
    });
    best.bsg = Math.max(best.bsg, SNAP_OPS / (now() - t0));
  };
  // Snapshot + bounded iterator + seek + read one entry + close, 64 clients.
  const engineSnapSeek = async () => {
    const t0 = now();
    await pool(SNAP_OPS, CONC, async () => {
      const s = engine.snapshot();
      const it = s.iterator(CF, { lowerBound: key(0), upperBound: UPPER });
      if (!(await it.seek(key(rnd(KEYS))))) throw new Error('miss');
      it.key();
      it.value();
      it.close();
      s.close();
    });
    best.esk = Math.max(best.esk, SNAP_OPS / (now() - t0));
  };
  // The cheapest way the binding offers: an iterator reading exactly one entry (limit 1).
  const bareSnapSeek = async () => {
    const t0 = now();
    await pool(SNAP_OPS, CONC, async () => {
      const s = bareCf.snapshot();
      let got = 0;
      for await (const e of s.iterator({ gte: key(rnd(KEYS)), lt: UPPER }, { capacity: 1, limit: 1 })) if (e.value !== null) got++;
      if (got !== 1) throw new Error('miss');
      await s.close();
    });
    best.bsk = Math.max(best.bsk, SNAP_OPS / (now() - t0));
  };
  const pairs = [
    [engineGets, bareGets],
    [engineSnapGet, bareSnapGet],
    [engineSnapSeek, bareSnapSeek],
    [engineMulti, bareMulti],
    [engineScan(false), bareScan(false)],
    [engineScan(true), bareScan(true)],
    [engineStream(false), bareStream(false)],
    [engineStream(true), bareStream(true)],
  ];
  for (let round = 0; round < ROUNDS; round++) {
    for (const [a, b] of pairs) {
      if (round % 2 === 0) {
        await a();
        await b();
      } else {
        await b();
        await a();
      }
    }
  }
  report(`point gets (${CONC} in flight)`, best.eg, 'gets/s', 'rocksdb-native db.get', best.bg);
  report(`snapshot + get (${CONC} clients)`, best.esg, 'ops/s', 'native snapshot + get + close', best.bsg);
  report(`snapshot + get (${CONC} clients)`, best.esg, 'ops/s', 'rocksdb-native db.get', best.bg);
  report(`snapshot + seek + 1 entry (${CONC} clients)`, best.esk, 'ops/s', 'native snapshot + iterator(limit 1)', best.bsk);
  report('multiGet (100 keys per call)', best.em, 'gets/s', 'rocksdb-native read batch', best.bm);
  report(`scan() forward, all entries returned`, best.es, 'keys/s', 'native iterator into an array', best.bs);
  report(`scan() reverse, all entries returned`, best.er, 'keys/s', 'native iterator into an array', best.br);
  report('iterator nextv(1024), streaming', best.ei, 'keys/s', 'native iterator, for await', best.bsf);
  report('iterator prevv(1024), streaming', best.eir, 'keys/s', 'native iterator, for await', best.bsr);
  await engine.close();
  await bare.close();

  const reads = rows.filter((r) => r.unit !== 'batches/s');
  const worst = Math.min(...reads.map((r) => r.ratio));
  console.log(`target: reads through engine-rocks >= 0.8x the bare binding: worst ${worst.toFixed(2)}x -> ${worst >= 0.8 ? 'met' : 'NOT met'}`);
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => rmSync(base, { recursive: true, force: true }));
