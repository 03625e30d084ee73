// BatchCommandsTransport against a real grpc-js server on 127.0.0.1 that implements
// tikvpb.Tikv/BatchCommands with scripted behaviour: answers out of order, drops a response, ends
// or fails the stream mid-flight, answers with the wrong case, does not serve the stream at all.
// Deadlines run on a ManualClock (no real sleeps); waits are for conditions, with a limit.
import { performance } from 'node:perf_hooks';
import { setImmediate } from 'node:timers';
import * as grpc from '@grpc/grpc-js';
import { kvrpcpb, tikvpb } from '@tikv-ts/proto';
import type { LogFields, Logger } from '@tikv-ts/util';
import { ManualClock } from '@tikv-ts/util/testing';
import {
  BATCH_COMMAND_CASES,
  BatchCommandsTransport,
  TransportError,
  encodeBatchCommandsRequest,
} from './batch-transport';
import { GrpcTransport } from './transport';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

type Stream = grpc.ServerDuplexStream<tikvpb.BatchCommandsRequest, tikvpb.BatchCommandsResponse>;
type Entry = { id: bigint; req: tikvpb.BatchCommandsRequest_Request };

/** The default answer: RawGet → value = key, RawPut → {}, Empty → echo; anything else → Get {}. */
function answer(req: tikvpb.BatchCommandsRequest_Request): tikvpb.BatchCommandsResponse_Response {
  const cmd = req.cmd;
  if (cmd?.$case === 'RawGet')
    return {
      cmd: { $case: 'RawGet', value: kvrpcpb.RawGetResponse.fromPartial({ value: cmd.value.key }) },
    };
  if (cmd?.$case === 'RawPut')
    return { cmd: { $case: 'RawPut', value: kvrpcpb.RawPutResponse.fromPartial({}) } };
  if (cmd?.$case === 'Empty')
    return { cmd: { $case: 'Empty', value: { testId: cmd.value.testId } } };
  return { cmd: { $case: 'Get', value: kvrpcpb.GetResponse.fromPartial({}) } };
}

function respond(
  call: Stream,
  entries: readonly Entry[],
  make: (e: Entry) => tikvpb.BatchCommandsResponse_Response = (e) => answer(e.req),
): void {
  call.write(
    tikvpb.BatchCommandsResponse.fromPartial({
      requestIds: entries.map((e) => e.id),
      responses: entries.map(make),
    }),
  );
}

/** A scripted store: every BatchCommandsRequest received goes to `onBatch` (default: answer all at once). */
class FakeStore {
  readonly messages: tikvpb.BatchCommandsRequest[] = [];
  readonly streams: Stream[] = [];
  onBatch: (entries: Entry[], call: Stream) => void = (entries, call) => respond(call, entries);
  unaryCalls = 0;
  #server: grpc.Server | undefined;
  port = 0;

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  get entries(): Entry[] {
    return this.messages.flatMap((m) =>
      m.requests.map((req, i) => ({ id: m.requestIds[i] as bigint, req })),
    );
  }

  async start(options: { port?: number; batch?: boolean } = {}): Promise<this> {
    const server = new grpc.Server();
    const impl: Partial<tikvpb.TikvServer> = {
      rawChecksum: (_call, cb) => {
        this.unaryCalls++;
        cb(null, kvrpcpb.RawChecksumResponse.fromPartial({ checksum: 7n }));
      },
      rawGet: (call, cb) => {
        this.unaryCalls++;
        cb(null, kvrpcpb.RawGetResponse.fromPartial({ value: call.request.key }));
      },
    };
    if (options.batch !== false) {
      impl.batchCommands = (call: Stream) => {
        this.streams.push(call);
        call.on('data', (m: tikvpb.BatchCommandsRequest) => {
          this.messages.push(m);
          this.onBatch(
            m.requests.map((req, i) => ({ id: m.requestIds[i] as bigint, req })),
            call,
          );
        });
        call.on('error', () => undefined);
      };
    }
    server.addService(tikvpb.TikvService, impl as grpc.UntypedServiceImplementation);
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        `127.0.0.1:${options.port ?? 0}`,
        grpc.ServerCredentials.createInsecure(),
        (e, p) => (e === null ? resolve(p) : reject(e)),
      ),
    );
    this.#server = server;
    return this;
  }

  /** Stops at once: open streams are reset. */
  kill(): void {
    this.#server?.forceShutdown();
    this.#server = undefined;
  }
}

/** Waits (event-loop turns, not timers) until `cond` holds; fails after `limit` turns. */
async function until(cond: () => boolean, what: string, limit = 20000): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (cond()) return;
    await new Promise<void>((r) => setImmediate(r));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

