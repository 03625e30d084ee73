/// <reference types="jest" />
import { compareBytes as compareKeys } from '@tikv-ts/codec';
import { ALL_CFS, CF_DEFAULT, CF_LOCK, CF_RAFT, CF_WRITE } from '../cf';
import type { CfName } from '../cf';
import { EngineClosedError } from '../errors';
import type { EngineIterator, KvEngine, KvEntry } from '../kv-engine';

/** Makes engines for {@link runKvEngineSuite}. */
export interface KvEngineFactory {
  /** A new engine over new, empty storage. */
  create(): Promise<KvEngine>;
  /**
   * Opens again the storage of `closed` (an engine made by `create` or `reopen`, already
   * closed). Required when `supports.reopen` is true.
   */
  reopen?(closed: KvEngine): Promise<KvEngine>;
  /** Called once after the suite (remove temporary directories and the like). */
  cleanup?(): Promise<void>;
}

/** Optional capabilities of the engine under test; tests that need one are skipped without it. */
export interface KvEngineSuiteSupports {
  /** Data survives `close()` and `factory.reopen`. */
  readonly reopen?: boolean;
}

/** Options of {@link runKvEngineSuite}. */
export interface KvEngineSuiteOptions {
  readonly factory: KvEngineFactory;
  readonly supports?: KvEngineSuiteSupports;
  /** Seed of the randomized model test; default `KV_SUITE_SEED` from the environment, else 1. */
  readonly seed?: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
/** UTF-8 bytes of `s`. */
const b = (s: string): Uint8Array => enc.encode(s);
const str = (u: Uint8Array | undefined): string | undefined => (u === undefined ? undefined : dec.decode(u));
const keysOf = (entries: readonly KvEntry[]): string[] => entries.map((e) => dec.decode(e.key));

/** A fixed-width key for index `i` (ordering of the bytes equals numeric order). */
function numKey(i: number, prefix = 'k'): Uint8Array {
  return b(`${prefix}${i.toString().padStart(8, '0')}`);
}

/** Small deterministic PRNG (mulberry32) so the suite needs no npm package. */
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

async function collectForward(it: EngineIterator): Promise<string[]> {
  const out: string[] = [];
  for (let ok = await it.seekToFirst(); ok; ok = await it.next()) out.push(dec.decode(it.key()));
  return out;
}

async function collectBackward(it: EngineIterator): Promise<string[]> {
  const out: string[] = [];
  for (let ok = await it.seekToLast(); ok; ok = await it.prev()) out.push(dec.decode(it.key()));
  return out;
}

async function putAll(engine: KvEngine, cf: CfName, keys: readonly string[]): Promise<void> {
  const wb = engine.writeBatch();
  for (const k of keys) wb.put(cf, b(k), b(`v-${k}`));
  await wb.write();
}

/**
 * The conformance suite every `KvEngine` runs (STYLE.md §7): atomic multi-CF batches, snapshot
 * isolation, iteration at and across bounds in both directions, empty keys and values, 1 MiB
 * values, 100k-key ranges, delete range, reopen, closed-engine errors, and a seeded model test.
 * Call it inside a spec file (it uses jest's `describe`/`it`/`expect`).
 */
export function runKvEngineSuite(options: KvEngineSuiteOptions): void {
  const { factory } = options;
  const supports = options.supports ?? {};
  const seed = options.seed ?? Number(process.env['KV_SUITE_SEED'] ?? '1');
  const open: KvEngine[] = [];

  async function fresh(): Promise<KvEngine> {
    const e = await factory.create();
    open.push(e);
    return e;
  }

  async function reopen(e: KvEngine): Promise<KvEngine> {
    if (!e.isClosed) await e.close();
    const reopenFn = factory.reopen;
    if (reopenFn === undefined) throw new Error('factory.reopen is required when supports.reopen is true');
    const r = await reopenFn.call(factory, e);
    open.push(r);
    return r;
  }

  afterEach(async () => {
    for (const e of open.splice(0)) await e.close();
  });

  afterAll(async () => {
    await factory.cleanup?.();
  });

  describe('point reads and writes', () => {
    it('puts, gets and deletes in every column family independently', async () => {
      const e = await fresh();
      for (const cf of ALL_CFS) await e.put(cf, b('k'), b(`v-${cf}`));
      for (const cf of ALL_CFS) expect(str(await e.get(cf, b('k')))).toBe(`v-${cf}`);
      await e.delete(CF_LOCK, b('k'));
      expect(await e.get(CF_LOCK, b('k'))).toBeUndefined();
      expect(str(await e.get(CF_WRITE, b('k')))).toBe('v-write');
      expect(await e.get(CF_DEFAULT, b('missing'))).toBeUndefined();
      await e.delete(CF_DEFAULT, b('missing'));
    });

    it('overwrites a value and returns the newest one', async () => {
      const e = await fresh();
      await e.put(CF_DEFAULT, b('a'), b('1'));
      await e.put(CF_DEFAULT, b('a'), b('2'));
      expect(str(await e.get(CF_DEFAULT, b('a')))).toBe('2');
    });

    it('multiGet returns values in the order of the keys with undefined for missing ones', async () => {
      const e = await fresh();
      await putAll(e, CF_WRITE, ['a', 'c', 'e']);
      const got = await e.multiGet(CF_WRITE, [b('e'), b('b'), b('a'), b('a')]);
      expect(got.map(str)).toEqual(['v-e', undefined, 'v-a', 'v-a']);
      expect(await e.multiGet(CF_WRITE, [])).toEqual([]);
    });

    it('copies keys and values: mutating the caller arrays afterwards changes nothing', async () => {
      const e = await fresh();
      const k = b('key');
      const v = b('val');
      const wb = e.writeBatch();
      wb.put(CF_DEFAULT, k, v);
      await wb.write();
      k[0] = 0x7a;
      v[0] = 0x7a;
      expect(str(await e.get(CF_DEFAULT, b('key')))).toBe('val');
    });

    it('stores the empty key and empty values', async () => {
      const e = await fresh();
      await e.put(CF_DEFAULT, new Uint8Array(0), b('empty-key'));
      await e.put(CF_DEFAULT, b('a'), new Uint8Array(0));
      expect(str(await e.get(CF_DEFAULT, new Uint8Array(0)))).toBe('empty-key');
      const empty = await e.get(CF_DEFAULT, b('a'));
      expect(empty).toBeDefined();
      expect(empty?.length).toBe(0);
      const all = await e.scan(CF_DEFAULT);
      expect(all.map((x) => x.key.length)).toEqual([0, 1]);
      expect(all[1]?.value.length).toBe(0);
      const it = e.iterator(CF_DEFAULT);
      expect(await it.seekToFirst()).toBe(true);
      expect(it.key().length).toBe(0);
      expect(await it.seekForPrev(new Uint8Array(0))).toBe(true);
      expect(it.key().length).toBe(0);
      it.close();
      await e.delete(CF_DEFAULT, new Uint8Array(0));
      expect(await e.get(CF_DEFAULT, new Uint8Array(0))).toBeUndefined();
    });

    it('stores 1 MiB values intact', async () => {
      const e = await fresh();
      const big = new Uint8Array(1 << 20);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
      const wb = e.writeBatch();
      wb.put(CF_DEFAULT, b('big1'), big);
      wb.put(CF_WRITE, b('big2'), big);
      await wb.write({ sync: true });
      const got = await e.get(CF_DEFAULT, b('big1'));
      expect(got?.length).toBe(big.length);
      expect(Buffer.from(got ?? []).equals(Buffer.from(big))).toBe(true);
      const scanned = await e.scan(CF_WRITE);
      expect(scanned.length).toBe(1);
      expect(Buffer.from(scanned[0]?.value ?? []).equals(Buffer.from(big))).toBe(true);
    });
  });

  describe('write batches', () => {
    it('applies mutations in order: later put wins, delete and delete range remove earlier puts', async () => {
      const e = await fresh();
      const wb = e.writeBatch();
      wb.put(CF_DEFAULT, b('a'), b('1'));
      wb.put(CF_DEFAULT, b('a'), b('2'));
      wb.put(CF_DEFAULT, b('b'), b('1'));
      wb.delete(CF_DEFAULT, b('b'));
      wb.put(CF_DEFAULT, b('c'), b('1'));
      wb.put(CF_DEFAULT, b('d'), b('1'));
      wb.deleteRange(CF_DEFAULT, b('c'), b('d'));
      wb.put(CF_DEFAULT, b('e'), b('1'));
      wb.deleteRange(CF_DEFAULT, b('e'), b('f'));
      wb.put(CF_DEFAULT, b('e'), b('again'));
      expect(wb.count()).toBe(10);
      expect(wb.isEmpty()).toBe(false);
      expect(wb.dataSize()).toBeGreaterThan(0);
      await wb.write();
      expect(keysOf(await e.scan(CF_DEFAULT))).toEqual(['a', 'd', 'e']);
      expect(str(await e.get(CF_DEFAULT, b('a')))).toBe('2');
      expect(str(await e.get(CF_DEFAULT, b('e')))).toBe('again');
    });

    it('is atomic across column families: a snapshot sees all of a batch or none of it', async () => {
      const e = await fresh();
      const before = e.snapshot();
      const wb = e.writeBatch();
      for (const cf of ALL_CFS) for (let i = 0; i < 50; i++) wb.put(cf, numKey(i), b(cf));
      const pending = wb.write();
      const during = e.snapshot();
      await pending;
      const after = e.snapshot();
      for (const cf of ALL_CFS) {
        expect((await before.scan(cf)).length).toBe(0);
        expect((await after.scan(cf)).length).toBe(50);
      }
      const seen = await Promise.all(ALL_CFS.map(async (cf) => (await during.scan(cf)).length));
      expect([[0, 0, 0, 0], [50, 50, 50, 50]]).toContainEqual(seen);
      before.close();
      during.close();
      after.close();
    });

    it('can be cleared and reused, and an empty batch is a no-op', async () => {
      const e = await fresh();
      const wb = e.writeBatch();
      await wb.write();
      await wb.write({ sync: true });
      wb.put(CF_RAFT, b('x'), b('1'));
      wb.clear();
      expect(wb.count()).toBe(0);
      expect(wb.isEmpty()).toBe(true);
      wb.put(CF_RAFT, b('y'), b('1'));
      await wb.write();
      expect(keysOf(await e.scan(CF_RAFT))).toEqual(['y']);
    });

    it('orders concurrent writes by the time write was called', async () => {
      const e = await fresh();
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 20; i++) {
        const wb = e.writeBatch();
        wb.put(CF_DEFAULT, b('same'), b(String(i)));
        writes.push(wb.write({ sync: i % 5 === 0 }));
      }
      await Promise.all(writes);
      expect(str(await e.get(CF_DEFAULT, b('same')))).toBe('19');
    });

    it('supports sync writes and syncWal', async () => {
      const e = await fresh();
      await e.put(CF_DEFAULT, b('s'), b('1'), { sync: true });
      await e.syncWal();
      expect(str(await e.get(CF_DEFAULT, b('s')))).toBe('1');
    });
  });

