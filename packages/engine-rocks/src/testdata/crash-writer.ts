// Child process of crash.spec.ts: writes synced batches into a RocksEngine forever and prints
// `ack <n>` after batch n is acknowledged; the parent kills it with SIGKILL.
//
// Batch n puts `batchKeys(n)` (keys in every column family) and nothing else, so after a crash
// each batch is either completely present or completely absent.
// Usage: crash-writer.ts <dir> <seed> <firstBatch> <writers>
import { RocksEngine } from '../rocks-engine';
import { batchKeys } from './crash-batches';

const [dir, seedArg, firstArg, writersArg] = process.argv.slice(2);
if (dir === undefined || seedArg === undefined || firstArg === undefined || writersArg === undefined) {
  throw new Error('usage: crash-writer.ts <dir> <seed> <firstBatch> <writers>');
}
let state = Number(seedArg) >>> 0 || 1;
function rnd(): number {
  // xorshift32: the payload sizes only need to vary, deterministically per seed.
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 4294967296;
}

async function main(): Promise<void> {
  // Small memtables so that memtable switches (and with them WAL file switches) happen often.
  const small = { writeBufferSizeBytes: 64 * 1024, maxWriteBufferNumber: 2 };
  const engine = await RocksEngine.open({ path: dir as string, cfs: { default: small, write: small, lock: small, raft: small } });
  let next = Number(firstArg);
  process.stdout.write('ready\n');
  const writer = async (): Promise<void> => {
    for (;;) {
      const n = next++;
      const wb = engine.writeBatch();
      for (const { cf, key } of batchKeys(n)) {
        const value = Buffer.alloc(16 + Math.floor(rnd() * 4096), n & 0xff);
        value.writeUInt32BE(n, 0);
        wb.put(cf, key, value);
      }
      await wb.write({ sync: true });
      process.stdout.write(`ack ${n}\n`);
    }
  };
  await Promise.all(Array.from({ length: Number(writersArg) }, () => writer()));
}

main().catch((e: unknown) => {
  process.stderr.write(`crash-writer failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(2);
});
