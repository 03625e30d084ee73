import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALL_CFS } from '@tikv-ts/engine-traits';
import { RocksEngine } from './rocks-engine';
import { batchKeys, batchOf } from './testdata/crash-batches';

// Crash safety (issue 3, item 6): a child process writes synced batches and reports each one
// acknowledged; it is killed with SIGKILL at seeded random moments (after a seeded number of
// acknowledgements, with more batches in flight); after reopening, every acknowledged batch is
// there and no batch is partly visible. CRASH_SEED and CRASH_ROUNDS override the defaults.
const SEED = Number(process.env['CRASH_SEED'] ?? '20261128');
const ROUNDS = Number(process.env['CRASH_ROUNDS'] ?? '20');
const WRITERS = 4;

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

interface RoundResult {
  acked: Set<number>;
  exitSignal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the writer until it has acknowledged `killAfter` batches, then SIGKILLs it. */
function runWriter(dir: string, seed: number, first: number, killAfter: number): Promise<RoundResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@tikv-ts/source', '-r', join(__dirname, 'testdata', 'ts-register.cjs'), join(__dirname, 'testdata', 'crash-writer.ts'), dir, String(seed), String(first), String(WRITERS)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const acked = new Set<number>();
    let stderr = '';
    let pending = '';
    let killed = false;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      stderr += d;
    });
    child.stdout.on('data', (d: string) => {
      pending += d;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (killed) continue;
        const m = /^ack (\d+)$/.exec(line);
        if (m !== null) acked.add(Number(m[1]));
        if (acked.size >= killAfter) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => resolve({ acked, exitSignal: signal, stderr }));
  });
}

describe('RocksEngine crash safety (SIGKILL during synced writes)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'engine-rocks-crash-'));

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it(`keeps every acknowledged batch and never shows part of one (${ROUNDS} rounds, CRASH_SEED=${SEED})`, async () => {
    console.log(`engine-rocks crash test: CRASH_SEED=${SEED} CRASH_ROUNDS=${ROUNDS}`);
    const rnd = prng(SEED);
    const everAcked = new Set<number>();
    let next = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const killAfter = 1 + Math.floor(rnd() * 40);
      const r = await runWriter(dir, Math.floor(rnd() * 2 ** 31), next, killAfter);
      const where = `CRASH_SEED=${SEED} round ${round} (kill after ${killAfter} acks)`;
      if (r.exitSignal !== 'SIGKILL') throw new Error(`${where}: the writer exited by itself (${r.exitSignal}): ${r.stderr}`);
      for (const n of r.acked) everAcked.add(n);

      const engine = await RocksEngine.open({ path: dir });
      try {
        const perBatch = new Map<number, number>();
        for (const cf of ALL_CFS) {
          for (const { key, value } of await engine.scan(cf)) {
            const n = batchOf(key);
            if (value.length < 16 || Buffer.from(value).readUInt32BE(0) !== n) throw new Error(`${where}: bad value for ${Buffer.from(key).toString()}`);
            perBatch.set(n, (perBatch.get(n) ?? 0) + 1);
          }
        }
        const full = batchKeys(0).length;
        for (const [n, count] of perBatch) {
          if (count !== full) throw new Error(`${where}: batch ${n} is partly visible (${count} of ${full} keys)`);
        }
        for (const n of everAcked) {
          if (!perBatch.has(n)) throw new Error(`${where}: acknowledged batch ${n} is lost`);
        }
        next = Math.max(next, ...perBatch.keys(), ...everAcked) + 1;
      } finally {
        await engine.close();
      }
    }
    expect(everAcked.size).toBeGreaterThanOrEqual(ROUNDS);
  }, 180_000);
});