  describe('snapshots', () => {
    it('are unaffected by later puts, deletes and delete ranges in every column family', async () => {
      const e = await fresh();
      for (const cf of ALL_CFS) await putAll(e, cf, ['a', 'b', 'c']);
      const snap = e.snapshot();
      const wb = e.writeBatch();
      for (const cf of ALL_CFS) {
        wb.put(cf, b('a'), b('new'));
        wb.delete(cf, b('b'));
        wb.put(cf, b('d'), b('new'));
        wb.deleteRange(cf, b('c'), b('cz'));
      }
      await wb.write();
      for (const cf of ALL_CFS) {
        expect(str(await snap.get(cf, b('a')))).toBe('v-a');
        expect(str(await snap.get(cf, b('b')))).toBe('v-b');
        expect(await snap.get(cf, b('d'))).toBeUndefined();
        expect((await snap.multiGet(cf, [b('b'), b('c'), b('d')])).map(str)).toEqual(['v-b', 'v-c', undefined]);
        expect(keysOf(await snap.scan(cf))).toEqual(['a', 'b', 'c']);
        expect(keysOf(await snap.scan(cf, { reverse: true }))).toEqual(['c', 'b', 'a']);
        const it = snap.iterator(cf);
        expect(await collectForward(it)).toEqual(['a', 'b', 'c']);
        expect(await collectBackward(it)).toEqual(['c', 'b', 'a']);
        it.close();
        expect(keysOf(await e.scan(cf))).toEqual(['a', 'd']);
      }
      snap.close();
      snap.close();
    });

    it('keeps iterators made from a snapshot working after the snapshot is closed', async () => {
      const e = await fresh();
      await putAll(e, CF_DEFAULT, ['a', 'b']);
      const snap = e.snapshot();
      const it = snap.iterator(CF_DEFAULT);
      snap.close();
      await e.put(CF_DEFAULT, b('c'), b('1'));
      expect(await collectForward(it)).toEqual(['a', 'b']);
      it.close();
      expect(() => snap.iterator(CF_DEFAULT)).toThrow(EngineClosedError);
      await expect(snap.get(CF_DEFAULT, b('a'))).rejects.toThrow(EngineClosedError);
    });

    it('engine iterators read the state at their creation', async () => {
      const e = await fresh();
      await putAll(e, CF_WRITE, ['a', 'b']);
      const it = e.iterator(CF_WRITE);
      await e.put(CF_WRITE, b('aa'), b('1'));
      await e.delete(CF_WRITE, b('b'));
      expect(await collectForward(it)).toEqual(['a', 'b']);
      it.close();
    });
  });

