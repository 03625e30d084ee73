// The clients' default transport (BatchCommands streams) against real pd-server + tikv-server
// processes: raw and transactional round trips go through the stream (the server's batch
// metrics move), and a tikv-server killed with SIGKILL (or stopped with SIGTERM) while requests
// are in flight leaves no call hanging — each is retried until the restarted server (same port,
// same data dir) answers, or fails with the client's error once its retry budget is spent.
import {
  BatchCommandsTransport,
  RawClient,
  RegionUnavailableError,
  type TikvTransport,
  TransactionClient,
  TransportError,
} from '@tikv-ts/client';
import { type TikvProc, eventually, startTikv } from '../server/harness';
import { type TestCluster, cleanupDirs, dec, enc, startCluster } from './cluster';

jest.setTimeout(180000);

const CONFIG = `
[raftstore]
pd-heartbeat-tick-interval = "200ms"
pd-store-heartbeat-tick-interval = "200ms"
`;

/** Sum of `tikv_server_grpc_req_batch_size_count` (BatchCommands messages served). */
async function batchMessagesServed(statusUrl: string): Promise<number> {
  const text = await (await fetch(`${statusUrl}/metrics`)).text();
  const m = /^tikv_server_grpc_req_batch_size_count(?:\{[^}]*\})? (\d+(?:\.\d+)?)$/m.exec(text);
  return m === null ? 0 : Number(m[1]);
}

