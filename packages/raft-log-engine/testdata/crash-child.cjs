'use strict';
// Child process of src/process-crash.spec.ts: writes synced batches through the BUILT package
// (dist) on the real file system and prints `ack <id>` after each batch is acknowledged, until
// the parent kills it with SIGKILL.
//   node crash-child.cjs <dir> <firstBatchId> <writers> <targetFileSizeBytes>
// Batch k appends one entry (data "b<k>:<padding>") and puts the Raft state to two regions,
// regionsOf(k), so that a partly visible batch shows up as an entry in one region only or as a
// state that disagrees with the log.
const { RaftLogEngine } = require('../dist/index.js');
const { NodeFileSystem } = require('@tikv-ts/util/node');

const REGIONS = 5;
const PADDING = 'x'.repeat(300);

function regionsOf(k) {
  return [BigInt((k % REGIONS) + 1), BigInt(((k + 2) % REGIONS) + 1)];
}

async function main() {
  const [dir, firstId, writers, targetFileSizeBytes] = process.argv.slice(2);
  const engine = await RaftLogEngine.open(new NodeFileSystem(), { dir, targetFileSizeBytes: Number(targetFileSizeBytes) });
  const next = new Map();
  for (let r = 1n; r <= BigInt(REGIONS); r++) next.set(r, ((await engine.lastIndex(r)) ?? 0n) + 1n);
  let id = Number(firstId);
  process.stdout.write('ready\n');
  async function writer() {
    for (;;) {
      const k = id++;
      const batch = engine.logBatch();
      for (const r of regionsOf(k)) {
        const index = next.get(r);
        next.set(r, index + 1n);
        const data = Buffer.from(`b${k}:${PADDING}`);
        batch.append(r, [{ entryType: 0, term: 1n, index, data, context: Buffer.alloc(0), syncLog: false }]);
        batch.putRaftState(r, { hardState: { term: 1n, vote: 1n, commit: index }, lastIndex: index });
      }
      await engine.write(batch, { sync: true });
      // Pipes are synchronous on Linux: once this returns the line is in the kernel.
      process.stdout.write(`ack ${k}\n`);
    }
  }
  await Promise.all(Array.from({ length: Number(writers) }, writer));
}

main().catch((e) => {
  process.stderr.write(`${e && e.stack ? e.stack : String(e)}\n`);
  process.exit(1);
});
