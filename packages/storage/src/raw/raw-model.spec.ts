// Model-based test of RawStore (API V1TTL on engine-memory and engine-rocks): random command
// sequences, each read checked against a plain in-memory model with TTLs. Deterministic: the seed is FC_SEED when set,
// else a fixed one, and a failure starts with `FC_SEED=<n>` to replay it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareBytes } from '@tikv-ts/codec';
import { MemoryEngine } from '@tikv-ts/engine-memory';
import { RocksEngine } from '@tikv-ts/engine-rocks';
import type { KvEngine } from '@tikv-ts/engine-traits';
import { kvrpcpb } from '@tikv-ts/proto';
import { ManualClock } from '@tikv-ts/util/testing';
import fc from 'fast-check';
import { LocalEngine } from '../local-engine';
import { crc64Xz } from './crc64';
import { InvalidDeleteRangeError, InvalidKeyRangesError } from './errors';
import { RawStore, type RawKvPair } from './raw-store';

const FC_SEED = process.env['FC_SEED'] !== undefined && process.env['FC_SEED'] !== '' ? Number(process.env['FC_SEED']) : 20_261_128;
const NUM_RUNS = process.env['FC_NUM_RUNS'] !== undefined ? Number(process.env['FC_NUM_RUNS']) : undefined;

const rocksRoot = mkdtempSync(join(tmpdir(), 'storage-raw-model-'));
let rocksN = 0;
afterAll(() => rmSync(rocksRoot, { recursive: true, force: true }));

const ENGINES = [
  { name: 'engine-memory', runs: 60, open: (): Promise<KvEngine> => Promise.resolve(MemoryEngine.open()) },
  { name: 'engine-rocks', runs: 12, open: (): Promise<KvEngine> => RocksEngine.open({ path: join(rocksRoot, `db-${rocksN++}`) }) },
];

const enc = new TextEncoder();
const KEYS = ['', 'a', 'ab', 'b', 'c'].map((k) => enc.encode(k));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ctx = {};

type Op =
  | { op: 'put'; key: number; value: string; ttl: number }
  | { op: 'delete'; key: number }
  | { op: 'batchPut'; pairs: { key: number; value: string }[]; ttls: number[] }
  | { op: 'batchDelete'; keys: number[] }
  | { op: 'deleteRange'; start: number; end: number }
  | { op: 'cas'; key: number; expect: string | null; value: string; ttl: number }
  | { op: 'advance'; seconds: number }
  | { op: 'get'; key: number }
  | { op: 'batchGet'; keys: number[] }
  | { op: 'scan'; start: number; end: number; limit: number; reverse: boolean }
  | { op: 'ttl'; key: number }
  | { op: 'checksum'; start: number; end: number };

const key = fc.integer({ min: 0, max: KEYS.length - 1 });
const value = fc.constantFrom('', 'x', 'yy', 'zzz');
const ttl = fc.constantFrom(0, 0, 1, 1, 2, 5);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('put' as const), key, value, ttl }), weight: 3 },
  fc.record({ op: fc.constant('delete' as const), key }),
  fc.record({
    op: fc.constant('batchPut' as const),
    pairs: fc.array(fc.record({ key, value }), { maxLength: 4 }),
    ttls: fc.array(ttl, { maxLength: 1 }),
  }),
  fc.record({ op: fc.constant('batchDelete' as const), keys: fc.array(key, { maxLength: 3 }) }),
  fc.record({ op: fc.constant('deleteRange' as const), start: key, end: key }),
  fc.record({ op: fc.constant('cas' as const), key, expect: fc.option(value, { nil: null }), value, ttl }),
  { arbitrary: fc.record({ op: fc.constant('advance' as const), seconds: fc.constantFrom(0, 1, 1, 2, 3) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('get' as const), key }), weight: 2 },
  fc.record({ op: fc.constant('batchGet' as const), keys: fc.array(key, { maxLength: 4 }) }),
  fc.record({ op: fc.constant('scan' as const), start: key, end: key, limit: fc.integer({ min: 0, max: 8 }), reverse: fc.boolean() }),
  fc.record({ op: fc.constant('ttl' as const), key }),
  fc.record({ op: fc.constant('checksum' as const), start: key, end: key }),
);

