/**
 * Crash safety with real processes and the real file system: a child process (testdata/
 * crash-child.cjs, running the BUILT package) writes synced batches and prints each acknowledged
 * batch id; the parent kills it with SIGKILL at a seeded random moment, reopens the directory and
 * checks that every acknowledged batch is there and that no batch is partly visible. Rounds:
 * CRASH_ROUNDS (default 20); seed: CRASH_SEED (printed). Needs `nx build raft-log-engine` first
 * (the test target depends on it).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRng } from '@tikv-ts/util';
import { NodeFileSystem } from '@tikv-ts/util/node';
import { RaftLogEngine } from './raft-log-engine';

const CHILD = join(__dirname, '..', 'testdata', 'crash-child.cjs');
const DIST = join(__dirname, '..', 'dist', 'index.js');
const REGIONS = 5;
const TARGET_FILE_SIZE = 64 * 1024;
const ROUNDS = Number(process.env['CRASH_ROUNDS'] ?? 20);
const SEED = Number(process.env['CRASH_SEED'] ?? 20261128);

function regionsOf(k: number): bigint[] {
  return [BigInt((k % REGIONS) + 1), BigInt(((k + 2) % REGIONS) + 1)];
}

interface ChildRun {
  acked: number[];
  ready: boolean;
  stderr: string;
  signal: NodeJS.Signals | null;
  code: number | null;
}

/** Starts the child, kills it `killAfterMs` after it reports ready, and collects its acks. */
function runChild(dir: string, firstId: number, writers: number, killAfterMs: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, String(firstId), String(writers), String(TARGET_FILE_SIZE)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const run: ChildRun = { acked: [], ready: false, stderr: '', signal: null, code: null };
    let pending = '';
    let timer: NodeJS.Timeout | undefined;
    // A child that never gets ready must not hang the test.
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line === 'ready') {
          run.ready = true;
          timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        } else if (line.startsWith('ack ')) {
          run.acked.push(Number(line.slice(4)));
        }
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      run.stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(watchdog);
      if (timer !== undefined) clearTimeout(timer);
      run.code = code;
      run.signal = signal;
      resolve(run);
    });
  });
}

/** Reopens the directory and checks it; returns the number of batches now visible. */
async function verify(dir: string, acked: readonly number[], round: number): Promise<number> {
  const engine = await RaftLogEngine.open(new NodeFileSystem(), { dir, targetFileSizeBytes: TARGET_FILE_SIZE });
  try {
    const seen = new Map<number, bigint[]>();
    for (let r = 1n; r <= BigInt(REGIONS); r++) {
      const first = await engine.firstIndex(r);
      const last = await engine.lastIndex(r);
      const state = await engine.getRaftState(r);
      if (first === undefined || last === undefined) {
        expect(state).toBeUndefined();
        continue;
      }
      expect(first).toBe(1n);
      // The state is written in the same batch as the region's newest entry: they must agree.
      expect(state?.lastIndex).toBe(last);
      const entries = await engine.fetchEntriesTo(r, { low: first, high: last + 1n });
      for (const e of entries) {
        const text = Buffer.from(e.data).toString('utf8');
        const id = Number(text.slice(1, text.indexOf(':')));
        seen.set(id, [...(seen.get(id) ?? []), r]);
      }
    }
    const ids = [...seen.keys()].sort((a, b) => a - b);
    // Visible batches are exactly 0..P-1 (a prefix), each in both of its regions.
    ids.forEach((id, i) => {
      if (id !== i) throw new Error(`round ${round}: batch ${i} is missing but batch ${id} is visible`);
      const want = regionsOf(id).sort((a, b) => (a < b ? -1 : 1));
      const got = (seen.get(id) ?? []).sort((a, b) => (a < b ? -1 : 1));
      if (got.join() !== want.join()) throw new Error(`round ${round}: batch ${id} is partly visible: regions ${got.join()} of ${want.join()}`);
    });
    for (const id of acked) {
      if (!seen.has(id)) throw new Error(`round ${round}: acknowledged batch ${id} is lost (${ids.length} batches visible)`);
    }
    return ids.length;
  } finally {
    await engine.close();
  }
}

describe('RaftLogEngine crash safety with SIGKILL (real processes)', () => {
  let dir = '';
  beforeAll(() => {
    if (!existsSync(DIST)) throw new Error(`${DIST} is missing: build the package first (nx build @tikv-ts/raft-log-engine)`);
    dir = mkdtempSync(join(tmpdir(), 'raft-log-engine-crash-'));
  });
  afterAll(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it(`keeps every acknowledged batch over ${ROUNDS} kill -9 rounds (CRASH_SEED=${SEED})`, async () => {
    const rng = new SeededRng(SEED);
    let visible = 0;
    let totalAcked = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const writers = [1, 4, 16][rng.nextInt(3)] as number;
      const killAfterMs = 10 + rng.nextInt(150);
      const run = await runChild(dir, visible, writers, killAfterMs);
      try {
        if (!run.ready || run.signal !== 'SIGKILL') {
          throw new Error(`round ${round}: child ended with code ${run.code} signal ${run.signal}: ${run.stderr}`);
        }
        totalAcked += run.acked.length;
        const now = await verify(dir, run.acked, round);
        expect(now).toBeGreaterThanOrEqual(visible);
        visible = now;
      } catch (e: unknown) {
        throw new Error(`CRASH_SEED=${SEED} failed: ${(e as Error).message}`, { cause: e });
      }
    }
    expect(totalAcked).toBeGreaterThan(0);
  }, 120_000);
});
