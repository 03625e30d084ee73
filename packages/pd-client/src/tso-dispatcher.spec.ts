import { pdpb } from '@tikv-ts/proto';
import { SeededRng } from '@tikv-ts/util';
import { ManualClock, drainMicrotasks } from '@tikv-ts/util/testing';
import { PdClientClosedError, PdNotBootstrappedError, PdTsoStreamError } from './errors';
import { TsoDispatcher, composeTs, type TsoDispatcherOptions, type TsoStreamHandlers } from './tso-dispatcher';

/** A dispatcher over a scripted in-memory stream: the spec plays PD. */
function harness(options: Partial<TsoDispatcherOptions> = {}) {
  const clock = new ManualClock();
  const sent: number[] = [];
  let handlers: TsoStreamHandlers | undefined;
  let opens = 0;
  let closes = 0;
  let inflight: number | undefined;
  const dispatcher = new TsoDispatcher({
    clock,
    openStream: (h) => {
      opens++;
      handlers = h;
      return Promise.resolve({
        send: (count: number) => {
          sent.push(count);
          inflight = count;
        },
        close: () => closes++,
      });
    },
    ...options,
  });
  const respond = (physical: bigint, logical: bigint, count?: number): void => {
    const asked = inflight ?? 0;
    inflight = undefined;
    handlers?.onResponse(
      pdpb.TsoResponse.fromPartial({ header: { clusterId: 1n }, count: count ?? asked, timestamp: { physical, logical, suffixBits: 0 } }),
    );
  };
  return {
    clock,
    dispatcher,
    sent,
    respond,
    handlers: () => handlers as TsoStreamHandlers,
    opens: () => opens,
    inflight: () => inflight,
    closes: () => closes,
  };
}

/** Settles a promise into a value we can inspect without awaiting it twice. */
function track<T>(p: Promise<T>): { value?: T; error?: unknown; done: boolean } {
  const t: { value?: T; error?: unknown; done: boolean } = { done: false };
  p.then(
    (v) => {
      t.value = v;
      t.done = true;
    },
    (e: unknown) => {
      t.error = e;
      t.done = true;
    },
  );
  return t;
}