/** A settled view of a promise, so tests can wait for many outcomes without unhandled rejections. */
function track<T>(p: Promise<T>): {
  p: Promise<T>;
  settled: () => boolean;
  value: () => T | undefined;
  error: () => unknown;
} {
  let done = false;
  let value: T | undefined;
  let error: unknown;
  p.then(
    (v) => {
      done = true;
      value = v;
    },
    (e: unknown) => {
      done = true;
      error = e;
    },
  );
  return { p, settled: () => done, value: () => value, error: () => error };
}

class CapturingLogger implements Logger {
  readonly level = 'debug' as const;
  readonly lines: { level: string; message: string; fields: LogFields | undefined }[] = [];
  error(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'error', message, fields });
  }
  warn(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'warn', message, fields });
  }
  info(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'info', message, fields });
  }
  debug(message: string, fields?: LogFields): void {
    this.lines.push({ level: 'debug', message, fields });
  }
  isEnabled(): boolean {
    return true;
  }
  child(): Logger {
    return this;
  }
}

const rawGet = (
  t: BatchCommandsTransport,
  addr: string,
  key: string,
  timeoutMs = 5000,
): Promise<kvrpcpb.RawGetResponse> =>
  t.call(addr, 'rawGet', kvrpcpb.RawGetRequest.fromPartial({ key: enc(key) }), timeoutMs);

function expectTransportError(e: unknown, code: string, grpcCode: grpc.status): void {
  expect(e).toBeInstanceOf(TransportError);
  expect((e as TransportError).code).toBe(code);
  expect((e as TransportError).grpcCode).toBe(grpcCode);
}

