import assert from 'node:assert/strict';
import type { Engine, EngineContext, Modify } from '../engine';

/** What {@link runEngineSuite} needs to test one `Engine` implementation. */
export interface EngineSuiteOptions {
  /** Makes a fresh, empty engine, and a function releasing it (and whatever is under it). */
  readonly factory: () => Promise<{ engine: Engine; ctx?: EngineContext; cleanup: () => Promise<void> }>;
}

/** A test-framework function: `it` of Jest, or anything with the same shape. */
export type TestFn = (name: string, fn: () => Promise<void>) => void;

const enc = new TextEncoder();
const b = (s: string): Uint8Array => enc.encode(s);
const s = (u: Uint8Array | undefined): string | undefined => (u === undefined ? undefined : Buffer.from(u).toString());

/**
 * The conformance suite of {@link Engine}: every implementation (LocalEngine, RaftKv) runs it in
 * its own spec, e.g. `runEngineSuite({ factory }, it)` inside a `describe`. Checks atomic ordered
 * writes across column families, delete and delete range, snapshot isolation, iterators in both
 * directions within bounds, and concurrent writes.
 */
export function runEngineSuite(options: EngineSuiteOptions, test: TestFn): void {
  const withEngine = (fn: (engine: Engine, ctx: EngineContext) => Promise<void>) => async () => {
    const { engine, ctx, cleanup } = await options.factory();
    try {
      await fn(engine, ctx ?? {});
    } finally {
      await cleanup();
    }
  };

  test(
    'writes are visible to later snapshots in every column family',
    withEngine(async (engine, ctx) => {
      await engine.write(ctx, [
        { type: 'put', cf: 'default', key: b('a'), value: b('1') },
        { type: 'put', cf: 'lock', key: b('a'), value: b('2') },
        { type: 'put', cf: 'write', key: b('a'), value: b('3') },
      ]);
      const snap = await engine.snapshot(ctx);
      assert.equal(s(await snap.get('default', b('a'))), '1');
      assert.equal(s(await snap.get('lock', b('a'))), '2');
      assert.equal(s(await snap.get('write', b('a'))), '3');
      assert.equal(await snap.get('default', b('b')), undefined);
      snap.close();
    }),
  );

  test(
    'modifies of one write apply in order; an empty write is a no-op',
    withEngine(async (engine, ctx) => {
      await engine.write(ctx, [
        { type: 'put', cf: 'default', key: b('k'), value: b('1') },
        { type: 'put', cf: 'default', key: b('k'), value: b('2') },
        { type: 'put', cf: 'default', key: b('d'), value: b('x') },
        { type: 'delete', cf: 'default', key: b('d') },
      ]);
      await engine.write(ctx, []);
      const snap = await engine.snapshot(ctx);
      assert.equal(s(await snap.get('default', b('k'))), '2');
      assert.equal(await snap.get('default', b('d')), undefined);
      snap.close();
    }),
  );

  test(
    'delete range removes [start, end) of one column family only',
    withEngine(async (engine, ctx) => {
      const puts: Modify[] = [];
      for (const k of ['a', 'b', 'c', 'd']) {
        puts.push({ type: 'put', cf: 'default', key: b(k), value: b(k) });
        puts.push({ type: 'put', cf: 'write', key: b(k), value: b(k) });
      }
      await engine.write(ctx, puts);
      await engine.write(ctx, [{ type: 'deleteRange', cf: 'default', startKey: b('b'), endKey: b('d') }]);
      const snap = await engine.snapshot(ctx);
      const left = await snap.scan('default');
      assert.deepEqual(left.map((e) => s(e.key)), ['a', 'd']);
      assert.equal((await snap.scan('write')).length, 4);
      snap.close();
    }),
  );

  test(
    'a snapshot does not see later writes',
    withEngine(async (engine, ctx) => {
      await engine.write(ctx, [{ type: 'put', cf: 'default', key: b('a'), value: b('old') }]);
      const snap = await engine.snapshot(ctx);
      await engine.write(ctx, [
        { type: 'put', cf: 'default', key: b('a'), value: b('new') },
        { type: 'put', cf: 'default', key: b('b'), value: b('new') },
      ]);
      assert.equal(s(await snap.get('default', b('a'))), 'old');
      assert.equal(await snap.get('default', b('b')), undefined);
      const it = snap.iterator('default');
      assert.equal(await it.seekToFirst(), true);
      assert.equal(s(it.key()), 'a');
      assert.equal(await it.next(), false);
      it.close();
      snap.close();
      const snap2 = await engine.snapshot(ctx);
      assert.equal(s(await snap2.get('default', b('a'))), 'new');
      snap2.close();
    }),
  );

  test(
    'iterators seek both ways within bounds and return origin keys',
    withEngine(async (engine, ctx) => {
      const keys = ['', 'a', 'b', 'ba', 'c', '\xff'];
      await engine.write(
        ctx,
        keys.map((k) => ({ type: 'put', cf: 'write', key: Uint8Array.from(Buffer.from(k, 'latin1')), value: b('v' + k) })),
      );
      const snap = await engine.snapshot(ctx);
      const all = await snap.scan('write');
      assert.deepEqual(
        all.map((e) => Buffer.from(e.key).toString('latin1')),
        keys,
      );
      const it = snap.iterator('write', { lowerBound: b('a'), upperBound: b('c') });
      assert.equal(await it.seek(b('b')), true);
      assert.equal(s(it.key()), 'b');
      assert.equal(await it.next(), true);
      assert.equal(s(it.key()), 'ba');
      assert.equal(await it.next(), false);
      assert.equal(await it.seekForPrev(b('bz')), true);
      assert.equal(s(it.key()), 'ba');
      assert.equal(await it.seekToLast(), true);
      assert.equal(s(it.key()), 'ba');
      assert.equal(await it.seekToFirst(), true);
      assert.equal(s(it.key()), 'a');
      assert.equal(await it.prev(), false);
      assert.equal(await it.seekForPrev(b('0')), false);
      const chunk = await (async () => {
        await it.seekToFirst();
        return it.nextv(10);
      })();
      assert.deepEqual(chunk.map((e) => s(e.key)), ['a', 'b', 'ba']);
      it.close();
      const rev = await snap.scan('write', { lowerBound: b('a'), upperBound: b('c'), reverse: true, limit: 2 });
      assert.deepEqual(rev.map((e) => s(e.key)), ['ba', 'b']);
      snap.close();
    }),
  );

  test(
    'concurrent writes all land, in call order',
    withEngine(async (engine, ctx) => {
      const n = 200;
      const writes: Promise<void>[] = [];
      for (let i = 0; i < n; i++) {
        writes.push(
          engine.write(ctx, [
            { type: 'put', cf: 'default', key: b(`k${i % 10}`), value: b(String(i)) },
            { type: 'put', cf: 'write', key: b(`w${String(i).padStart(4, '0')}`), value: b('') },
          ]),
        );
      }
      await Promise.all(writes);
      const snap = await engine.snapshot(ctx);
      for (let j = 0; j < 10; j++) assert.equal(s(await snap.get('default', b(`k${j}`))), String(n - 10 + j));
      assert.equal((await snap.scan('write')).length, n);
      snap.close();
    }),
  );

  test(
    'an aborted write writes nothing',
    withEngine(async (engine, ctx) => {
      const ac = new AbortController();
      ac.abort(new Error('stop'));
      await assert.rejects(
        engine.write(ctx, [{ type: 'put', cf: 'default', key: b('a'), value: b('1') }], { signal: ac.signal }),
      );
      const snap = await engine.snapshot(ctx);
      assert.equal(await snap.get('default', b('a')), undefined);
      snap.close();
    }),
  );
}