describe('TsoDispatcher', () => {
  it('a single call sends count 1 and composes physical << 18 | logical', async () => {
    const h = harness();
    const p = h.dispatcher.getTimestamp();
    await drainMicrotasks();
    expect(h.sent).toEqual([1]);
    h.respond(1000n, 5n);
    await expect(p).resolves.toBe((1000n << 18n) | 5n);
    expect(composeTs(1000n, 5n)).toBe(262144005n);
  });

  it('concurrent calls of one tick share one request; PD returns the largest and callers get largest-n+1..largest in call order', async () => {
    const h = harness();
    const ps = Array.from({ length: 10 }, () => h.dispatcher.getTimestamp());
    await drainMicrotasks();
    expect(h.sent).toEqual([10]);
    h.respond(7n, 100n);
    const got = await Promise.all(ps);
    expect(got).toEqual(Array.from({ length: 10 }, (_, i) => composeTs(7n, 91n + BigInt(i))));
    expect(h.dispatcher.requestsSent).toBe(1);
  });

  it('callers arriving while a request is in flight form the next batch, sent when the answer arrives', async () => {
    const h = harness();
    const first = [h.dispatcher.getTimestamp(), h.dispatcher.getTimestamp()];
    await drainMicrotasks();
    const later = Array.from({ length: 5 }, () => h.dispatcher.getTimestamp());
    await drainMicrotasks();
    expect(h.sent).toEqual([2]); // one in flight at a time
    h.respond(1n, 10n);
    await Promise.all(first);
    await drainMicrotasks();
    expect(h.sent).toEqual([2, 5]);
    h.respond(1n, 15n);
    expect(await Promise.all(later)).toEqual([11n, 12n, 13n, 14n, 15n].map((l) => composeTs(1n, l)));
  });

  it('splits queues longer than maxBatchSize', async () => {
    const h = harness({ maxBatchSize: 3 });
    const ps = Array.from({ length: 7 }, () => h.dispatcher.getTimestamp());
    await drainMicrotasks();
    expect(h.sent).toEqual([3]);
    h.respond(1n, 3n);
    await drainMicrotasks();
    h.respond(1n, 6n);
    await drainMicrotasks();
    h.respond(1n, 7n);
    expect(await Promise.all(ps)).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n].map((l) => composeTs(1n, l)));
    expect(h.sent).toEqual([3, 3, 1]);
  });

  it('a header error fails only that batch with the typed error; the stream stays open', async () => {
    const h = harness();
    const p = h.dispatcher.getTimestamp();
    await drainMicrotasks();
    h.handlers().onResponse(
      pdpb.TsoResponse.fromPartial({ header: { clusterId: 1n, error: { type: pdpb.ErrorType.NOT_BOOTSTRAPPED, message: 'no' } }, count: 0 }),
    );
    await expect(p).rejects.toBeInstanceOf(PdNotBootstrappedError);
    const q = h.dispatcher.getTimestamp();
    await drainMicrotasks();
    h.respond(2n, 1n);
    await expect(q).resolves.toBe(composeTs(2n, 1n));
    expect(h.opens()).toBe(1);
  });

  it('a broken stream fails the batch in flight with a retryable error, keeps queued callers, and reopens after backoff', async () => {
    const h = harness({ reconnectBackoff: { baseMs: 50, capMs: 400 } });
    const inflight = track(h.dispatcher.getTimestamp());
    await drainMicrotasks();
    const queued = track(h.dispatcher.getTimestamp());
    await drainMicrotasks();
    h.handlers().onError(new Error('connection reset'));
    await drainMicrotasks();
    expect(inflight.error).toBeInstanceOf(PdTsoStreamError);
    expect((inflight.error as PdTsoStreamError).retryable).toBe(true);
    expect((inflight.error as PdTsoStreamError).code).toBe('KV:PD:StreamDisconnect');
    expect(queued.done).toBe(false);
    expect(h.opens()).toBe(1); // waiting for the backoff
    await h.clock.advanceAsync(50);
    expect(h.opens()).toBe(2);
    expect(h.sent).toEqual([1, 1]);
    h.respond(3n, 1n);
    await drainMicrotasks();
    expect(queued.value).toBe(composeTs(3n, 1n));
  });

  it('an answer with the wrong count breaks the stream', async () => {
    const h = harness();
    const ps = [h.dispatcher.getTimestamp(), h.dispatcher.getTimestamp()];
    await drainMicrotasks();
    h.respond(1n, 10n, 1);
    for (const p of ps) await expect(p).rejects.toBeInstanceOf(PdTsoStreamError);
    expect(h.closes()).toBe(1);
  });

  it('refuses timestamps that go back and never hands out a timestamp twice', async () => {
    const h = harness();
    const a = h.dispatcher.getTimestamp();
    await drainMicrotasks();
    h.respond(5n, 10n);
    await a;
    const b = h.dispatcher.getTimestamp();
    await drainMicrotasks();
    h.respond(5n, 10n); // same again: would repeat
    await expect(b).rejects.toThrow(/went back/);
  });

  it('a request unanswered within timeoutMs breaks the stream', async () => {
    const h = harness({ timeoutMs: 1000 });
    const p = track(h.dispatcher.getTimestamp());
    await drainMicrotasks();
    await h.clock.advanceAsync(999);
    expect(p.done).toBe(false);
    await h.clock.advanceAsync(1);
    expect(p.error).toBeInstanceOf(PdTsoStreamError);
    expect(String(p.error)).toMatch(/unanswered after 1000 ms/);
  });

  it('an aborted caller leaves the queue; the others still get timestamps', async () => {
    const h = harness();
    const first = h.dispatcher.getTimestamp();
    await drainMicrotasks();
    const ac = new AbortController();
    const aborted = h.dispatcher.getTimestamp({ signal: ac.signal });
    const kept = h.dispatcher.getTimestamp();
    ac.abort(new Error('caller gave up'));
    await expect(aborted).rejects.toThrow('caller gave up');
    h.respond(1n, 1n);
    await first;
    await drainMicrotasks();
    expect(h.sent).toEqual([1, 1]);
    h.respond(1n, 2n);
    await expect(kept).resolves.toBe(composeTs(1n, 2n));
  });

  it('open failure rejects the waiting callers with that error; close rejects everyone', async () => {
    const clock = new ManualClock();
    let fail = true;
    const d = new TsoDispatcher({
      clock,
      openStream: () => (fail ? Promise.reject(new Error('no leader')) : Promise.resolve({ send: () => undefined, close: () => undefined })),
    });
    await expect(d.getTimestamp()).rejects.toThrow('no leader');
    fail = false;
    const p = track(d.getTimestamp());
    await drainMicrotasks();
    await clock.advanceAsync(50); // reopen after backoff
    d.close();
    await drainMicrotasks();
    expect(p.error).toBeInstanceOf(PdClientClosedError);
    await expect(d.getTimestamp()).rejects.toBeInstanceOf(PdClientClosedError);
  });

  it('random arrivals and answers: timestamps are unique and increase in call order (seeded)', async () => {
    const seed = BigInt(process.env['SIM_SEED'] ?? '20261128');
    try {
      const rng = new SeededRng(seed);
      const h = harness({ maxBatchSize: 16 });
      const results: bigint[] = [];
      const pending: Promise<void>[] = [];
      let physical = 100n;
      let logical = 0n;
      let callIndex = 0;
      const answer = (): void => {
        const count = h.inflight();
        if (count === undefined) return;
        if (rng.nextInt(10) === 0) {
          physical += 1n;
          logical = 0n;
        }
        logical += BigInt(count);
        h.respond(physical, logical);
      };
      for (let step = 0; step < 300; step++) {
        const calls = rng.nextInt(5);
        for (let i = 0; i < calls; i++) {
          const index = callIndex++;
          pending.push(h.dispatcher.getTimestamp().then((ts) => void (results[index] = ts)));
        }
        await drainMicrotasks();
        if (rng.nextInt(2) === 0) answer();
        await drainMicrotasks();
      }
      while (h.inflight() !== undefined) {
        answer();
        await drainMicrotasks();
      }
      await Promise.all(pending);
      for (let i = 1; i < results.length; i++) expect((results[i] as bigint) > (results[i - 1] as bigint)).toBe(true);
      expect(results.length).toBe(callIndex);
      expect(h.dispatcher.requestsSent).toBeLessThan(callIndex);
    } catch (e: unknown) {
      console.error(`SIM_SEED=${seed}`);
      throw e;
    }
  });
});