describe('BatchCommandsTransport', () => {
  let store: FakeStore;
  let clock: ManualClock;
  let logger: CapturingLogger;
  let t: BatchCommandsTransport;
  const cleanups: (() => void)[] = [];

  beforeEach(async () => {
    store = await new FakeStore().start();
    clock = new ManualClock();
    logger = new CapturingLogger();
    t = new BatchCommandsTransport({
      clock,
      logger,
      channelOptions: {
        'grpc.initial_reconnect_backoff_ms': 10,
        'grpc.max_reconnect_backoff_ms': 50,
      },
    });
    cleanups.push(
      () => t.close(),
      () => store.kill(),
    );
  });

  afterEach(() => {
    for (const c of cleanups.splice(0).reverse()) c();
  });

  it('matches responses to requests by id when the store answers out of order, one message per response', async () => {
    store.onBatch = (entries, call) => {
      for (const e of [...entries].reverse()) respond(call, [e]);
    };
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    const got = await Promise.all(keys.map((k) => rawGet(t, store.addr, k)));
    expect(got.map((r) => dec(r.value))).toEqual(keys);
    expect(store.messages).toHaveLength(1);
    const ids = store.entries.map((e) => e.id);
    expect(ids).toEqual(ids.map((_, i) => (ids[0] ?? 0n) + BigInt(i)));
    expect(t.stats).toMatchObject({
      streamsOpened: 1,
      messagesSent: 1,
      requestsSent: 10,
      responsesMatched: 10,
      unaryCalls: 0,
    });
  });

  it('sends the calls of one tick as one message, split beyond maxBatchSize, and later ticks separately', async () => {
    const small = new BatchCommandsTransport({ clock, maxBatchSize: 128 });
    cleanups.push(() => small.close());
    const all = await Promise.all(
      Array.from({ length: 300 }, (_, i) => rawGet(small, store.addr, `key-${i}`)),
    );
    expect(all.map((r) => dec(r.value))).toEqual(Array.from({ length: 300 }, (_, i) => `key-${i}`));
    expect(store.messages.map((m) => m.requests.length)).toEqual([128, 128, 44]);
    // Requests keep their call order in the messages.
    expect(
      store.entries.map((e) => (e.req.cmd?.$case === 'RawGet' ? dec(e.req.cmd.value.key) : '?')),
    ).toEqual(Array.from({ length: 300 }, (_, i) => `key-${i}`));
    await rawGet(small, store.addr, 'a');
    await rawGet(small, store.addr, 'b');
    expect(store.messages.map((m) => m.requests.length)).toEqual([128, 128, 44, 1, 1]);
  });

  it('splits a tick by the byte budget, and sends a request larger than the budget alone', async () => {
    const tight = new BatchCommandsTransport({ clock, maxBatchBytes: 100 });
    cleanups.push(() => tight.close());
    const put = (key: string, size: number): Promise<kvrpcpb.RawPutResponse> =>
      tight.call(
        store.addr,
        'rawPut',
        kvrpcpb.RawPutRequest.fromPartial({ key: enc(key), value: new Uint8Array(size) }),
        5000,
      );
    await Promise.all([put('a', 30), put('b', 30), put('c', 30), put('d', 500), put('e', 10)]);
    expect(
      store.messages.map((m) =>
        m.requests.map((r) => (r.cmd?.$case === 'RawPut' ? dec(r.cmd.value.key) : '?')).join(''),
      ),
    ).toEqual(['ab', 'c', 'd', 'e']);
  });

  it('rejects a request whose response never comes at its deadline, ignores the late response, and keeps the stream', async () => {
    let late: { call: Stream; entry: Entry } | undefined;
    store.onBatch = (entries, call) => {
      const dropped = entries.find(
        (e) => e.req.cmd?.$case === 'RawGet' && dec(e.req.cmd.value.key) === 'drop',
      );
      if (dropped !== undefined) late = { call, entry: dropped };
      respond(
        call,
        entries.filter((e) => e !== dropped),
      );
    };
    const lost = track(rawGet(t, store.addr, 'drop', 1000));
    const ok = await rawGet(t, store.addr, 'fine', 1000);
    expect(dec(ok.value)).toBe('fine');
    await until(() => late !== undefined, 'the dropped request to arrive');
    expect(lost.settled()).toBe(false);
    clock.advance(999);
    await new Promise<void>((r) => setImmediate(r));
    expect(lost.settled()).toBe(false);
    clock.advance(1);
    await until(lost.settled, 'the deadline');
    expectTransportError(lost.error(), 'KV:Client:DeadlineExceeded', grpc.status.DEADLINE_EXCEEDED);
    expect(String((lost.error() as Error).message)).toMatch(
      /RawGet request \d+ to 127\.0\.0\.1:\d+ got no response within 1000 ms/,
    );
    // The late answer is for an id nobody waits for any more: logged at debug, ignored.
    const { call: lateCall, entry: lateEntry } = late as { call: Stream; entry: Entry };
    respond(lateCall, [lateEntry]);
    await until(
      () => logger.lines.some((l) => l.message.includes('unknown request id')),
      'the debug line',
    );
    expect(logger.lines.find((l) => l.message.includes('unknown request id'))).toMatchObject({
      level: 'debug',
      fields: { id: lateEntry.id },
    });
    expect(dec((await rawGet(t, store.addr, 'after')).value)).toBe('after');
    expect(t.stats.streamsOpened).toBe(1);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('does not send a request that timed out before its batch was written', async () => {
    const p = track(rawGet(t, store.addr, 'too-late', 0));
    clock.advance(0);
    await until(p.settled, 'the deadline');
    expectTransportError(p.error(), 'KV:Client:DeadlineExceeded', grpc.status.DEADLINE_EXCEEDED);
    await rawGet(t, store.addr, 'next');
    expect(
      store.entries.map((e) => (e.req.cmd?.$case === 'RawGet' ? dec(e.req.cmd.value.key) : '?')),
    ).toEqual(['next']);
  });

  it('rejects every request in flight with UNAVAILABLE when the server ends the stream, and reconnects on the next call', async () => {
    store.onBatch = (entries, call) => {
      respond(call, entries.slice(0, 2));
      call.end();
    };
    const calls = ['a', 'b', 'c', 'd', 'e'].map((k) => track(rawGet(t, store.addr, k)));
    await until(() => calls.every((c) => c.settled()), 'every call to settle');
    expect(calls.slice(0, 2).map((c) => dec(c.value()?.value ?? enc('?')))).toEqual(['a', 'b']);
    for (const c of calls.slice(2)) {
      expectTransportError(c.error(), 'KV:Client:Unavailable', grpc.status.UNAVAILABLE);
      expect(String((c.error() as Error).message)).toMatch(/ended by the server/);
    }
    store.onBatch = (entries, call) => respond(call, entries);
    expect(dec((await rawGet(t, store.addr, 'again')).value)).toBe('again');
    expect(t.stats.streamsOpened).toBe(2);
    expect(store.streams).toHaveLength(2);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('rejects every request in flight with UNAVAILABLE when the stream fails with an error status', async () => {
    store.onBatch = (_entries, call) =>
      call.emit('error', { code: grpc.status.INTERNAL, details: 'boom' });
    const calls = ['a', 'b', 'c'].map((k) => track(rawGet(t, store.addr, k)));
    await until(() => calls.every((c) => c.settled()), 'every call to settle');
    for (const c of calls) {
      expectTransportError(c.error(), 'KV:Client:Unavailable', grpc.status.UNAVAILABLE);
      expect(String((c.error() as Error).message)).toMatch(/boom/);
    }
    store.onBatch = (entries, call) => respond(call, entries);
    expect(dec((await rawGet(t, store.addr, 'again')).value)).toBe('again');
  });

  it('rejects everything when the server dies, fails fast while it is down, and works again once it is back on the same port', async () => {
    const held: Stream[] = [];
    store.onBatch = (_entries, call) => held.push(call); // never answers
    const calls = ['a', 'b', 'c'].map((k) => track(rawGet(t, store.addr, k)));
    await until(() => store.entries.length === 3, 'the requests to arrive');
    const port = store.port;
    store.kill();
    await until(() => calls.every((c) => c.settled()), 'every call to settle');
    for (const c of calls)
      expectTransportError(c.error(), 'KV:Client:Unavailable', grpc.status.UNAVAILABLE);
    // Nothing listens: the next call fails (connection refused) instead of hanging.
    const down = track(rawGet(t, `127.0.0.1:${port}`, 'x'));
    await until(down.settled, 'the call to a dead store', 200000);
    expectTransportError(down.error(), 'KV:Client:Unavailable', grpc.status.UNAVAILABLE);
    const again = await new FakeStore().start({ port });
    cleanups.push(() => again.kill());
    // grpc-js backs off reconnecting (10-50 ms here): calls fail fast until it reconnects, so
    // retry as the client's backoffer would, until one succeeds or a wall-clock limit passes.
    let value: string | undefined;
    const limit = performance.now() + 10000;
    while (value === undefined && performance.now() < limit) {
      const r = track(rawGet(t, again.addr, 'back'));
      await until(r.settled, 'a call after the restart', 200000);
      const res = r.value();
      if (res !== undefined) value = dec(res.value);
      else expectTransportError(r.error(), 'KV:Client:Unavailable', grpc.status.UNAVAILABLE);
    }
    expect(value).toBe('back');
    expect(clock.pendingTimers()).toBe(0);
  });

  it('rejects a response whose case does not match the request, and answers the others', async () => {
    store.onBatch = (entries, call) =>
      respond(call, entries, (e) =>
        e.req.cmd?.$case === 'RawGet' && dec(e.req.cmd.value.key) === 'odd'
          ? { cmd: { $case: 'RawPut', value: kvrpcpb.RawPutResponse.fromPartial({}) } }
          : answer(e.req),
      );
    const odd = track(rawGet(t, store.addr, 'odd'));
    const even = await rawGet(t, store.addr, 'even');
    await until(odd.settled, 'the mismatched call');
    expect(dec(even.value)).toBe('even');
    expectTransportError(odd.error(), 'KV:Client:BatchMismatch', grpc.status.INTERNAL);
    expect(String((odd.error() as Error).message)).toMatch(
      /\(RawGet\) to 127\.0\.0\.1:\d+ got a RawPut response/,
    );
  });

  it('rejects a request whose id comes back without a response', async () => {
    store.onBatch = (entries, call) =>
      call.write(
        tikvpb.BatchCommandsResponse.fromPartial({
          requestIds: entries.map((e) => e.id),
          responses: [],
        }),
      );
    const p = track(rawGet(t, store.addr, 'x'));
    await until(p.settled, 'the call');
    expectTransportError(p.error(), 'KV:Client:BatchMismatch', grpc.status.INTERNAL);
    expect(String((p.error() as Error).message)).toMatch(/got no response/);
  });

  it('close() rejects what is in flight and every later call', async () => {
    store.onBatch = () => undefined;
    const calls = ['a', 'b'].map((k) => track(rawGet(t, store.addr, k)));
    await until(() => store.entries.length === 2, 'the requests to arrive');
    t.close();
    await until(() => calls.every((c) => c.settled()), 'every call to settle');
    for (const c of calls)
      expectTransportError(c.error(), 'KV:Client:TransportClosed', grpc.status.CANCELLED);
    await expect(rawGet(t, store.addr, 'c')).rejects.toMatchObject({
      code: 'KV:Client:TransportClosed',
    });
    await expect(t.probe(store.addr, 100)).rejects.toMatchObject({
      code: 'KV:Client:TransportClosed',
    });
    t.close(); // idempotent
    expect(clock.pendingTimers()).toBe(0);
  });

  it('sends methods without a BatchCommands case as unary RPCs', async () => {
    expect(BATCH_COMMAND_CASES).not.toHaveProperty('rawChecksum');
    const r = await t.call(
      store.addr,
      'rawChecksum',
      kvrpcpb.RawChecksumRequest.fromPartial({}),
      5000,
    );
    expect(r.checksum).toBe(7n);
    expect(store.unaryCalls).toBe(1);
    expect(store.messages).toHaveLength(0);
    expect(t.stats.unaryCalls).toBe(1);
  });

  it('falls back to unary RPCs for a store that does not serve BatchCommands', async () => {
    const old = await new FakeStore().start({ batch: false });
    cleanups.push(() => old.kill());
    const first = track(rawGet(t, old.addr, 'one'));
    await until(first.settled, 'the first call');
    expectTransportError(first.error(), 'KV:Client:Unavailable', grpc.status.UNAVAILABLE);
    expect(
      logger.lines.some(
        (l) => l.level === 'warn' && l.message.includes('does not serve BatchCommands'),
      ),
    ).toBe(true);
    expect(dec((await rawGet(t, old.addr, 'two')).value)).toBe('two');
    expect(old.unaryCalls).toBe(1);
  });

  it('rejects (never throws) a request the encoder cannot write', async () => {
    const p = t.call(store.addr, 'rawGet', {} as kvrpcpb.RawGetRequest, 5000);
    await expect(p).rejects.toBeInstanceOf(TypeError);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('rejects a call with a non-finite timeout without sending it', async () => {
    await expect(rawGet(t, store.addr, 'x', Number.POSITIVE_INFINITY)).rejects.toBeInstanceOf(
      RangeError,
    );
    await rawGet(t, store.addr, 'y');
    expect(store.entries).toHaveLength(1);
  });

  it('probe() round-trips an Empty request', async () => {
    await t.probe(store.addr, 1000);
    expect(store.entries.map((e) => e.req.cmd?.$case)).toEqual(['Empty']);
  });

  it('answers through a real server-like echo for every mapped method (ids and cases line up)', async () => {
    // Every mapped case is sent; the store answers each with its own case (empty message).
    store.onBatch = (entries, call) =>
      respond(
        call,
        entries,
        (e) =>
          ({
            cmd: { $case: e.req.cmd?.$case, value: {} },
          }) as tikvpb.BatchCommandsResponse_Response,
      );
    const methods = Object.keys(BATCH_COMMAND_CASES) as (keyof typeof BATCH_COMMAND_CASES)[];
    const results = await Promise.all(
      methods.map((m) =>
        t.call(
          store.addr,
          m,
          tikvpb.TikvService[m].requestDeserialize(Buffer.alloc(0)) as never,
          5000,
        ),
      ),
    );
    expect(results).toHaveLength(methods.length);
    expect(store.entries.map((e) => e.req.cmd?.$case)).toEqual(
      methods.map((m) => BATCH_COMMAND_CASES[m]),
    );
  });
});

describe('encodeBatchCommandsRequest', () => {
  it('writes the bytes of the generated encoder', () => {
    const requests: tikvpb.BatchCommandsRequest_Request[] = [
      {
        cmd: {
          $case: 'RawGet',
          value: kvrpcpb.RawGetRequest.fromPartial({ key: enc('k'), context: { regionId: 3n } }),
        },
      },
      {
        cmd: {
          $case: 'Prewrite',
          value: kvrpcpb.PrewriteRequest.fromPartial({
            startVersion: 2n ** 63n,
            mutations: [{ key: new Uint8Array(300), value: new Uint8Array(200) }],
          }),
        },
      },
      { cmd: { $case: 'Empty', value: { testId: 1n, delayTime: 0n } } },
    ];
    const ids = [1n, 300n, 2n ** 64n - 1n];
    const expected = tikvpb.BatchCommandsRequest.encode({ requests, requestIds: ids }).finish();
    const got = encodeBatchCommandsRequest(
      requests.map((r) => tikvpb.BatchCommandsRequest_Request.encode(r).finish()),
      ids,
    );
    expect(Buffer.from(got).toString('hex')).toBe(Buffer.from(expected).toString('hex'));
    expect(tikvpb.BatchCommandsRequest.decode(got)).toEqual(
      tikvpb.BatchCommandsRequest.decode(expected),
    );
    expect(encodeBatchCommandsRequest([], [])).toHaveLength(0);
  });
});

describe('GrpcTransport (unary) beside it', () => {
  it('still answers through the shared unary helper', async () => {
    const store = await new FakeStore().start();
    const g = new GrpcTransport();
    try {
      const r = await g.call(
        store.addr,
        'rawGet',
        kvrpcpb.RawGetRequest.fromPartial({ key: enc('u') }),
        5000,
      );
      expect(dec(r.value)).toBe('u');
    } finally {
      g.close();
      store.kill();
    }
  });
});