  describe('iterators', () => {
    const keys = ['a', 'b', 'ba', 'c', 'd', 'e'];

    it('walks forward and backward, switching direction, with and without bounds', async () => {
      const e = await fresh();
      await putAll(e, CF_DEFAULT, keys);
      const it = e.iterator(CF_DEFAULT);
      expect(it.valid()).toBe(false);
      expect(await collectForward(it)).toEqual(keys);
      expect(await collectBackward(it)).toEqual([...keys].reverse());
      expect(await it.seek(b('b'))).toBe(true);
      expect(str(it.key())).toBe('b');
      expect(str(it.value())).toBe('v-b');
      expect(await it.next()).toBe(true);
      expect(str(it.key())).toBe('ba');
      expect(await it.prev()).toBe(true);
      expect(str(it.key())).toBe('b');
      expect(await it.prev()).toBe(true);
      expect(str(it.key())).toBe('a');
      expect(await it.prev()).toBe(false);
      expect(it.valid()).toBe(false);
      expect(await it.seek(b('bb'))).toBe(true);
      expect(str(it.key())).toBe('c');
      expect(await it.seekForPrev(b('bb'))).toBe(true);
      expect(str(it.key())).toBe('ba');
      expect(await it.seekForPrev(b('c'))).toBe(true);
      expect(str(it.key())).toBe('c');
      expect(await it.seek(b('f'))).toBe(false);
      expect(await it.seekForPrev(b('0'))).toBe(false);
      it.close();
      it.close();
    });

    it('respects lower (inclusive) and upper (exclusive) bounds in every positioning call', async () => {
      const e = await fresh();
      await putAll(e, CF_DEFAULT, keys);
      const it = e.iterator(CF_DEFAULT, { lowerBound: b('b'), upperBound: b('d') });
      expect(await collectForward(it)).toEqual(['b', 'ba', 'c']);
      expect(await collectBackward(it)).toEqual(['c', 'ba', 'b']);
      expect(await it.seek(b('a'))).toBe(true);
      expect(str(it.key())).toBe('b');
      expect(await it.seek(b('d'))).toBe(false);
      expect(await it.seek(b('cz'))).toBe(false);
      expect(await it.seekForPrev(b('z'))).toBe(true);
      expect(str(it.key())).toBe('c');
      expect(await it.seekForPrev(b('d'))).toBe(true);
      expect(str(it.key())).toBe('c');
      expect(await it.seekForPrev(b('a'))).toBe(false);
      expect(await it.seekForPrev(b('b'))).toBe(true);
      expect(str(it.key())).toBe('b');
      expect(await it.prev()).toBe(false);
      expect(await it.seekToLast()).toBe(true);
      expect(await it.next()).toBe(false);
      it.close();

      const bounds = e.iterator(CF_DEFAULT, { lowerBound: b('ba'), upperBound: b('ba\0') });
      expect(await collectForward(bounds)).toEqual(['ba']);
      expect(await collectBackward(bounds)).toEqual(['ba']);
      bounds.close();

      const emptyRange = e.iterator(CF_DEFAULT, { lowerBound: b('c'), upperBound: b('c') });
      expect(await emptyRange.seekToFirst()).toBe(false);
      expect(await emptyRange.seekToLast()).toBe(false);
      expect(await emptyRange.seek(b('c'))).toBe(false);
      expect(await emptyRange.seekForPrev(b('c'))).toBe(false);
      emptyRange.close();

      const inverted = e.iterator(CF_DEFAULT, { lowerBound: b('d'), upperBound: b('b') });
      expect(await inverted.seekToFirst()).toBe(false);
      expect(await inverted.seekToLast()).toBe(false);
      inverted.close();

      const onlyUpper = e.iterator(CF_DEFAULT, { upperBound: b('b') });
      expect(await collectForward(onlyUpper)).toEqual(['a']);
      expect(await collectBackward(onlyUpper)).toEqual(['a']);
      onlyUpper.close();

      const onlyLower = e.iterator(CF_DEFAULT, { lowerBound: b('d') });
      expect(await collectForward(onlyLower)).toEqual(['d', 'e']);
      expect(await collectBackward(onlyLower)).toEqual(['e', 'd']);
      onlyLower.close();

      const emptyUpper = e.iterator(CF_DEFAULT, { upperBound: new Uint8Array(0) });
      expect(await emptyUpper.seekToFirst()).toBe(false);
      expect(await emptyUpper.seekToLast()).toBe(false);
      emptyUpper.close();
    });

    it('reads in chunks with nextv and prevv', async () => {
      const e = await fresh();
      await putAll(e, CF_LOCK, keys);
      const it = e.iterator(CF_LOCK, { upperBound: b('e') });
      expect(await it.nextv(3)).toEqual([]);
      await it.seek(b('b'));
      const first = await it.nextv(2);
      expect(keysOf(first)).toEqual(['b', 'ba']);
      expect(str(first[0]?.value)).toBe('v-b');
      expect(str(it.key())).toBe('c');
      expect(keysOf(await it.nextv(10))).toEqual(['c', 'd']);
      expect(it.valid()).toBe(false);
      await it.seekToLast();
      expect(keysOf(await it.prevv(3))).toEqual(['d', 'c', 'ba']);
      expect(str(it.key())).toBe('b');
      expect(keysOf(await it.prevv(3))).toEqual(['b', 'a']);
      expect(it.valid()).toBe(false);
      it.close();
    });

    it('scans with bounds, reverse and limit', async () => {
      const e = await fresh();
      await putAll(e, CF_WRITE, keys);
      expect(keysOf(await e.scan(CF_WRITE, { lowerBound: b('b'), upperBound: b('d') }))).toEqual(['b', 'ba', 'c']);
      expect(keysOf(await e.scan(CF_WRITE, { lowerBound: b('b'), upperBound: b('d'), reverse: true }))).toEqual(['c', 'ba', 'b']);
      expect(keysOf(await e.scan(CF_WRITE, { limit: 2 }))).toEqual(['a', 'b']);
      expect(keysOf(await e.scan(CF_WRITE, { limit: 2, reverse: true }))).toEqual(['e', 'd']);
      expect(await e.scan(CF_WRITE, { limit: 0 })).toEqual([]);
      expect(await e.scan(CF_WRITE, { lowerBound: b('d'), upperBound: b('d') })).toEqual([]);
      expect(await e.scan(CF_WRITE, { lowerBound: b('x'), upperBound: b('a') })).toEqual([]);
      expect(await e.scan(CF_DEFAULT)).toEqual([]);
    });

    it('refuses key() and next() when not positioned', async () => {
      const e = await fresh();
      const it = e.iterator(CF_DEFAULT);
      expect(() => it.key()).toThrow();
      expect(() => it.value()).toThrow();
      await expect(it.next()).rejects.toThrow();
      it.close();
      expect(() => it.valid()).toThrow(EngineClosedError);
      await expect(it.seekToFirst()).rejects.toThrow(EngineClosedError);
    });
  });