/** Resolves with the promise's outcome, or rejects if it is still pending after `limitMs`. */
async function within<T>(p: Promise<T>, limitMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>(
        (_, reject) =>
          (timer = setTimeout(
            () => reject(new Error(`${what} still pending after ${limitMs} ms`)),
            limitMs,
          )),
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe('the BatchCommands transport against a real cluster', () => {
  let cluster: TestCluster;
  /** The tikv-server now running (replaced on restart). */
  let kv: TikvProc;
  const clients: { close(): Promise<void> }[] = [];

  /** A RawClient on its own BatchCommands transport that records every error a call rejects with. */
  async function recordingClient(requestTimeoutMs: number, maxBackoffMs: number) {
    const inner = new BatchCommandsTransport();
    const seen: unknown[] = [];
    const transport: TikvTransport = {
      call: (addr, method, request, timeoutMs) =>
        inner.call(addr, method, request, timeoutMs).catch((e: unknown) => {
          seen.push(e);
          throw e;
        }),
      close: () => inner.close(),
    };
    const raw = await RawClient.connect([cluster.pdUrl], {
      transport,
      requestTimeoutMs,
      maxBackoffMs,
    });
    clients.push({ close: async () => (await raw.close(), transport.close()) });
    return { inner, seen, raw };
  }

  beforeAll(async () => {
    cluster = await startCluster();
    kv = cluster.kv;
    await cluster.split(enc('m'), 'raw');
    await cluster.split(enc('m'), 'txn');
  });

  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    if (kv !== cluster?.kv) await kv.proc.stop('SIGKILL');
    await cluster?.stop();
    cleanupDirs();
  });

  async function restartTikv(): Promise<void> {
    const port = Number(kv.addr.split(':')[1]);
    const statusPort = Number(new URL(kv.statusUrl).port);
    kv = await startTikv({
      pdUrl: cluster.pdUrl,
      port,
      statusPort,
      dataDir: kv.dataDir,
      configToml: CONFIG,
    });
  }

  it('raw operations go through the stream by default (and unary when batchCommands is false)', async () => {
    const raw = await RawClient.connect([cluster.pdUrl]);
    clients.push(raw);
    const before = await batchMessagesServed(kv.statusUrl);
    await raw.put(enc('a1'), enc('v1'));
    await raw.batchPut([
      { key: enc('b1'), value: enc('v2') },
      { key: enc('x1'), value: enc('v3') },
    ]);
    expect(dec(await raw.get(enc('a1')))).toBe('v1');
    expect(
      (await raw.batchGet([enc('a1'), enc('b1'), enc('x1'), enc('zz')])).map((p) => dec(p.value)),
    ).toEqual(['v1', 'v2', 'v3']);
    expect((await raw.scan(enc('a'), enc('z'))).map((p) => dec(p.key))).toEqual(['a1', 'b1', 'x1']);
    // No BatchCommands case: these two go unary on the same channel.
    expect((await raw.compareAndSwap(enc('a1'), enc('v1'), enc('v1b'))).succeed).toBe(true);
    expect((await raw.checksum(enc('a'), enc('z'))).totalKvs).toBe(3n);
    await raw.delete(enc('b1'));
    await raw.deleteRange(enc('a'), enc('z'));
    expect(await raw.scan(enc('a'), enc('z'))).toEqual([]);
    const served = await batchMessagesServed(kv.statusUrl);
    expect(served).toBeGreaterThan(before);

    const unary = await RawClient.connect([cluster.pdUrl], { batchCommands: false });
    clients.push(unary);
    await unary.put(enc('u1'), enc('v'));
    expect(dec(await unary.get(enc('u1')))).toBe('v');
    expect(await batchMessagesServed(kv.statusUrl)).toBe(served);
  });

  it('transactions (optimistic and pessimistic, across two regions) go through the stream', async () => {
    const txns = await TransactionClient.connect([cluster.pdUrl]);
    clients.push(txns);
    const before = await batchMessagesServed(kv.statusUrl);
    const t = await txns.begin();
    await t.put(enc('acct-a'), enc('10'));
    await t.put(enc('acct-z'), enc('20'));
    await t.commit();
    const p = await txns.begin({ pessimistic: true });
    const a = Number(dec(await p.getForUpdate(enc('acct-a'))));
    await p.put(enc('acct-a'), enc(String(a + 1)));
    await p.commit();
    const snap = txns.snapshot(await txns.currentTimestamp());
    expect((await snap.batchGet([enc('acct-a'), enc('acct-z')])).map((x) => dec(x.value))).toEqual([
      '11',
      '20',
    ]);
    expect(await batchMessagesServed(kv.statusUrl)).toBeGreaterThan(before);
  });

  /**
   * 32 writers on one client; the store is stopped with `signal` while puts are in flight and
   * restarted on the same port and data dir. Every put must end (none hangs) and succeed through
   * the client's retries, and every acknowledged put must be readable afterwards. Returns the
   * transport errors the client saw (it retried each).
   */
  async function restartUnderLoad(
    signal: 'SIGKILL' | 'SIGTERM',
    prefix: string,
  ): Promise<unknown[]> {
    const { inner, seen, raw } = await recordingClient(3000, 60000);
    const acked: string[] = [];
    const failures: unknown[] = [];
    let inFlight = 0;
    let stop = false;
    const workers = Array.from({ length: 32 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const k = `${prefix}-${w}-${i}`;
        inFlight++;
        try {
          await raw.put(enc(k), enc(k));
          acked.push(k);
        } catch (e: unknown) {
          failures.push(e);
        } finally {
          inFlight--;
        }
      }
    });
    await eventually(() => acked.length >= 300, '300 acknowledged puts', 60000);
    expect(inFlight).toBeGreaterThan(0);
    const ackedBeforeStop = acked.length;
    const streamsBefore = inner.stats.streamsOpened;
    const exit = await kv.proc.stop(signal);
    expect(exit.signal ?? 'exit 0').toBe(signal === 'SIGKILL' ? 'SIGKILL' : 'exit 0');
    await restartTikv();
    // Progress again after the restart: the stream was reopened.
    await eventually(
      () => acked.length >= ackedBeforeStop + 300,
      '300 more acknowledged puts after the restart',
      90000,
    );
    stop = true;
    await within(Promise.all(workers), 60000, 'a put');
    expect(failures).toEqual([]);
    expect(inner.stats.streamsOpened).toBeGreaterThan(streamsBefore);

    const check = await RawClient.connect([cluster.pdUrl]);
    clients.push(check);
    const got = await check.batchGet(acked.map(enc));
    expect(got).toHaveLength(acked.length);
    expect(got.every((p) => dec(p.key) === dec(p.value))).toBe(true);
    return seen;
  }

  it('kill -9 of the store with requests in flight: none hangs, all are retried onto the restarted store, acknowledged writes survive', async () => {
    const seen = await restartUnderLoad('SIGKILL', 'kill');
    // The requests on the stream at the kill failed as UNAVAILABLE (then were retried).
    expect(
      seen.some((e) => e instanceof TransportError && e.code === 'KV:Client:Unavailable'),
    ).toBe(true);
  });

  it('graceful stop (SIGTERM) with requests in flight: the server ends the stream, every put is retried onto the restarted store', async () => {
    const seen = await restartUnderLoad('SIGTERM', 'term');
    expect(seen.length).toBeGreaterThan(0);
  });

  it('a frozen store (SIGSTOP): each attempt ends at its deadline, the operation fails once its budget is spent, and the same stream works after SIGCONT', async () => {
    const { inner, seen, raw } = await recordingClient(300, 1500);
    await raw.put(enc('frozen-0'), enc('before'));
    const streams = inner.stats.streamsOpened;
    kv.proc.child.kill('SIGSTOP');
    try {
      const outcomes = await within(
        Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            raw.put(enc(`frozen-${i}`), enc('during')).then(
              () => 'ok',
              (e: unknown) => e,
            ),
          ),
        ),
        30000,
        'a call to the frozen store',
      );
      for (const o of outcomes) expect(o).toBeInstanceOf(RegionUnavailableError);
      expect(seen.length).toBeGreaterThan(0);
      expect(
        seen.every((e) => e instanceof TransportError && e.code === 'KV:Client:DeadlineExceeded'),
      ).toBe(true);
    } finally {
      kv.proc.child.kill('SIGCONT');
    }
    // The stream survived the deadlines; the late answers to them are ignored.
    await eventually(
      async () =>
        (await raw.get(enc('frozen-0')).catch(() => undefined)) !== undefined || undefined,
      'a read after SIGCONT',
      30000,
    );
    await raw.put(enc('frozen-1'), enc('after'));
    expect(dec(await raw.get(enc('frozen-1')))).toBe('after');
    expect(inner.stats.streamsOpened).toBe(streams);
  });

  it('with the store down for good, every pending call fails with the client error once its budget is spent; it works again after a restart', async () => {
    const raw = await RawClient.connect([cluster.pdUrl], {
      requestTimeoutMs: 1000,
      maxBackoffMs: 3000,
    });
    clients.push(raw);
    await raw.put(enc('down-0'), enc('before'));
    await kv.proc.stop('SIGKILL');
    const calls = Array.from({ length: 50 }, (_, i) =>
      raw.put(enc(`down-${i}`), enc('during')).then(
        () => 'ok',
        (e: unknown) => e,
      ),
    );
    const outcomes = await within(Promise.all(calls), 60000, 'a call to the dead store');
    for (const o of outcomes) expect(o).toBeInstanceOf(RegionUnavailableError);
    await restartTikv();
    await eventually(
      async () => (await raw.get(enc('down-0')).catch(() => undefined)) !== undefined || undefined,
      'a read after the restart',
      60000,
    );
    expect(dec(await raw.get(enc('down-0')))).toBe('before');
    await raw.put(enc('down-1'), enc('after'));
    expect(dec(await raw.get(enc('down-1')))).toBe('after');
  });
});
