import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryEngine } from '@tikv-ts/engine-memory';
import { RocksEngine } from '@tikv-ts/engine-rocks';
import type { KvEngine } from '@tikv-ts/engine-traits';
import { kvrpcpb } from '@tikv-ts/proto';
import { ManualClock } from '@tikv-ts/util/testing';
import { LocalEngine } from '../local-engine';
import {
  ApiVersionNotMatchedError,
  InvalidCfError,
  InvalidDeleteRangeError,
  InvalidKeyRangesError,
  KeyTooLargeError,
  RawValueCorruptedError,
  ScanLimitExceededError,
  TtlLenNotEqualsToPairsError,
  TtlNotEnabledError,
  UnknownChecksumAlgorithmError,
} from './errors';
import { RawStore, type RawKvPair, type RawStoreOptions } from './raw-store';

const enc = new TextEncoder();
const dec = new TextDecoder();
const b = (s: string): Uint8Array => enc.encode(s);
const s = (u: Uint8Array | undefined): string | undefined => (u === undefined ? undefined : dec.decode(u));
const keysOf = (pairs: readonly RawKvPair[]): string[] => pairs.map((p) => dec.decode(p.key));
const kvOf = (pairs: readonly RawKvPair[]): [string, string][] => pairs.map((p) => [dec.decode(p.key), dec.decode(p.value)]);
const V1 = {};

interface EngineKind {
  readonly name: string;
  open(): Promise<KvEngine>;
}

const rocksRoot = mkdtempSync(join(tmpdir(), 'storage-raw-spec-'));
let rocksN = 0;
afterAll(() => rmSync(rocksRoot, { recursive: true, force: true }));

const ENGINES: EngineKind[] = [
  { name: 'engine-memory', open: () => Promise.resolve(MemoryEngine.open()) },
  { name: 'engine-rocks', open: () => RocksEngine.open({ path: join(rocksRoot, `db-${rocksN++}`) }) },
];