interface Entry {
  readonly key: Uint8Array;
  readonly value: string;
  readonly expireTs: bigint;
}

class Model {
  readonly entries = new Map<string, Entry>();
  constructor(readonly nowSec: () => bigint) {}
  visible(k: Uint8Array): Entry | undefined {
    const e = this.entries.get(hex(k));
    if (e === undefined) return undefined;
    return e.expireTs !== 0n && e.expireTs <= this.nowSec() ? undefined : e;
  }
  put(k: Uint8Array, v: string, ttlSec: number): void {
    this.entries.set(hex(k), { key: k, value: v, expireTs: ttlSec === 0 ? 0n : this.nowSec() + BigInt(ttlSec) });
  }
  sortedVisible(): Entry[] {
    return [...this.entries.values()].filter((e) => this.visible(e.key) !== undefined).sort((x, y) => compareBytes(x.key, y.key));
  }
}

const pairs = (ps: readonly RawKvPair[]): [string, string][] => ps.map((p) => [hex(p.key), new TextDecoder().decode(p.value)]);
const entries = (es: readonly Entry[]): [string, string][] => es.map((e) => [hex(e.key), e.value]);
const k = (i: number): Uint8Array => KEYS[i] as Uint8Array;

async function run(open: () => Promise<KvEngine>, ops: readonly Op[]): Promise<void> {
  const kv = await open();
  const clock = new ManualClock();
  const store = new RawStore({ engine: new LocalEngine(kv), clock, apiVersion: kvrpcpb.APIVersion.V1TTL });
  const model = new Model(() => BigInt(Math.floor(clock.nowMs() / 1000)));
  try {
    for (const o of ops) {
      switch (o.op) {
        case 'put':
          await store.put(ctx, { key: k(o.key), value: enc.encode(o.value), ttl: BigInt(o.ttl) });
          model.put(k(o.key), o.value, o.ttl);
          break;
        case 'delete':
          await store.delete(ctx, { key: k(o.key) });
          model.entries.delete(hex(k(o.key)));
          break;
        case 'batchPut':
          await store.batchPut(ctx, {
            pairs: o.pairs.map((p) => ({ key: k(p.key), value: enc.encode(p.value) })),
            ttls: o.ttls.map(BigInt),
          });
          for (const p of o.pairs) model.put(k(p.key), p.value, o.ttls[0] ?? 0);
          break;
        case 'batchDelete':
          await store.batchDelete(ctx, { keys: o.keys.map(k) });
          for (const i of o.keys) model.entries.delete(hex(k(i)));
          break;
        case 'deleteRange': {
          const start = k(o.start);
          const end = k(o.end);
          if (end.length > 0 && compareBytes(start, end) >= 0) {
            await expect(store.deleteRange(ctx, { startKey: start, endKey: end })).rejects.toBeInstanceOf(InvalidDeleteRangeError);
            break;
          }
          await store.deleteRange(ctx, { startKey: start, endKey: end });
          for (const e of [...model.entries.values()]) {
            if (compareBytes(e.key, start) >= 0 && (end.length === 0 || compareBytes(e.key, end) < 0)) model.entries.delete(hex(e.key));
          }
          break;
        }
        case 'cas': {
          const args =
            o.expect === null
              ? { key: k(o.key), value: enc.encode(o.value), previousNotExist: true, ttl: BigInt(o.ttl) }
              : { key: k(o.key), value: enc.encode(o.value), previousValue: enc.encode(o.expect), ttl: BigInt(o.ttl) };
          const r = await store.compareAndSwap(ctx, args);
          const cur = model.visible(k(o.key));
          const ok = o.expect === null ? cur === undefined : cur?.value === o.expect;
          expect(r.succeed).toBe(ok);
          expect(r.previousValue === undefined ? undefined : new TextDecoder().decode(r.previousValue)).toBe(cur?.value);
          if (ok) model.put(k(o.key), o.value, o.ttl);
          break;
        }
        case 'advance':
          clock.advance(o.seconds * 1000);
          break;
        case 'get': {
          const v = await store.get(ctx, { key: k(o.key) });
          expect(v === undefined ? undefined : new TextDecoder().decode(v)).toBe(model.visible(k(o.key))?.value);
          break;
        }
        case 'batchGet': {
          const got = await store.batchGet(ctx, { keys: o.keys.map(k) });
          const want = o.keys.map((i) => model.visible(k(i))).filter((e): e is Entry => e !== undefined);
          expect(pairs(got)).toEqual(entries(want));
          break;
        }
        case 'scan': {
          const start = k(o.start);
          const end = k(o.end);
          const inverted = start.length > 0 && end.length > 0 && (o.reverse ? compareBytes(start, end) < 0 : compareBytes(start, end) > 0);
          const call = store.scan(ctx, { startKey: start, endKey: end, limit: o.limit, reverse: o.reverse });
          if (inverted) {
            await expect(call).rejects.toBeInstanceOf(InvalidKeyRangesError);
            break;
          }
          const all = model.sortedVisible();
          const want = o.reverse
            ? all
                .filter((e) => compareBytes(e.key, start) < 0 && (end.length === 0 || compareBytes(e.key, end) >= 0))
                .reverse()
            : all.filter((e) => compareBytes(e.key, start) >= 0 && (end.length === 0 || compareBytes(e.key, end) < 0));
          expect(pairs(await call)).toEqual(entries(want.slice(0, o.limit)));
          break;
        }
        case 'ttl': {
          const e = model.visible(k(o.key));
          const want = e === undefined ? undefined : e.expireTs === 0n ? 0n : e.expireTs - model.nowSec();
          expect(await store.getKeyTtl(ctx, { key: k(o.key) })).toBe(want);
          break;
        }
        case 'checksum': {
          const start = k(o.start);
          const end = k(o.end);
          const got = await store.checksum(ctx, { ranges: [{ startKey: start, endKey: end }] });
          let crc = 0n;
          let n = 0n;
          let bytes = 0n;
          for (const e of model.sortedVisible()) {
            if (compareBytes(e.key, start) < 0 || (end.length > 0 && compareBytes(e.key, end) >= 0)) continue;
            const v = enc.encode(e.value);
            crc ^= crc64Xz(e.key, v);
            n++;
            bytes += BigInt(e.key.length + v.length);
          }
          expect(got).toEqual({ checksum: crc, totalKvs: n, totalBytes: bytes });
          break;
        }
        default: {
          const never: never = o;
          throw new TypeError(`Unknown op ${JSON.stringify(never)}`);
        }
      }
    }
    // Cleanup removes exactly the expired keys and changes no visible data.
    const before = entries(model.sortedVisible());
    const expired = [...model.entries.values()].filter((e) => model.visible(e.key) === undefined).length;
    expect(await store.compactExpired(ctx)).toBe(expired);
    expect(pairs(await store.scan(ctx, { startKey: new Uint8Array(), limit: 100 }))).toEqual(before);
    const snap = kv.snapshot();
    expect(await snap.scan('default', { lowerBound: Uint8Array.of(0x7a), upperBound: Uint8Array.of(0x7b) })).toHaveLength(before.length);
    snap.close();
    expect(store.latches.heldKeys).toBe(0);
  } finally {
    await kv.close();
  }
}

describe.each(ENGINES)('RawStore against a model (API V1TTL) on $name', (engine) => {
  it('agrees with the model on random command sequences', async () => {
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 60, size: 'max' }), (ops) => run(engine.open, ops)),
        { seed: FC_SEED, numRuns: NUM_RUNS ?? engine.runs },
      );
    } catch (e: unknown) {
      const message = e instanceof Error ? e.message : String(e);
      throw new Error(`FC_SEED=${FC_SEED} (replay with FC_SEED=${FC_SEED})\n${message}`, { cause: e });
    }
  });
});