  describe('delete range', () => {
    it('removes exactly [start, end) of one column family', async () => {
      const e = await fresh();
      for (const cf of [CF_DEFAULT, CF_WRITE]) await putAll(e, cf, ['a', 'b', 'ba', 'c', 'd']);
      await e.deleteRange(CF_DEFAULT, b('b'), b('c'));
      expect(keysOf(await e.scan(CF_DEFAULT))).toEqual(['a', 'c', 'd']);
      expect(keysOf(await e.scan(CF_WRITE))).toEqual(['a', 'b', 'ba', 'c', 'd']);
      await e.deleteRange(CF_DEFAULT, b('d'), b('b'));
      await e.deleteRange(CF_DEFAULT, b('c'), b('c'));
      expect(keysOf(await e.scan(CF_DEFAULT))).toEqual(['a', 'c', 'd']);
      await e.deleteRange(CF_DEFAULT, new Uint8Array(0), b('zzz'));
      expect(await e.scan(CF_DEFAULT)).toEqual([]);
      await e.put(CF_DEFAULT, b('b'), b('back'));
      expect(keysOf(await e.scan(CF_DEFAULT))).toEqual(['b']);
    });
  });

  describe('large ranges', () => {
    it('writes, scans both ways, sizes and deletes a 100k-key range', async () => {
      const e = await fresh();
      const n = 100_000;
      const value = new Uint8Array(16).fill(0x61);
      for (let start = 0; start < n; start += 20_000) {
        const wb = e.writeBatch();
        for (let i = start; i < start + 20_000; i++) wb.put(CF_WRITE, numKey(i), value);
        await wb.write();
      }
      await e.put(CF_WRITE, b('j'), b('before'));
      await e.put(CF_WRITE, b('l'), b('after'));
      const lower = numKey(0);
      const upper = numKey(n);
      const fwd = await e.scan(CF_WRITE, { lowerBound: lower, upperBound: upper });
      expect(fwd.length).toBe(n);
      for (let i = 1; i < fwd.length; i++) {
        if (compareKeys((fwd[i - 1] as KvEntry).key, (fwd[i] as KvEntry).key) >= 0) throw new Error(`Keys out of order at ${i}`);
      }
      const rev = await e.scan(CF_WRITE, { lowerBound: lower, upperBound: upper, reverse: true });
      expect(rev.length).toBe(n);
      expect(str(rev[0]?.key)).toBe(str(numKey(n - 1)));
      const it = e.iterator(CF_WRITE, { lowerBound: lower, upperBound: upper });
      let count = 0;
      await it.seekToFirst();
      for (;;) {
        const chunk = await it.nextv(4096);
        if (chunk.length === 0) break;
        count += chunk.length;
      }
      expect(count).toBe(n);
      await it.seekToLast();
      count = 0;
      for (;;) {
        const chunk = await it.prevv(4096);
        if (chunk.length === 0) break;
        count += chunk.length;
      }
      expect(count).toBe(n);
      it.close();
      await e.flush();
      const stats = await e.approximateRangeStats(CF_WRITE, lower, upper);
      expect(stats.sizeBytes).toBeGreaterThan(n * 10);
      expect(stats.keys).toBeGreaterThan(n / 4);
      expect(stats.keys).toBeLessThan(n * 4);
      const none = await e.approximateRangeStats(CF_LOCK, lower, upper);
      expect(none.keys).toBe(0);
      await e.deleteRange(CF_WRITE, numKey(10_000), numKey(90_000));
      const left = await e.scan(CF_WRITE, { lowerBound: lower, upperBound: upper });
      expect(left.length).toBe(20_000);
      await e.compactRange(CF_WRITE);
      await e.compactRange(CF_WRITE, lower, upper);
      expect((await e.scan(CF_WRITE)).length).toBe(20_002);
      expect(str(await e.get(CF_WRITE, b('l')))).toBe('after');
    }, 120_000);
  });

