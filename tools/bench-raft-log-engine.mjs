#!/usr/bin/env node
// Benchmark of raft-log-engine's synced writes (a script, not a test; ARCHITECTURE.md "Testing").
//
// Measures, in one run and on one directory:
//   1. the ceiling: the disk's raw single-writer rate of (append 1 record + fdatasync), with
//      node:fs directly;
//   2. synced batch throughput of RaftLogEngine (NodeFileSystem) with 1, 16 and 64 concurrent
//      writers, each writer appending one entry per batch to its own region and awaiting
//      write(batch, { sync: true }) before the next;
// and prints each rate as a ratio of the ceiling. Target (issue 3): 64 writers >= 5x the ceiling
// (group commit carries many batches on one fdatasync).
//
// Usage: npx nx build @tikv-ts/raft-log-engine && node tools/bench-raft-log-engine.mjs
// Env: BENCH_SECONDS (per phase, default 3), BENCH_ROUNDS (default 2), BENCH_DIR (default: a new dir under os.tmpdir();
//      use a directory on the disk you care about, not a tmpfs), BENCH_ENTRY_BYTES (default 256).
import { mkdtemp, open, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const root = new URL('..', import.meta.url).pathname;
let engineModule;
let utilNode;
try {
  engineModule = require(join(root, 'packages/raft-log-engine/dist/index.js'));
  utilNode = require(join(root, 'packages/util/dist/node/index.js'));
} catch (e) {
  console.error('Build first: npx nx build @tikv-ts/raft-log-engine\n', e);
  process.exit(1);
}
const { RaftLogEngine } = engineModule;
const { NodeFileSystem } = utilNode;

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ENTRY_BYTES = Number(process.env.BENCH_ENTRY_BYTES ?? 256);
const TARGET_RATIO = 5;

async function rawFdatasyncRate(dir) {
  const fh = await open(join(dir, 'raw-fdatasync.bin'), 'w+');
  const buf = Buffer.alloc(ENTRY_BYTES + 40, 7);
  let pos = 0;
  let n = 0;
  const end = performance.now() + SECONDS * 1000;
  const start = performance.now();
  while (performance.now() < end) {
    await fh.write(buf, 0, buf.length, pos);
    pos += buf.length;
    await fh.datasync();
    n++;
  }
  const elapsed = (performance.now() - start) / 1000;
  await fh.close();
  return n / elapsed;
}

async function engineRate(dir, tag, writers) {
  const engine = await RaftLogEngine.open(new NodeFileSystem(), { dir: join(dir, `engine-${tag}-${writers}`) });
  const data = Buffer.alloc(ENTRY_BYTES, 1);
  const context = Buffer.alloc(0);
  let batches = 0;
  let stop = false;
  const start = performance.now();
  const timer = setTimeout(() => {
    stop = true;
  }, SECONDS * 1000);
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const region = BigInt(w + 1);
      let index = 1n;
      while (!stop) {
        const batch = engine.logBatch();
        batch.append(region, [{ entryType: 0, term: 1n, index, data, context, syncLog: false }]);
        batch.putRaftState(region, { hardState: { term: 1n, vote: 1n, commit: index }, lastIndex: index });
        await engine.write(batch, { sync: true });
        index++;
        batches++;
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  clearTimeout(timer);
  await engine.close();
  return batches / elapsed;
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const dir = process.env.BENCH_DIR ?? (await mkdtemp(join(tmpdir(), 'bench-raft-log-engine-')));
try {
  console.log(
    `raft-log-engine synced-write benchmark: ${ROUNDS} round(s) of ${SECONDS}s phases, ${ENTRY_BYTES}-byte entries, dir ${dir}`,
  );
  // Phases are interleaved and repeated; each figure is the best of its rounds, and the ceiling
  // is the best raw rate seen, so that a noisy machine understates rather than overstates ratios.
  const best = { raw: 0, 1: 0, 16: 0, 64: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    const raw = await rawFdatasyncRate(dir);
    best.raw = Math.max(best.raw, raw);
    const line = [`round ${round + 1}: raw ${raw.toFixed(0)}/s`];
    for (const writers of [1, 16, 64]) {
      const rate = await engineRate(dir, `${round}`, writers);
      best[writers] = Math.max(best[writers], rate);
      line.push(`${writers}w ${rate.toFixed(0)}/s`);
    }
    console.log(line.join(', '));
  }
  console.log(`ceiling  raw write+fdatasync, 1 writer : ${best.raw.toFixed(0).padStart(8)} /s  (1.00x)`);
  for (const writers of [1, 16, 64]) {
    const rate = best[writers];
    console.log(
      `engine   synced batches, ${String(writers).padStart(2)} writer(s): ${rate.toFixed(0).padStart(8)} /s  (${(rate / best.raw).toFixed(2)}x of ceiling)`,
    );
  }
  const ratio64 = best[64] / best.raw;
  console.log(`target   64 writers >= ${TARGET_RATIO}x ceiling: ${ratio64 >= TARGET_RATIO ? 'MET' : 'NOT MET'} (${ratio64.toFixed(2)}x)`);
} finally {
  if (process.env.BENCH_DIR === undefined) await rm(dir, { recursive: true, force: true });
}
