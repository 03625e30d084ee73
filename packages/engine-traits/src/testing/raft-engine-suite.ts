/// <reference types="jest" />
import {
  EntryCompactedError,
  EntryUnavailableError,
  type RaftEngine,
  RaftEngineClosedError,
  type RaftEntry,
  type RaftLocalState,
} from '../raft-engine';

/** Makes engines for {@link runRaftEngineSuite}. */
export interface RaftEngineFactory {
  /** A new engine over new, empty storage. */
  create(): Promise<RaftEngine>;
  /**
   * Opens again the storage of `closed` (an engine made by `create` or `reopen`, already
   * closed). Required when `supports.reopen` is true.
   */
  reopen?(closed: RaftEngine): Promise<RaftEngine>;
  /** Called once after the suite (remove temporary directories and the like). */
  cleanup?(): Promise<void>;
}

/** Optional capabilities of the engine under test; tests that need one are skipped without it. */
export interface RaftEngineSuiteSupports {
  /** Data survives `close()` and `factory.reopen`. */
  readonly reopen?: boolean;
}

/** Options of {@link runRaftEngineSuite}. */
export interface RaftEngineSuiteOptions {
  readonly factory: RaftEngineFactory;
  readonly supports?: RaftEngineSuiteSupports;
  /** Seed of the randomized model test; default `RAFT_SUITE_SEED` from the environment, else 1. */
  readonly seed?: number;
  /** Operations of the randomized model test. Default 400. */
  readonly modelSteps?: number;
}

const enc = new TextEncoder();

/** An entry whose payload names it, so mix-ups show in a diff. */
function entry(index: bigint, term: bigint, tag = ''): RaftEntry {
  return {
    entryType: index % 7n === 0n ? 1 : 0,
    term,
    index,
    data: enc.encode(`data-${index}-${term}${tag}`),
    context: index % 3n === 0n ? enc.encode(`ctx-${index}`) : new Uint8Array(0),
    syncLog: false,
  };
}

function entries(from: bigint, to: bigint, term: bigint, tag = ''): RaftEntry[] {
  const out: RaftEntry[] = [];
  for (let i = from; i < to; i++) out.push(entry(i, term, tag));
  return out;
}

/** A plain comparable form (byte arrays of any subclass become number arrays). */
function norm(e: RaftEntry | undefined): unknown {
  if (e === undefined) return undefined;
  return {
    entryType: e.entryType,
    term: e.term,
    index: e.index,
    data: Array.from(e.data),
    context: Array.from(e.context),
    syncLog: e.syncLog,
  };
}

const normAll = (es: readonly RaftEntry[]): unknown[] => es.map(norm);