  describe('lifecycle', () => {
    (supports.reopen === true ? it : it.skip)('keeps data across close and reopen', async () => {
      let e = await fresh();
      const wb = e.writeBatch();
      for (const cf of ALL_CFS) wb.put(cf, b('persist'), b(cf));
      wb.put(CF_DEFAULT, new Uint8Array(0), new Uint8Array(0));
      await wb.write({ sync: true });
      await e.put(CF_LOCK, b('unsynced'), b('1'));
      await e.deleteRange(CF_RAFT, b('a'), b('z'));
      e = await reopen(e);
      for (const cf of [CF_DEFAULT, CF_LOCK, CF_WRITE]) expect(str(await e.get(cf, b('persist')))).toBe(cf);
      expect(await e.get(CF_RAFT, b('persist'))).toBeUndefined();
      expect(str(await e.get(CF_LOCK, b('unsynced')))).toBe('1');
      expect((await e.get(CF_DEFAULT, new Uint8Array(0)))?.length).toBe(0);
      e = await reopen(e);
      expect(keysOf(await e.scan(CF_DEFAULT))).toEqual(['', 'persist']);
    });

    it('refuses every operation with EngineClosedError after close', async () => {
      const e = await fresh();
      await e.put(CF_DEFAULT, b('a'), b('1'));
      const snap = e.snapshot();
      const it = e.iterator(CF_DEFAULT);
      const wb = e.writeBatch();
      wb.put(CF_DEFAULT, b('b'), b('1'));
      await e.close();
      await e.close();
      expect(e.isClosed).toBe(true);
      await expect(e.get(CF_DEFAULT, b('a'))).rejects.toThrow(EngineClosedError);
      await expect(e.get(CF_DEFAULT, b('a'))).rejects.toMatchObject({ code: 'KV:Engine:Closed' });
      await expect(e.multiGet(CF_DEFAULT, [b('a')])).rejects.toThrow(EngineClosedError);
      await expect(e.put(CF_DEFAULT, b('a'), b('2'))).rejects.toThrow(EngineClosedError);
      await expect(e.delete(CF_DEFAULT, b('a'))).rejects.toThrow(EngineClosedError);
      await expect(e.deleteRange(CF_DEFAULT, b('a'), b('b'))).rejects.toThrow(EngineClosedError);
      await expect(e.scan(CF_DEFAULT)).rejects.toThrow(EngineClosedError);
      await expect(wb.write()).rejects.toThrow(EngineClosedError);
      await expect(e.approximateRangeStats(CF_DEFAULT, b('a'), b('b'))).rejects.toThrow(EngineClosedError);
      await expect(e.compactRange(CF_DEFAULT)).rejects.toThrow(EngineClosedError);
      await expect(e.flush()).rejects.toThrow(EngineClosedError);
      await expect(e.syncWal()).rejects.toThrow(EngineClosedError);
      expect(() => e.snapshot()).toThrow(EngineClosedError);
      expect(() => e.iterator(CF_DEFAULT)).toThrow(EngineClosedError);
      expect(() => e.writeBatch()).toThrow(EngineClosedError);
      await expect(snap.get(CF_DEFAULT, b('a'))).rejects.toThrow(EngineClosedError);
      await expect(it.seekToFirst()).rejects.toThrow(EngineClosedError);
      snap.close();
      it.close();
    });

    it('rejects an unknown column family as a programmer error', async () => {
      const e = await fresh();
      await expect(e.get('nope' as CfName, b('a'))).rejects.toThrow(TypeError);
      expect(() => e.writeBatch().put('nope' as CfName, b('a'), b('1'))).toThrow(TypeError);
    });
  });