describe.each(ENGINES)('RawStore on $name', (kind) => {
  let kv: KvEngine;
  let engine: LocalEngine;
  let clock: ManualClock;

  beforeEach(async () => {
    kv = await kind.open();
    engine = new LocalEngine(kv, { sync: false });
    clock = new ManualClock();
  });
  afterEach(async () => {
    await kv.close();
  });

  const store = (options: Partial<RawStoreOptions> = {}): RawStore => new RawStore({ engine, clock, ...options });
  const ttlStore = (options: Partial<RawStoreOptions> = {}): RawStore => store({ apiVersion: kvrpcpb.APIVersion.V1TTL, ...options });

  async function fill(raw: RawStore, keys: string[]): Promise<void> {
    await raw.batchPut(V1, { pairs: keys.map((k) => ({ key: b(k), value: b(`v-${k}`) })) });
  }

  describe('get / put / delete', () => {
    it('puts and gets, telling an empty value from a missing key', async () => {
      const raw = store();
      expect(await raw.get(V1, { key: b('k') })).toBeUndefined();
      await raw.put(V1, { key: b('k'), value: b('v1') });
      expect(s(await raw.get(V1, { key: b('k') }))).toBe('v1');
      await raw.put(V1, { key: b('k'), value: b('v2') });
      expect(s(await raw.get(V1, { key: b('k') }))).toBe('v2');
      await raw.put(V1, { key: b('empty'), value: new Uint8Array() });
      const empty = await raw.get(V1, { key: b('empty') });
      expect(empty).toBeDefined();
      expect(empty?.length).toBe(0);
      await raw.delete(V1, { key: b('k') });
      expect(await raw.get(V1, { key: b('k') })).toBeUndefined();
      await raw.delete(V1, { key: b('never') });
      await raw.delete(V1, { key: b('empty'), forCas: true });
      expect(await raw.get(V1, { key: b('empty') })).toBeUndefined();
    });

    it('stores API V1 raw keys as given under the z data prefix in CF default, values as given', async () => {
      const raw = store();
      await raw.put(V1, { key: b('abc'), value: b('xyz') });
      expect(s(await kv.get('default', b('zabc')))).toBe('xyz');
      expect(await kv.get('default', b('abc'))).toBeUndefined();
    });

    it('keeps column families apart and rejects unknown ones', async () => {
      const raw = store();
      await raw.put(V1, { key: b('k'), value: b('in-write'), cf: 'write' });
      await raw.put(V1, { key: b('k'), value: b('in-lock'), cf: 'lock' });
      expect(await raw.get(V1, { key: b('k') })).toBeUndefined();
      expect(await raw.get(V1, { key: b('k'), cf: '' })).toBeUndefined();
      expect(s(await raw.get(V1, { key: b('k'), cf: 'write' }))).toBe('in-write');
      expect(s(await raw.get(V1, { key: b('k'), cf: 'lock' }))).toBe('in-lock');
      await expect(raw.get(V1, { key: b('k'), cf: 'raft' })).rejects.toThrow(new InvalidCfError('raft'));
      await expect(raw.put(V1, { key: b('k'), value: b('v'), cf: 'nope' })).rejects.toThrow('invalid cf name: nope');
      await expect(raw.scan(V1, { startKey: b(''), limit: 1, cf: 'x' })).rejects.toBeInstanceOf(InvalidCfError);
    });

    it('refuses keys above max-key-size on writes, with TiKV message', async () => {
      const raw = store();
      const big = new Uint8Array(8193).fill(0x61);
      const ok = new Uint8Array(8192).fill(0x61);
      await raw.put(V1, { key: ok, value: b('v') });
      const msg = 'max key size exceeded, size: 8193, limit: 8192';
      await expect(raw.put(V1, { key: big, value: b('v') })).rejects.toThrow(msg);
      await expect(raw.batchPut(V1, { pairs: [{ key: b('a'), value: b('') }, { key: big, value: b('') }] })).rejects.toBeInstanceOf(KeyTooLargeError);
      await expect(raw.delete(V1, { key: big })).rejects.toBeInstanceOf(KeyTooLargeError);
      await expect(raw.batchDelete(V1, { keys: [big] })).rejects.toBeInstanceOf(KeyTooLargeError);
      await expect(raw.deleteRange(V1, { startKey: b('a'), endKey: big })).rejects.toBeInstanceOf(KeyTooLargeError);
      await expect(raw.compareAndSwap(V1, { key: big, value: b('v'), previousNotExist: true })).rejects.toBeInstanceOf(KeyTooLargeError);
      // A failed batch writes nothing.
      expect(await raw.get(V1, { key: b('a') })).toBeUndefined();
      // Reads do not check the size (as TiKV).
      expect(await raw.get(V1, { key: big })).toBeUndefined();
      const small = store({ maxKeySizeBytes: 2 });
      await expect(small.put(V1, { key: b('abc'), value: b('') })).rejects.toThrow('max key size exceeded, size: 3, limit: 2');
    });
  });

  describe('batch get / batch put / batch delete', () => {
    it('batch gets in request order, skipping missing keys and repeating duplicates', async () => {
      const raw = store();
      await fill(raw, ['a', 'b', 'c']);
      const pairs = await raw.batchGet(V1, { keys: [b('c'), b('x'), b('a'), b('c')] });
      expect(kvOf(pairs)).toEqual([
        ['c', 'v-c'],
        ['a', 'v-a'],
        ['c', 'v-c'],
      ]);
      expect(await raw.batchGet(V1, { keys: [] })).toEqual([]);
    });

    it('batch puts atomically with the later pair of a key winning, and batch deletes', async () => {
      const raw = store();
      await raw.batchPut(V1, {
        pairs: [
          { key: b('a'), value: b('1') },
          { key: b('b'), value: b('2') },
          { key: b('a'), value: b('3') },
        ],
        forCas: true,
      });
      expect(kvOf(await raw.scan(V1, { startKey: b(''), limit: 10 }))).toEqual([
        ['a', '3'],
        ['b', '2'],
      ]);
      await raw.batchDelete(V1, { keys: [b('a'), b('zz')] });
      expect(keysOf(await raw.scan(V1, { startKey: b(''), limit: 10 }))).toEqual(['b']);
      await raw.batchDelete(V1, { keys: [b('b')], forCas: true });
      expect(await raw.scan(V1, { startKey: b(''), limit: 10 })).toEqual([]);
      await raw.batchPut(V1, { pairs: [] });
    });

    it('rejects non-zero TTLs when TTL is disabled', async () => {
      const raw = store();
      const msg = 'ttl is not enabled, but get put request with ttl';
      await expect(raw.put(V1, { key: b('a'), value: b('v'), ttl: 5n })).rejects.toThrow(msg);
      await expect(raw.batchPut(V1, { pairs: [{ key: b('a'), value: b('v') }], ttls: [5n] })).rejects.toBeInstanceOf(TtlNotEnabledError);
      await expect(raw.compareAndSwap(V1, { key: b('a'), value: b('v'), previousNotExist: true, ttl: 1n })).rejects.toBeInstanceOf(TtlNotEnabledError);
      await raw.put(V1, { key: b('a'), value: b('v'), ttl: 0n });
      await raw.batchPut(V1, { pairs: [{ key: b('b'), value: b('v') }], ttls: [0n] });
      expect(keysOf(await raw.scan(V1, { startKey: b(''), limit: 10 }))).toEqual(['a', 'b']);
    });

    it('applies the ttls rule: none, one for all, one per pair, else an error', async () => {
      const raw = ttlStore();
      const pairs = [
        { key: b('a'), value: b('1') },
        { key: b('b'), value: b('2') },
        { key: b('c'), value: b('3') },
      ];
      await raw.batchPut(V1, { pairs, ttls: [] });
      expect(await raw.getKeyTtl(V1, { key: b('b') })).toBe(0n);
      await raw.batchPut(V1, { pairs, ttls: [100n] });
      for (const k of ['a', 'b', 'c']) expect(await raw.getKeyTtl(V1, { key: b(k) })).toBe(100n);
      await raw.batchPut(V1, { pairs, ttls: [10n, 0n, 30n] });
      expect(await raw.getKeyTtl(V1, { key: b('a') })).toBe(10n);
      expect(await raw.getKeyTtl(V1, { key: b('b') })).toBe(0n);
      expect(await raw.getKeyTtl(V1, { key: b('c') })).toBe(30n);
      const msg = 'The length of ttls does not equal to the length of pairs';
      await expect(raw.batchPut(V1, { pairs, ttls: [1n, 2n] })).rejects.toThrow(msg);
      await expect(raw.batchPut(V1, { pairs, ttls: [1n, 2n, 3n, 4n] })).rejects.toBeInstanceOf(TtlLenNotEqualsToPairsError);
      // Without TTL a length mismatch is refused as well (TiKV would silently drop pairs).
      await expect(store().batchPut(V1, { pairs, ttls: [0n, 0n] })).rejects.toBeInstanceOf(TtlLenNotEqualsToPairsError);
    });
  });

  describe('scan', () => {
    const keys = ['a', 'b', 'c', 'd', 'e'];

    it('scans [start, end) forward with limit and key-only', async () => {
      const raw = store();
      await fill(raw, keys);
      expect(keysOf(await raw.scan(V1, { startKey: b('b'), endKey: b('d'), limit: 10 }))).toEqual(['b', 'c']);
      expect(keysOf(await raw.scan(V1, { startKey: b('b'), limit: 10 }))).toEqual(['b', 'c', 'd', 'e']);
      expect(keysOf(await raw.scan(V1, { startKey: b('b'), endKey: new Uint8Array(), limit: 2 }))).toEqual(['b', 'c']);
      expect(keysOf(await raw.scan(V1, { startKey: b(''), limit: 3 }))).toEqual(['a', 'b', 'c']);
      expect(keysOf(await raw.scan(V1, { startKey: b('bb'), endKey: b('bc'), limit: 3 }))).toEqual([]);
      expect(await raw.scan(V1, { startKey: b('a'), limit: 0 })).toEqual([]);
      expect(await raw.scan(V1, { startKey: b('c'), endKey: b('c'), limit: 5 })).toEqual([]);
      const ko = await raw.scan(V1, { startKey: b('a'), limit: 2, keyOnly: true });
      expect(ko.map((p) => [s(p.key), p.value.length])).toEqual([
        ['a', 0],
        ['b', 0],
      ]);
      expect(kvOf(await raw.scan(V1, { startKey: b('d'), limit: 5 }))).toEqual([
        ['d', 'v-d'],
        ['e', 'v-e'],
      ]);
    });

    it('scans in reverse with start as the exclusive upper bound and end as the inclusive lower bound', async () => {
      const raw = store();
      await fill(raw, keys);
      expect(keysOf(await raw.scan(V1, { startKey: b('d'), endKey: b('b'), limit: 10, reverse: true }))).toEqual(['c', 'b']);
      expect(keysOf(await raw.scan(V1, { startKey: b('d'), limit: 10, reverse: true }))).toEqual(['c', 'b', 'a']);
      expect(keysOf(await raw.scan(V1, { startKey: b('z'), limit: 2, reverse: true }))).toEqual(['e', 'd']);
      expect(keysOf(await raw.scan(V1, { startKey: b('dd'), endKey: b('c'), limit: 10, reverse: true }))).toEqual(['d', 'c']);
      // Nothing is below the empty key (TiKV's reverse seek).
      expect(await raw.scan(V1, { startKey: b(''), limit: 10, reverse: true })).toEqual([]);
      const ko = await raw.scan(V1, { startKey: b('c'), limit: 1, reverse: true, keyOnly: true });
      expect(ko.map((p) => [s(p.key), p.value.length])).toEqual([['b', 0]]);
    });

    it('scans more entries than one engine chunk', async () => {
      const raw = store();
      const many = Array.from({ length: 2500 }, (_, i) => `k${String(i).padStart(5, '0')}`);
      for (let i = 0; i < many.length; i += 500) await fill(raw, many.slice(i, i + 500));
      const all = await raw.scan(V1, { startKey: b(''), limit: 3000 });
      expect(keysOf(all)).toEqual(many);
      const rev = await raw.scan(V1, { startKey: b('k02400'), limit: 2200, reverse: true });
      expect(keysOf(rev)).toEqual(many.slice(200, 2400).reverse());
    });

    it('answers inverted ranges and limits over maxScanLimit with errors', async () => {
      const raw = store({ maxScanLimit: 100 });
      await expect(raw.scan(V1, { startKey: b('d'), endKey: b('b'), limit: 10 })).rejects.toThrow(new InvalidKeyRangesError());
      await expect(raw.scan(V1, { startKey: b('b'), endKey: b('d'), limit: 10, reverse: true })).rejects.toThrow('Invalid KeyRanges');
      await expect(raw.scan(V1, { startKey: b('a'), limit: 101 })).rejects.toThrow(new ScanLimitExceededError(101, 100));
      expect(await raw.scan(V1, { startKey: b('a'), limit: 100 })).toEqual([]);
      await expect(raw.scan(V1, { startKey: b('a'), limit: -1 })).rejects.toBeInstanceOf(RangeError);
    });
  });

  describe('batch scan', () => {
    it('scans each range with each_limit, an empty end reaching the next range start', async () => {
      const raw = store();
      await fill(raw, ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
      const out = await raw.batchScan(V1, {
        ranges: [
          { startKey: b('a'), endKey: b('c') },
          { startKey: b('c'), endKey: new Uint8Array() },
          { startKey: b('e') },
        ],
        eachLimit: 2,
      });
      expect(keysOf(out)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
      const one = await raw.batchScan(V1, { ranges: [{ startKey: b('b') }, { startKey: b('f') }], eachLimit: 10, keyOnly: true });
      expect(keysOf(one)).toEqual(['b', 'c', 'd', 'e', 'f', 'g']);
      expect(one.every((p) => p.value.length === 0)).toBe(true);
    });

    it('scans reverse ranges', async () => {
      const raw = store();
      await fill(raw, ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
      const out = await raw.batchScan(V1, {
        ranges: [
          { startKey: b('g'), endKey: b('e') },
          { startKey: b('d'), endKey: b('a') },
        ],
        eachLimit: 2,
        reverse: true,
      });
      expect(keysOf(out)).toEqual(['f', 'e', 'c', 'b']);
    });

    it('rejects invalid ranges like TiKV check_key_ranges', async () => {
      const raw = store();
      const bad = [
        { ranges: [{ startKey: b('c'), endKey: b('a') }], reverse: false },
        { ranges: [{ startKey: b('a'), endKey: b('a') }], reverse: false },
        { ranges: [{ startKey: b('d') }, { startKey: b('b') }], reverse: false },
        { ranges: [{ startKey: b('a'), endKey: b('c') }], reverse: true },
      ];
      for (const c of bad) {
        await expect(raw.batchScan(V1, { ranges: c.ranges, eachLimit: 1, reverse: c.reverse })).rejects.toThrow('Invalid KeyRanges');
      }
      expect(await raw.batchScan(V1, { ranges: [], eachLimit: 1 })).toEqual([]);
    });
  });

  describe('delete range', () => {
    it('deletes [start, end) and to the end with an empty end', async () => {
      const raw = store();
      await fill(raw, ['a', 'b', 'c', 'd', 'e']);
      await raw.deleteRange(V1, { startKey: b('b'), endKey: b('d') });
      expect(keysOf(await raw.scan(V1, { startKey: b(''), limit: 10 }))).toEqual(['a', 'd', 'e']);
      await raw.deleteRange(V1, { startKey: b('aa'), endKey: b('ab') });
      expect(keysOf(await raw.scan(V1, { startKey: b(''), limit: 10 }))).toEqual(['a', 'd', 'e']);
      await raw.deleteRange(V1, { startKey: b('d'), endKey: new Uint8Array() });
      expect(keysOf(await raw.scan(V1, { startKey: b(''), limit: 10 }))).toEqual(['a']);
      await raw.deleteRange(V1, { startKey: b('') });
      expect(await raw.scan(V1, { startKey: b(''), limit: 10 })).toEqual([]);
    });

    it('rejects start >= end with TiKV message', async () => {
      const raw = store();
      await fill(raw, ['a', 'b']);
      await expect(raw.deleteRange(V1, { startKey: b('b'), endKey: b('a') })).rejects.toThrow(
        'invalid delete range command, start_key: [98], end_key: [97]',
      );
      await expect(raw.deleteRange(V1, { startKey: b('a'), endKey: b('a') })).rejects.toBeInstanceOf(InvalidDeleteRangeError);
      expect(keysOf(await raw.scan(V1, { startKey: b(''), limit: 10 }))).toEqual(['a', 'b']);
    });
  });

  describe('compare and swap', () => {
    it('swaps only when the current value matches and always returns the previous value', async () => {
      const raw = store();
      let r = await raw.compareAndSwap(V1, { key: b('k'), value: b('v1'), previousNotExist: true });
      expect(r).toEqual({ succeed: true, previousValue: undefined });
      r = await raw.compareAndSwap(V1, { key: b('k'), value: b('v2'), previousNotExist: true });
      expect(r.succeed).toBe(false);
      expect(s(r.previousValue)).toBe('v1');
      expect(s(await raw.get(V1, { key: b('k') }))).toBe('v1');
      r = await raw.compareAndSwap(V1, { key: b('k'), value: b('v2'), previousValue: b('nope') });
      expect(r.succeed).toBe(false);
      expect(s(r.previousValue)).toBe('v1');
      r = await raw.compareAndSwap(V1, { key: b('k'), value: b('v2'), previousValue: b('v1') });
      expect(r.succeed).toBe(true);
      expect(s(r.previousValue)).toBe('v1');
      expect(s(await raw.get(V1, { key: b('k') }))).toBe('v2');
    });

    it('tells an empty previous value from a missing key', async () => {
      const raw = store();
      // previousValue defaults to empty: a missing key does not match it.
      let r = await raw.compareAndSwap(V1, { key: b('e'), value: b('x') });
      expect(r).toEqual({ succeed: false, previousValue: undefined });
      await raw.put(V1, { key: b('e'), value: new Uint8Array() });
      r = await raw.compareAndSwap(V1, { key: b('e'), value: b('x'), previousNotExist: true });
      expect(r.succeed).toBe(false);
      expect(r.previousValue?.length).toBe(0);
      r = await raw.compareAndSwap(V1, { key: b('e'), value: b('x'), previousValue: new Uint8Array() });
      expect(r.succeed).toBe(true);
      expect(s(await raw.get(V1, { key: b('e') }))).toBe('x');
    });

    it('is atomic against concurrent CAS and raw writes of the same key', async () => {
      const raw = store();
      const counter = b('counter');
      await raw.put(V1, { key: counter, value: b('0') });
      const workers = 8;
      const perWorker = 10;
      let attempts = 0;
      const increment = async (): Promise<void> => {
        for (;;) {
          attempts++;
          const cur = await raw.get(V1, { key: counter });
          const next = b(String(Number(s(cur)) + 1));
          const r = await raw.compareAndSwap(V1, { key: counter, value: next, previousValue: cur ?? new Uint8Array() });
          if (r.succeed) return;
        }
      };
      await Promise.all(
        Array.from({ length: workers }, async () => {
          for (let i = 0; i < perWorker; i++) await increment();
        }),
      );
      expect(s(await raw.get(V1, { key: counter }))).toBe(String(workers * perWorker));
      expect(attempts).toBeGreaterThan(workers * perWorker); // there was contention

      // Concurrent "create if absent": exactly one wins, the others see its value.
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => raw.compareAndSwap(V1, { key: b('once'), value: b(`w${i}`), previousNotExist: true })),
      );
      const winners = results.filter((r) => r.succeed);
      expect(winners).toHaveLength(1);
      const stored = s(await raw.get(V1, { key: b('once') }));
      for (const r of results.filter((x) => !x.succeed)) expect(s(r.previousValue)).toBe(stored);

      // A put queued behind a CAS on the key lands after it; a CAS after the put sees the put.
      const cas = raw.compareAndSwap(V1, { key: b('once'), value: b('cas'), previousValue: b(stored ?? '') });
      const put = raw.put(V1, { key: b('once'), value: b('put') });
      const cas2 = raw.compareAndSwap(V1, { key: b('once'), value: b('cas2'), previousValue: b('put') });
      const [r1, , r2] = await Promise.all([cas, put, cas2]);
      expect(r1.succeed).toBe(true);
      expect(r2.succeed).toBe(true);
      expect(s(await raw.get(V1, { key: b('once') }))).toBe('cas2');
      expect(raw.latches.heldKeys).toBe(0);
    });

    it('orders delete range against CAS', async () => {
      const raw = store();
      await raw.put(V1, { key: b('k'), value: b('1') });
      const cas = raw.compareAndSwap(V1, { key: b('k'), value: b('2'), previousValue: b('1') });
      const del = raw.deleteRange(V1, { startKey: b('a'), endKey: b('z') });
      const cas2 = raw.compareAndSwap(V1, { key: b('k'), value: b('3'), previousNotExist: true });
      const [r1, , r2] = await Promise.all([cas, del, cas2]);
      expect(r1.succeed).toBe(true);
      expect(r2).toEqual({ succeed: true, previousValue: undefined });
      expect(s(await raw.get(V1, { key: b('k') }))).toBe('3');
    });
  });

  describe('TTL (API V1TTL)', () => {
    it('stores value ‖ 8-byte big-endian expire ts and hides expired keys from every read', async () => {
      const raw = ttlStore();
      expect(raw.apiVersion).toBe(kvrpcpb.APIVersion.V1TTL);
      const nowSec = BigInt(Math.floor(clock.nowMs() / 1000));
      await raw.put(V1, { key: b('short'), value: b('s'), ttl: 10n });
      await raw.put(V1, { key: b('long'), value: b('l'), ttl: 100n });
      await raw.put(V1, { key: b('forever'), value: b('f') });
      const stored = await kv.get('default', b('zshort'));
      expect(stored?.length).toBe(9);
      expect(new DataView((stored as Uint8Array).buffer, (stored as Uint8Array).byteOffset).getBigUint64(1, false)).toBe(nowSec + 10n);
      const forever = await kv.get('default', b('zforever'));
      expect(Array.from(forever ?? [])).toEqual([0x66, 0, 0, 0, 0, 0, 0, 0, 0]);

      expect(s(await raw.get(V1, { key: b('short') }))).toBe('s');
      expect(await raw.getKeyTtl(V1, { key: b('short') })).toBe(10n);
      expect(await raw.getKeyTtl(V1, { key: b('forever') })).toBe(0n);
      expect(await raw.getKeyTtl(V1, { key: b('missing') })).toBeUndefined();

      clock.advance(4_000);
      expect(await raw.getKeyTtl(V1, { key: b('short') })).toBe(6n);
      clock.advance(6_000); // expire_ts <= now: expired
      expect(await raw.get(V1, { key: b('short') })).toBeUndefined();
      expect(await raw.getKeyTtl(V1, { key: b('short') })).toBeUndefined();
      expect(keysOf(await raw.batchGet(V1, { keys: [b('short'), b('long'), b('forever')] }))).toEqual(['long', 'forever']);
      expect(kvOf(await raw.scan(V1, { startKey: b(''), limit: 10 }))).toEqual([
        ['forever', 'f'],
        ['long', 'l'],
      ]);
      expect(keysOf(await raw.scan(V1, { startKey: b('z'), limit: 1, reverse: true }))).toEqual(['long']);
      expect(keysOf(await raw.scan(V1, { startKey: b(''), limit: 5, keyOnly: true }))).toEqual(['forever', 'long']);
      expect(keysOf(await raw.batchScan(V1, { ranges: [{ startKey: b('') }], eachLimit: 5 }))).toEqual(['forever', 'long']);
      const cs = await raw.checksum(V1, { ranges: [{ startKey: b('') }] });
      expect(cs.totalKvs).toBe(2n);
      expect(cs.totalBytes).toBe(BigInt('forever'.length + 1 + 'long'.length + 1));
      // CAS sees an expired key as absent.
      const r = await raw.compareAndSwap(V1, { key: b('short'), value: b('again'), previousNotExist: true, ttl: 5n });
      expect(r).toEqual({ succeed: true, previousValue: undefined });
      expect(await raw.getKeyTtl(V1, { key: b('short') })).toBe(5n);
    });

    it('is enabled by enableTtl on API V1 and saturates expire ts at u64 max', async () => {
      const raw = store({ enableTtl: true });
      expect(raw.isTtlEnabled).toBe(true);
      await raw.put(V1, { key: b('k'), value: b('v'), ttl: (1n << 64n) - 1n });
      const stored = (await kv.get('default', b('zk'))) as Uint8Array;
      expect(new DataView(stored.buffer, stored.byteOffset).getBigUint64(1, false)).toBe((1n << 64n) - 1n);
      expect(s(await raw.get(V1, { key: b('k') }))).toBe('v');
      await expect(raw.put(V1, { key: b('k'), value: b('v'), ttl: 1n << 64n })).rejects.toBeInstanceOf(RangeError);
    });

    it('removes expired keys with compactExpired, keeping keys rewritten since', async () => {
      const raw = ttlStore();
      await fill(raw, []);
      for (let i = 0; i < 30; i++) {
        await raw.put(V1, { key: b(`k${String(i).padStart(2, '0')}`), value: b('v'), ttl: i % 3 === 0 ? 0n : 5n });
      }
      expect(await raw.compactExpired(V1)).toBe(0);
      clock.advance(5_000);
      await raw.put(V1, { key: b('k01'), value: b('fresh'), ttl: 100n });
      expect(await raw.compactExpired(V1, { batchSize: 4 })).toBe(19);
      const left = [];
      const snap = kv.snapshot();
      for (const e of await snap.scan('default', { lowerBound: b('z'), upperBound: b('{') })) left.push(s(e.key.subarray(1)));
      snap.close();
      expect(left).toHaveLength(11);
      expect(left).toContain('k01');
      expect(s(await raw.get(V1, { key: b('k01') }))).toBe('fresh');
      expect(await raw.compactExpired(V1)).toBe(0);
      expect(await store().compactExpired(V1)).toBe(0);
    });

    it('reports corrupted values (shorter than the expire ts) as errors', async () => {
      const raw = ttlStore();
      await engine.write({}, [{ type: 'put', cf: 'default', key: b('bad'), value: b('abc') }]);
      await expect(raw.get(V1, { key: b('bad') })).rejects.toBeInstanceOf(RawValueCorruptedError);
      await expect(raw.get(V1, { key: b('bad') })).rejects.toThrow('bad format value(length)');
    });
  });

  describe('get key TTL without TTL', () => {
    it('reports 0 for existing keys and undefined for missing ones', async () => {
      const raw = store();
      await raw.put(V1, { key: b('k'), value: b('v') });
      expect(await raw.getKeyTtl(V1, { key: b('k') })).toBe(0n);
      expect(await raw.getKeyTtl(V1, { key: b('x') })).toBeUndefined();
    });
  });

  describe('checksum', () => {
    it('gives the PROTOCOL.md golden vector over r\\0\\0\\0-prefixed keys k1..k5 -> v1..v5', async () => {
      const raw = store();
      const prefix = [0x72, 0, 0, 0];
      const pairs = [1, 2, 3, 4, 5].map((i) => ({ key: new Uint8Array([...prefix, ...b(`k${i}`)]), value: b(`v${i}`) }));
      await raw.batchPut(V1, { pairs });
      await raw.put(V1, { key: b('s-outside'), value: b('x') });
      const cs = await raw.checksum(V1, {
        algorithm: kvrpcpb.ChecksumAlgorithm.Crc64_Xor,
        ranges: [{ startKey: new Uint8Array(prefix), endKey: new Uint8Array([0x72, 0, 0, 1]) }],
      });
      expect(cs).toEqual({ checksum: 7402990595130313958n, totalKvs: 5n, totalBytes: 40n });
      // Split ranges XOR to the same result.
      const split = await raw.checksum(V1, {
        ranges: [
          { startKey: new Uint8Array(prefix), endKey: new Uint8Array([...prefix, ...b('k3')]) },
          { startKey: new Uint8Array([...prefix, ...b('k3')]), endKey: b('s') },
        ],
      });
      expect(split).toEqual(cs);
      const all = await raw.checksum(V1, { ranges: [{ startKey: new Uint8Array() }] });
      expect(all.totalKvs).toBe(6n);
      expect(await raw.checksum(V1, { ranges: [] })).toEqual({ checksum: 0n, totalKvs: 0n, totalBytes: 0n });
    });

    it('rejects unknown algorithms', async () => {
      const raw = store();
      await expect(raw.checksum(V1, { algorithm: 7 as kvrpcpb.ChecksumAlgorithm, ranges: [] })).rejects.toThrow(
        new UnknownChecksumAlgorithmError(7),
      );
      await expect(raw.checksum(V1, { algorithm: 7 as kvrpcpb.ChecksumAlgorithm, ranges: [] })).rejects.toThrow('unknown checksum algorithm 7');
    });
  });

  describe('api version', () => {
    it('accepts only V1 requests on V1 and V1TTL storage, with TiKV message', async () => {
      const raw = store();
      const v2 = { apiVersion: kvrpcpb.APIVersion.V2 };
      await expect(raw.get(v2, { key: b('k') })).rejects.toThrow(
        'Api version in request does not match with TiKV storage, cmd: raw_get, storage: V1, request: V2',
      );
      const t = ttlStore();
      await expect(t.put({ apiVersion: kvrpcpb.APIVersion.V1TTL }, { key: b('k'), value: b('') })).rejects.toThrow(
        'Api version in request does not match with TiKV storage, cmd: raw_put, storage: V1ttl, request: V1ttl',
      );
      const calls: [string, () => Promise<unknown>][] = [
        ['raw_batch_get', () => raw.batchGet(v2, { keys: [] })],
        ['raw_put', () => raw.put(v2, { key: b('k'), value: b('') })],
        ['raw_atomic_store', () => raw.put(v2, { key: b('k'), value: b(''), forCas: true })],
        ['raw_batch_put', () => raw.batchPut(v2, { pairs: [] })],
        ['raw_delete', () => raw.delete(v2, { key: b('k') })],
        ['raw_batch_delete', () => raw.batchDelete(v2, { keys: [] })],
        ['raw_delete_range', () => raw.deleteRange(v2, { startKey: b('a'), endKey: b('b') })],
        ['raw_scan', () => raw.scan(v2, { startKey: b(''), limit: 1 })],
        ['raw_batch_scan', () => raw.batchScan(v2, { ranges: [], eachLimit: 1 })],
        ['raw_get_key_ttl', () => raw.getKeyTtl(v2, { key: b('k') })],
        ['raw_compare_and_swap', () => raw.compareAndSwap(v2, { key: b('k'), value: b('') })],
        ['raw_checksum', () => raw.checksum(v2, { ranges: [] })],
      ];
      for (const [cmd, call] of calls) {
        await expect(call()).rejects.toThrow(new ApiVersionNotMatchedError(cmd as 'raw_get', kvrpcpb.APIVersion.V1, kvrpcpb.APIVersion.V2));
      }
      // A full kvrpcpb.Context works as the context.
      const ctx = kvrpcpb.Context.fromPartial({ apiVersion: kvrpcpb.APIVersion.V1 });
      await raw.put(ctx, { key: b('k'), value: b('v') });
      expect(s(await raw.get(ctx, { key: b('k') }))).toBe('v');
    });

    it('refuses API V2 storage', () => {
      expect(() => new RawStore({ engine, clock, apiVersion: kvrpcpb.APIVersion.V2 })).toThrow('Raw KV storage with API V2 is not supported');
    });
  });
});