function state(term: bigint, commit: bigint, lastIndex: bigint): RaftLocalState {
  return { hardState: { term, vote: 3n, commit }, lastIndex };
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

async function appendAll(engine: RaftEngine, regionId: bigint, es: RaftEntry[], sync = false): Promise<void> {
  const batch = engine.logBatch();
  batch.append(regionId, es);
  await engine.write(batch, { sync });
}

async function fetchAll(engine: RaftEngine, regionId: bigint): Promise<RaftEntry[]> {
  const first = await engine.firstIndex(regionId);
  const last = await engine.lastIndex(regionId);
  if (first === undefined || last === undefined) return [];
  return engine.fetchEntriesTo(regionId, { low: first, high: last + 1n });
}

/** A simple model of one region's log, as the RaftEngine contract describes it. */
class ModelLog {
  entries: RaftEntry[] = [];
  get first(): bigint | undefined {
    return this.entries[0]?.index;
  }
  get last(): bigint | undefined {
    return this.entries[this.entries.length - 1]?.index;
  }
  append(es: RaftEntry[]): void {
    const start = (es[0] as RaftEntry).index;
    const first = this.first;
    const last = this.last;
    if (first === undefined || last === undefined || start < first || start > last + 1n) this.entries = [];
    else this.entries = this.entries.slice(0, Number(start - first));
    this.entries.push(...es);
  }
  cut(from: bigint): void {
    this.entries = this.entries.filter((e) => e.index < from);
  }
  compact(to: bigint): void {
    this.entries = this.entries.filter((e) => e.index >= to);
  }
}

/**
 * The conformance suite of {@link RaftEngine} (STYLE.md §7): every implementation runs it from
 * its own spec with a factory. Uses jest globals (`describe`, `it`, `expect`), so import it only
 * from spec files.
 */
export function runRaftEngineSuite(options: RaftEngineSuiteOptions): void {
  const { factory } = options;
  const supportsReopen = options.supports?.reopen === true;
  const seed = options.seed ?? Number(process.env['RAFT_SUITE_SEED'] ?? 1);
  const modelSteps = options.modelSteps ?? 400;
  const open: RaftEngine[] = [];

  async function create(): Promise<RaftEngine> {
    const e = await factory.create();
    open.push(e);
    return e;
  }

  async function reopen(e: RaftEngine): Promise<RaftEngine> {
    await e.close();
    if (factory.reopen === undefined) throw new Error('supports.reopen is set but factory.reopen is missing');
    const again = await factory.reopen(e);
    open.push(again);
    return again;
  }

  afterEach(async () => {
    for (const e of open.splice(0)) await e.close();
  });

  afterAll(async () => {
    await factory.cleanup?.();
  });

  const itReopen = supportsReopen ? it : it.skip;

  describe('RaftEngine conformance', () => {
    it('starts empty', async () => {
      const e = await create();
      expect(await e.regionIds()).toEqual([]);
      expect(await e.firstIndex(1n)).toBeUndefined();
      expect(await e.lastIndex(1n)).toBeUndefined();
      expect(await e.getRaftState(1n)).toBeUndefined();
      expect(await e.getEntry(1n, 1n)).toBeUndefined();
      expect(await e.fetchEntriesTo(1n, { low: 1n, high: 1n })).toEqual([]);
      await expect(e.fetchEntriesTo(1n, { low: 1n, high: 2n })).rejects.toBeInstanceOf(EntryUnavailableError);
    });

    it('appends entries and reads them back by range and by index', async () => {
      const e = await create();
      const es = entries(1n, 11n, 1n);
      await appendAll(e, 1n, es);
      expect(await e.firstIndex(1n)).toBe(1n);
      expect(await e.lastIndex(1n)).toBe(10n);
      expect(normAll(await e.fetchEntriesTo(1n, { low: 3n, high: 7n }))).toEqual(normAll(es.slice(2, 6)));
      expect(normAll(await e.fetchEntriesTo(1n, { low: 1n, high: 11n }))).toEqual(normAll(es));
      expect(norm(await e.getEntry(1n, 7n))).toEqual(norm(es[6]));
      expect(await e.getEntry(1n, 11n)).toBeUndefined();
      expect(await e.getEntry(1n, 0n)).toBeUndefined();
      expect(await e.getEntry(2n, 1n)).toBeUndefined();
      expect(await e.regionIds()).toEqual([1n]);
    });

    it('appends in several batches and keeps the log contiguous', async () => {
      const e = await create();
      await appendAll(e, 1n, entries(1n, 4n, 1n));
      await appendAll(e, 1n, entries(4n, 9n, 1n));
      expect(normAll(await fetchAll(e, 1n))).toEqual(normAll(entries(1n, 9n, 1n)));
    });

    it('rejects ranges outside the log with typed errors', async () => {
      const e = await create();
      await appendAll(e, 1n, entries(5n, 10n, 2n));
      const low = e.fetchEntriesTo(1n, { low: 4n, high: 6n });
      await expect(low).rejects.toBeInstanceOf(EntryCompactedError);
      await expect(low).rejects.toMatchObject({ code: 'KV:RaftEngine:EntryCompacted', regionId: 1n });
      const high = e.fetchEntriesTo(1n, { low: 6n, high: 11n });
      await expect(high).rejects.toBeInstanceOf(EntryUnavailableError);
      await expect(high).rejects.toMatchObject({ code: 'KV:RaftEngine:EntryUnavailable', regionId: 1n, lastIndex: 9n });
      expect(normAll(await e.fetchEntriesTo(1n, { low: 9n, high: 10n }))).toEqual(normAll([entry(9n, 2n)]));
      expect(await e.fetchEntriesTo(1n, { low: 10n, high: 10n })).toEqual([]);
      await expect(e.fetchEntriesTo(1n, { low: 7n, high: 6n })).rejects.toBeInstanceOf(RangeError);
    });

    it('limits a fetch by maxSizeBytes but always returns at least one entry', async () => {
      const e = await create();
      const es = entries(1n, 21n, 1n);
      await appendAll(e, 1n, es);
      const one = await e.fetchEntriesTo(1n, { low: 1n, high: 21n, maxSizeBytes: 0 });
      expect(normAll(one)).toEqual(normAll(es.slice(0, 1)));
      const all = await e.fetchEntriesTo(1n, { low: 1n, high: 21n, maxSizeBytes: 1 << 30 });
      expect(all).toHaveLength(20);
      let previous = 1;
      for (const limit of [10, 40, 100, 200, 300]) {
        const got = await e.fetchEntriesTo(1n, { low: 1n, high: 21n, maxSizeBytes: limit });
        expect(got.length).toBeGreaterThanOrEqual(previous);
        expect(normAll(got)).toEqual(normAll(es.slice(0, got.length)));
        previous = got.length;
      }
      expect(previous).toBeGreaterThan(1);
      expect(previous).toBeLessThan(20);
    });

    it('replaces a conflicting tail when appending at an existing index', async () => {
      const e = await create();
      await appendAll(e, 1n, entries(1n, 11n, 1n));
      await appendAll(e, 1n, entries(6n, 9n, 2n));
      expect(await e.lastIndex(1n)).toBe(8n);
      expect(normAll(await fetchAll(e, 1n))).toEqual(normAll([...entries(1n, 6n, 1n), ...entries(6n, 9n, 2n)]));
      expect(await e.getEntry(1n, 9n)).toBeUndefined();
    });

    it('replaces the whole log when an append starts past the end or below the start', async () => {
      const e = await create();
      await appendAll(e, 1n, entries(5n, 11n, 1n));
      await appendAll(e, 1n, entries(20n, 23n, 3n));
      expect(await e.firstIndex(1n)).toBe(20n);
      expect(normAll(await fetchAll(e, 1n))).toEqual(normAll(entries(20n, 23n, 3n)));
      await appendAll(e, 1n, entries(2n, 4n, 4n));
      expect(await e.firstIndex(1n)).toBe(2n);
      expect(await e.lastIndex(1n)).toBe(3n);
    });

    it('cuts the log from an index', async () => {
      const e = await create();
      await appendAll(e, 1n, entries(1n, 11n, 1n));
      const b = e.logBatch();
      b.cutLogs(1n, 6n);
      await e.write(b);
      expect(await e.lastIndex(1n)).toBe(5n);
      await expect(e.fetchEntriesTo(1n, { low: 5n, high: 7n })).rejects.toBeInstanceOf(EntryUnavailableError);
      const b2 = e.logBatch();
      b2.cutLogs(1n, 100n);
      await e.write(b2);
      expect(await e.lastIndex(1n)).toBe(5n);
      const b3 = e.logBatch();
      b3.cutLogs(1n, 1n);
      await e.write(b3);
      expect(await e.lastIndex(1n)).toBeUndefined();
      expect(await e.regionIds()).toEqual([]);
    });

    it('compacts the log below an index', async () => {
      const e = await create();
      await appendAll(e, 1n, entries(1n, 11n, 1n));
      await e.compactTo(1n, 5n);
      expect(await e.firstIndex(1n)).toBe(5n);
      expect(await e.getEntry(1n, 4n)).toBeUndefined();
      await expect(e.fetchEntriesTo(1n, { low: 4n, high: 6n })).rejects.toBeInstanceOf(EntryCompactedError);
      expect(normAll(await e.fetchEntriesTo(1n, { low: 5n, high: 7n }))).toEqual(normAll(entries(5n, 7n, 1n)));
      await e.compactTo(1n, 3n); // below the first index: nothing changes
      expect(await e.firstIndex(1n)).toBe(5n);
      const b = e.logBatch();
      b.putRaftState(1n, state(1n, 10n, 10n));
      b.compactTo(1n, 11n);
      await e.write(b);
      expect(await e.firstIndex(1n)).toBeUndefined();
      await expect(e.fetchEntriesTo(1n, { low: 10n, high: 11n })).rejects.toBeInstanceOf(EntryCompactedError);
      await appendAll(e, 1n, entries(11n, 13n, 2n));
      expect(await e.firstIndex(1n)).toBe(11n);
      expect(await e.lastIndex(1n)).toBe(12n);
    });

    it('stores, replaces and removes Raft states', async () => {
      const e = await create();
      const b = e.logBatch();
      b.putRaftState(1n, state(1n, 0n, 0n));
      b.putRaftState(2n, { hardState: undefined, lastIndex: 7n });
      await e.write(b, { sync: true });
      expect(await e.getRaftState(1n)).toEqual(state(1n, 0n, 0n));
      expect(await e.getRaftState(2n)).toEqual({ hardState: undefined, lastIndex: 7n });
      expect(await e.regionIds()).toEqual([1n, 2n]);
      const b2 = e.logBatch();
      b2.putRaftState(1n, state(5n, 9n, 12n));
      b2.removeRaftState(2n);
      await e.write(b2);
      expect(await e.getRaftState(1n)).toEqual(state(5n, 9n, 12n));
      expect(await e.getRaftState(2n)).toBeUndefined();
      expect(await e.regionIds()).toEqual([1n]);
    });

    it('does not share state objects with callers', async () => {
      const e = await create();
      const s = state(1n, 2n, 3n);
      const b = e.logBatch();
      b.putRaftState(1n, s);
      (s.hardState as { term: bigint }).term = 99n;
      s.lastIndex = 99n;
      await e.write(b);
      const got = await e.getRaftState(1n);
      expect(got).toEqual(state(1n, 2n, 3n));
      (got?.hardState as { commit: bigint }).commit = 77n;
      expect(await e.getRaftState(1n)).toEqual(state(1n, 2n, 3n));
    });

    it('applies one batch over many regions in call order', async () => {
      const e = await create();
      const b = e.logBatch();
      expect(b.isEmpty()).toBe(true);
      for (let r = 1n; r <= 20n; r++) {
        b.append(r, entries(1n, 6n + r, r));
        b.putRaftState(r, state(r, 1n, 5n + r));
      }
      b.cutLogs(3n, 4n); // after the append of region 3 in the same batch
      b.append(4n, entries(3n, 5n, 9n)); // overwrites region 4's tail
      b.compactTo(5n, 3n);
      b.removeRaftState(6n);
      expect(b.isEmpty()).toBe(false);
      expect(b.persistSizeBytes()).toBeGreaterThan(0);
      const written = await e.write(b, { sync: true });
      expect(written).toBeGreaterThan(0);
      expect(await e.regionIds()).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(i + 1)));
      expect(await e.lastIndex(3n)).toBe(3n);
      expect(normAll(await fetchAll(e, 4n))).toEqual(normAll([...entries(1n, 3n, 4n), ...entries(3n, 5n, 9n)]));
      expect(await e.firstIndex(5n)).toBe(3n);
      expect(await e.getRaftState(6n)).toBeUndefined();
      expect(await e.getRaftState(20n)).toEqual(state(20n, 1n, 25n));
      expect(normAll(await fetchAll(e, 20n))).toEqual(normAll(entries(1n, 26n, 20n)));
    });

    it('lets a batch be cleared and reused, and ignores later changes to a written batch', async () => {
      const e = await create();
      const b = e.logBatch();
      b.append(1n, entries(1n, 3n, 1n));
      const p = e.write(b);
      b.clear();
      expect(b.isEmpty()).toBe(true);
      expect(b.persistSizeBytes()).toBe(0);
      b.append(1n, entries(3n, 5n, 1n));
      await p;
      await e.write(b);
      expect(normAll(await fetchAll(e, 1n))).toEqual(normAll(entries(1n, 5n, 1n)));
      expect(await e.write(e.logBatch())).toBe(0);
      await e.write(e.logBatch(), { sync: true });
    });

    it('rejects non-consecutive entries in one append', async () => {
      const e = await create();
      const b = e.logBatch();
      expect(() => b.append(1n, [entry(1n, 1n), entry(3n, 1n)])).toThrow(RangeError);
      expect(b.isEmpty()).toBe(true);
    });

    it('keeps concurrent writes in call order', async () => {
      const e = await create();
      const writes: Promise<number>[] = [];
      for (let i = 1n; i <= 50n; i++) {
        const b = e.logBatch();
        b.append(1n, [entry(i, 1n)]);
        b.putRaftState(1n, state(1n, i, i));
        b.append(100n + (i % 5n), [entry(i, 1n, 'x')]); // regions 100..104 get gapped appends
        writes.push(e.write(b, { sync: i % 3n === 0n }));
      }
      await Promise.all(writes);
      expect(normAll(await fetchAll(e, 1n))).toEqual(normAll(entries(1n, 51n, 1n)));
      expect(await e.getRaftState(1n)).toEqual(state(1n, 50n, 50n));
      // Each append to 100+k skips 4 indexes, so it replaces that region's log.
      expect(normAll(await fetchAll(e, 100n))).toEqual(normAll([entry(50n, 1n, 'x')]));
      expect(normAll(await fetchAll(e, 101n))).toEqual(normAll([entry(46n, 1n, 'x')]));
    });

    it('handles large indexes, terms and region ids (uint64)', async () => {
      const e = await create();
      const big = (1n << 63n) + 5n;
      const es = [entry(big, big - 1n), entry(big + 1n, big - 1n)];
      const b = e.logBatch();
      b.append(big, es);
      b.putRaftState(big, { hardState: { term: big, vote: big, commit: big }, lastIndex: big + 1n });
      b.putRaftState(2n ** 53n + 1n, state(1n, 1n, 1n));
      await e.write(b, { sync: true });
      expect(normAll(await fetchAll(e, big))).toEqual(normAll(es));
      expect(await e.getRaftState(big)).toEqual({ hardState: { term: big, vote: big, commit: big }, lastIndex: big + 1n });
      expect(await e.regionIds()).toEqual([2n ** 53n + 1n, big]);
    });

    it('reports an approximate size that grows with data', async () => {
      const e = await create();
      const before = await e.approximateSizeBytes();
      await appendAll(e, 1n, entries(1n, 101n, 1n));
      expect(await e.approximateSizeBytes()).toBeGreaterThan(before);
    });

    it('purges expired storage without changing data', async () => {
      const e = await create();
      for (let i = 1n; i <= 200n; i += 20n) await appendAll(e, 1n, entries(i, i + 20n, 1n), true);
      await appendAll(e, 2n, entries(1n, 5n, 1n), true);
      await e.compactTo(1n, 190n);
      const pinning = await e.purgeExpiredFiles();
      expect(pinning.every((r) => r === 1n || r === 2n)).toBe(true);
      expect(normAll(await fetchAll(e, 1n))).toEqual(normAll(entries(190n, 201n, 1n)));
      expect(normAll(await fetchAll(e, 2n))).toEqual(normAll(entries(1n, 5n, 1n)));
    });

    it('syncs on demand', async () => {
      const e = await create();
      await appendAll(e, 1n, entries(1n, 3n, 1n));
      await e.sync();
      expect(await e.lastIndex(1n)).toBe(2n);
    });

    it('refuses every call after close with RaftEngineClosedError, and close is idempotent', async () => {
      const e = await create();
      const b = e.logBatch();
      b.append(1n, entries(1n, 3n, 1n));
      const pending = e.write(b, { sync: true });
      const closing = e.close();
      await expect(pending).resolves.toBeGreaterThan(0); // issued before close: completes
      await closing;
      await e.close();
      const calls: [string, () => Promise<unknown>][] = [
        ['write', () => e.write(e.logBatch(), { sync: true })],
        ['fetchEntriesTo', () => e.fetchEntriesTo(1n, { low: 1n, high: 2n })],
        ['getEntry', () => e.getEntry(1n, 1n)],
        ['firstIndex', () => e.firstIndex(1n)],
        ['lastIndex', () => e.lastIndex(1n)],
        ['getRaftState', () => e.getRaftState(1n)],
        ['compactTo', () => e.compactTo(1n, 2n)],
        ['sync', () => e.sync()],
        ['purgeExpiredFiles', () => e.purgeExpiredFiles()],
        ['approximateSizeBytes', () => e.approximateSizeBytes()],
        ['regionIds', () => e.regionIds()],
      ];
      for (const [name, call] of calls) {
        let error: unknown;
        try {
          await call();
        } catch (err: unknown) {
          error = err;
        }
        expect([name, error instanceof RaftEngineClosedError]).toEqual([name, true]);
        expect((error as RaftEngineClosedError).code).toBe('KV:RaftEngine:Closed');
      }
    });

    itReopen('keeps entries, states, cuts and compactions across reopen', async () => {
      let e = await create();
      const b = e.logBatch();
      b.append(1n, entries(1n, 21n, 1n));
      b.append(2n, entries(1n, 6n, 2n));
      b.putRaftState(1n, state(1n, 20n, 20n));
      b.putRaftState(3n, { hardState: undefined, lastIndex: 0n });
      await e.write(b, { sync: true });
      const b2 = e.logBatch();
      b2.compactTo(1n, 8n);
      b2.cutLogs(2n, 4n);
      b2.append(1n, entries(15n, 18n, 2n));
      b2.removeRaftState(3n);
      b2.putRaftState(4n, state(4n, 4n, 4n));
      await e.write(b2, { sync: true });
      e = await reopen(e);
      expect(await e.regionIds()).toEqual([1n, 2n, 4n]);
      expect(await e.firstIndex(1n)).toBe(8n);
      expect(normAll(await fetchAll(e, 1n))).toEqual(normAll([...entries(8n, 15n, 1n), ...entries(15n, 18n, 2n)]));
      expect(normAll(await fetchAll(e, 2n))).toEqual(normAll(entries(1n, 4n, 2n)));
      expect(await e.getRaftState(1n)).toEqual(state(1n, 20n, 20n));
      expect(await e.getRaftState(3n)).toBeUndefined();
      expect(await e.getRaftState(4n)).toEqual(state(4n, 4n, 4n));
      // And it keeps working after the reopen.
      await appendAll(e, 2n, entries(4n, 6n, 3n), true);
      e = await reopen(e);
      expect(normAll(await fetchAll(e, 2n))).toEqual(normAll([...entries(1n, 4n, 2n), ...entries(4n, 6n, 3n)]));
    });

    it(`matches a model under random batches (seed ${seed})`, async () => {
      let e = await create();
      const rand = prng(seed);
      const pick = (n: number): number => Math.floor(rand() * n);
      const model = new Map<bigint, ModelLog>();
      const states = new Map<bigint, RaftLocalState>();
      const logOf = (r: bigint): ModelLog => {
        let m = model.get(r);
        if (m === undefined) {
          m = new ModelLog();
          model.set(r, m);
        }
        return m;
      };
      const check = async (): Promise<void> => {
        const expectedIds = [...model.keys(), ...states.keys()]
          .filter((r, i, all) => all.indexOf(r) === i && (logOf(r).entries.length > 0 || states.has(r)))
          .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        expect(await e.regionIds()).toEqual(expectedIds);
        for (let r = 1n; r <= 6n; r++) {
          const m = logOf(r);
          expect([r, await e.firstIndex(r), await e.lastIndex(r)]).toEqual([r, m.first, m.last]);
          expect(normAll(await fetchAll(e, r))).toEqual(normAll(m.entries));
          expect(await e.getRaftState(r)).toEqual(states.get(r));
          if (m.first !== undefined && m.last !== undefined && m.last > m.first) {
            const lo = m.first + BigInt(pick(Number(m.last - m.first)));
            const got = await e.fetchEntriesTo(r, { low: lo, high: m.last + 1n, maxSizeBytes: pick(200) });
            expect(got.length).toBeGreaterThanOrEqual(1);
            expect(normAll(got)).toEqual(normAll(m.entries.slice(Number(lo - m.first), Number(lo - m.first) + got.length)));
          }
        }
      };
      for (let step = 0; step < modelSteps; step++) {
        const b = e.logBatch();
        const ops = 1 + pick(4);
        for (let k = 0; k < ops; k++) {
          const r = BigInt(1 + pick(6));
          const m = logOf(r);
          const what = pick(10);
          if (what < 5) {
            const base = m.last === undefined ? BigInt(1 + pick(5)) : m.last + 1n - BigInt(pick(3));
            const start = base < 1n ? 1n : base;
            const es = entries(start, start + BigInt(1 + pick(6)), BigInt(step), `-${step}`);
            b.append(r, es);
            m.append(es);
          } else if (what === 5) {
            const end = (m.last ?? 0n) - BigInt(pick(4));
            const at = end < 0n ? 0n : end;
            b.cutLogs(r, at);
            m.cut(at);
          } else if (what === 6) {
            const at = (m.first ?? 1n) + BigInt(pick(4));
            b.compactTo(r, at);
            m.compact(at);
          } else if (what < 9) {
            const s = state(BigInt(step), BigInt(pick(100)), m.last ?? 0n);
            b.putRaftState(r, s);
            states.set(r, s);
          } else {
            b.removeRaftState(r);
            states.delete(r);
          }
        }
        await e.write(b, { sync: pick(4) === 0 });
        if (step % 50 === 49) await check();
        if (supportsReopen && step % 150 === 149) {
          e = await reopen(e);
          await check();
        }
      }
      await check();
    }, 60_000);
  });
}