  describe('model check', () => {
    it(`matches a sorted-map model under random operations (seed ${seed})`, async () => {
      const e = await fresh();
      const rnd = prng(seed);
      const model = new Map<CfName, Map<string, string>>(ALL_CFS.map((cf) => [cf, new Map()]));
      const keyOf = (): string => {
        const len = Math.floor(rnd() * 3);
        let s = '';
        for (let i = 0; i < len; i++) s += String.fromCharCode(0x61 + Math.floor(rnd() * 4));
        return s;
      };
      const pickCf = (): CfName => ALL_CFS[Math.floor(rnd() * ALL_CFS.length)] as CfName;
      const sortedKeys = (m: Map<string, string>): string[] => [...m.keys()].sort((x, y) => compareKeys(b(x), b(y)));
      const snapshots: { snap: ReturnType<KvEngine['snapshot']>; model: Map<CfName, Map<string, string>> }[] = [];
      try {
        for (let step = 0; step < 300; step++) {
          const wb = e.writeBatch();
          const ops = 1 + Math.floor(rnd() * 6);
          for (let i = 0; i < ops; i++) {
            const cf = pickCf();
            const m = model.get(cf) as Map<string, string>;
            const r = rnd();
            const k = keyOf();
            if (r < 0.6) {
              const v = `${step}.${i}`;
              wb.put(cf, b(k), b(v));
              m.set(k, v);
            } else if (r < 0.85) {
              wb.delete(cf, b(k));
              m.delete(k);
            } else {
              const k2 = keyOf();
              wb.deleteRange(cf, b(k), b(k2));
              for (const mk of [...m.keys()]) if (compareKeys(b(mk), b(k)) >= 0 && compareKeys(b(mk), b(k2)) < 0) m.delete(mk);
            }
          }
          await wb.write();
          if (rnd() < 0.1) {
            snapshots.push({ snap: e.snapshot(), model: new Map([...model].map(([cf, m]) => [cf, new Map(m)])) });
          }
          // Check a random CF of the engine, or of a snapshot, with a random bounded iterator.
          const useSnap = snapshots.length > 0 && rnd() < 0.3;
          const target = useSnap ? (snapshots[Math.floor(rnd() * snapshots.length)] as (typeof snapshots)[number]) : undefined;
          const cf = pickCf();
          const m = (target?.model ?? model).get(cf) as Map<string, string>;
          const lo = rnd() < 0.5 ? keyOf() : undefined;
          const hi = rnd() < 0.5 ? keyOf() : undefined;
          const expected = sortedKeys(m).filter(
            (k) => (lo === undefined || compareKeys(b(k), b(lo)) >= 0) && (hi === undefined || compareKeys(b(k), b(hi)) < 0),
          );
          const src = target?.snap ?? e;
          const it = src.iterator(cf, { ...(lo === undefined ? {} : { lowerBound: b(lo) }), ...(hi === undefined ? {} : { upperBound: b(hi) }) });
          const context = `SEED=${seed} step ${step} cf ${cf} bounds [${lo}, ${hi}) snapshot=${useSnap}`;
          expect({ context, keys: await collectForward(it) }).toEqual({ context, keys: expected });
          expect({ context, keys: await collectBackward(it) }).toEqual({ context, keys: [...expected].reverse() });
          const probe = keyOf();
          const at = expected.findIndex((k) => compareKeys(b(k), b(probe)) >= 0);
          expect({ context, probe, seek: (await it.seek(b(probe))) ? str(it.key()) : null }).toEqual({ context, probe, seek: at < 0 ? null : expected[at] });
          if (it.valid()) {
            const nextIdx = at + 1;
            expect({ context, probe, next: (await it.next()) ? str(it.key()) : null }).toEqual({ context, probe, next: expected[nextIdx] ?? null });
          }
          let lastLe = -1;
          for (let i = 0; i < expected.length; i++) if (compareKeys(b(expected[i] as string), b(probe)) <= 0) lastLe = i;
          expect({ context, probe, seekForPrev: (await it.seekForPrev(b(probe))) ? str(it.key()) : null }).toEqual({
            context,
            probe,
            seekForPrev: lastLe < 0 ? null : expected[lastLe],
          });
          if (it.valid()) {
            expect({ context, probe, prev: (await it.prev()) ? str(it.key()) : null }).toEqual({ context, probe, prev: lastLe > 0 ? expected[lastLe - 1] : null });
          }
          it.close();
          const k = keyOf();
          expect({ context, k, v: str(await src.get(cf, b(k))) }).toEqual({ context, k, v: m.get(k) });
        }
      } finally {
        for (const s of snapshots) s.snap.close();
      }
    }, 60_000);
  });
}
