import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { kvrpcpb, tikvpb } from '@tikv-ts/proto';
import { LocalEngine, RawStore, Storage } from '@tikv-ts/storage';
import { MetricsRegistry } from '@tikv-ts/util';
import { FlowStats } from './flow-stats';
import { KvService } from './kv-service';
import { createServerMetrics } from './metrics';
import { startSingleStore } from './testdata/single-store';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

async function setup(options: { pendingWriteThresholdBytes?: number } = {}) {
  const { rt, kv, node } = await startSingleStore(3);
  const engine = new LocalEngine(kv);
  const registry = new MetricsRegistry();
  const storage = new Storage({ engine, clock: rt.clock, ...options });
  const raw = new RawStore({ engine, clock: rt.clock });
  const flow = new FlowStats();
  const service = new KvService({
    storage,
    raw,
    regions: node.regions,
    splitter: node,
    flow,
    metrics: createServerMetrics(registry),
    clock: rt.clock,
    logger: rt.logger,
    failpoints: rt.failpoints,
  });
  const region = node.regions.regions()[0];
  if (region === undefined) throw new Error('no region');
  const ctx = kvrpcpb.Context.fromPartial({
    regionId: region.id,
    regionEpoch: region.regionEpoch,
    peer: region.peers[0],
  });
  return { service, ctx, registry, flow, region, node, rt };
}

/** A stand-in for grpc-js's server duplex stream. */
class FakeStream extends EventEmitter {
  readonly written: tikvpb.BatchCommandsResponse[] = [];
  /** A new stream handed to the service's BatchCommands handler. */
  static open(service: KvService): FakeStream {
    const stream = new FakeStream();
    service.batchCommands(
      stream as unknown as grpc.ServerDuplexStream<
        tikvpb.BatchCommandsRequest,
        tikvpb.BatchCommandsResponse
      >,
    );
    return stream;
  }
  /** Every response written so far, by request id. */
  responsesById(): Map<bigint, tikvpb.BatchCommandsResponse_Response> {
    const byId = new Map<bigint, tikvpb.BatchCommandsResponse_Response>();
    for (const m of this.written)
      m.requestIds.forEach((id, i) =>
        byId.set(id, m.responses[i] as tikvpb.BatchCommandsResponse_Response),
      );
    return byId;
  }
  ended = false;
  error: { code: number; details: string } | undefined;
  write(msg: tikvpb.BatchCommandsResponse): boolean {
    this.written.push(msg);
    return true;
  }
  end(): void {
    this.ended = true;
  }
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'error') {
      this.error = args[0] as { code: number; details: string };
      return true;
    }
    return super.emit(event, ...args);
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

describe('KvService', () => {
  it('serves raw commands and counts traffic and metrics', async () => {
    const { service, ctx, registry, flow, region } = await setup();
    const c = service.commands;
    expect(
      await c.RawPut(
        kvrpcpb.RawPutRequest.fromPartial({ context: ctx, key: enc('k'), value: enc('v') }),
      ),
    ).toEqual(kvrpcpb.RawPutResponse.fromPartial({}));
    const got = await c.RawGet(kvrpcpb.RawGetRequest.fromPartial({ context: ctx, key: enc('k') }));
    expect(dec(got.value)).toBe('v');
    expect(flow.takeRegion(region.id)).toEqual({
      keysRead: 1,
      bytesRead: 2,
      keysWritten: 1,
      bytesWritten: 2,
    });
    expect(await registry.exposition()).toMatch(
      /tikv_grpc_msg_duration_seconds_count\{type="raw_put"\} 1/,
    );
  });

  it('puts raw errors in the error string, txn errors in KeyError and region errors in region_error', async () => {
    const { service, ctx } = await setup();
    const c = service.commands;
    const ttl = await c.RawPut(
      kvrpcpb.RawPutRequest.fromPartial({ context: ctx, key: enc('k'), value: enc('v'), ttl: 10n }),
    );
    expect(ttl.error).toMatch(/ttl is not enabled/);
    await c.Prewrite(
      kvrpcpb.PrewriteRequest.fromPartial({
        context: ctx,
        mutations: [{ op: kvrpcpb.Op.Put, key: enc('t'), value: enc('1') }],
        primaryLock: enc('t'),
        startVersion: 10n,
        lockTtl: 100n,
      }),
    );
    const locked = await c.Get(
      kvrpcpb.GetRequest.fromPartial({ context: ctx, key: enc('t'), version: 20n }),
    );
    expect(locked.error?.locked?.lockVersion).toBe(10n);
    const commitBad = await c.Commit(
      kvrpcpb.CommitRequest.fromPartial({
        context: ctx,
        keys: [enc('t')],
        startVersion: 10n,
        commitVersion: 5n,
      }),
    );
    expect(commitBad.error?.abort).not.toBe('');
    const tooLarge = await c.RawPut(
      kvrpcpb.RawPutRequest.fromPartial({
        context: ctx,
        key: enc('k'),
        value: new Uint8Array(2000),
      }),
    );
    expect(tooLarge.regionError?.raftEntryTooLarge?.entrySize).toBe(2001n);
    const scanErr = await c.RawScan(
      kvrpcpb.RawScanRequest.fromPartial({
        context: { ...ctx, regionId: 77n },
        startKey: enc('a'),
        limit: 1,
      }),
    );
    expect(scanErr.regionError?.regionNotFound?.regionId).toBe(77n);
    const badPessimistic = await c.PessimisticLock(
      kvrpcpb.PessimisticLockRequest.fromPartial({
        context: ctx,
        mutations: [{ op: kvrpcpb.Op.Put, key: enc('p') }],
        primaryLock: enc('p'),
        startVersion: 1n,
        forUpdateTs: 1n,
      }),
    );
    expect(badPessimistic.errors[0]?.abort).toMatch(/not a pessimistic lock/);
  });

  it('answers ServerIsBusy when the scheduler is over its pending-write threshold', async () => {
    const { service, ctx } = await setup({ pendingWriteThresholdBytes: 1 });
    const reqs = ['a', 'b', 'c'].map((k, i) =>
      service.commands.Prewrite(
        kvrpcpb.PrewriteRequest.fromPartial({
          context: ctx,
          mutations: [{ op: kvrpcpb.Op.Put, key: enc(k), value: enc('1') }],
          primaryLock: enc(k),
          startVersion: BigInt(10 + i),
          lockTtl: 100n,
        }),
      ),
    );
    const res = await Promise.all(reqs);
    expect(res.some((r) => r.regionError?.serverIsBusy !== undefined)).toBe(true);
  });

  it('answers BatchCommands entries with their ids, the probe included, through the same handlers', async () => {
    const { service, ctx } = await setup();
    const stream = FakeStream.open(service);
    stream.emit(
      'data',
      tikvpb.BatchCommandsRequest.fromPartial({
        requests: [
          {
            cmd: {
              $case: 'RawPut',
              value: kvrpcpb.RawPutRequest.fromPartial({
                context: ctx,
                key: enc('b'),
                value: enc('1'),
              }),
            },
          },
          { cmd: { $case: 'Empty', value: { testId: 9n } } },
        ],
        requestIds: [5n, 6n],
      }),
    );
    await settle();
    stream.emit(
      'data',
      tikvpb.BatchCommandsRequest.fromPartial({
        requests: [
          {
            cmd: {
              $case: 'RawGet',
              value: kvrpcpb.RawGetRequest.fromPartial({ context: ctx, key: enc('b') }),
            },
          },
        ],
        requestIds: [7n],
      }),
    );
    await settle();
    const byId = stream.responsesById();
    expect(byId.get(6n)?.cmd).toEqual({ $case: 'Empty', value: { testId: 9n } });
    expect(byId.get(5n)?.cmd?.$case).toBe('RawPut');
    const get = byId.get(7n)?.cmd;
    expect(get?.$case === 'RawGet' && dec(get.value.value)).toBe('1');
    stream.emit('end');
    await settle();
    expect(stream.ended).toBe(true);
  });

  it('answers an entry it does not serve with an empty response, the others on the stream as usual', async () => {
    const { service, ctx } = await setup();
    const stream = FakeStream.open(service);
    stream.emit(
      'data',
      tikvpb.BatchCommandsRequest.fromPartial({
        requests: [
          { cmd: { $case: 'Coprocessor', value: {} } },
          { cmd: { $case: 'RawGet', value: { context: ctx, key: enc('absent') } } },
        ],
        requestIds: [1n, 2n],
      }),
    );
    await settle();
    expect(stream.error).toBeUndefined();
    const byId = stream.responsesById();
    expect(byId.get(1n)?.cmd).toBeUndefined();
    const get = byId.get(2n)?.cmd;
    expect(get?.$case).toBe('RawGet');
    expect(get?.$case === 'RawGet' && get.value.notFound).toBe(true);
  });

  it('refuses new calls while draining', async () => {
    const { service, ctx } = await setup();
    await service.drain();
    const impl = service.implementation() as unknown as {
      rawGet: grpc.handleUnaryCall<kvrpcpb.RawGetRequest, kvrpcpb.RawGetResponse>;
    };
    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      impl.rawGet(
        {
          request: kvrpcpb.RawGetRequest.fromPartial({ context: ctx, key: enc('k') }),
        } as grpc.ServerUnaryCall<kvrpcpb.RawGetRequest, kvrpcpb.RawGetResponse>,
        (e) => resolve(e as grpc.ServiceError | null),
      ),
    );
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
  });

  it('splits a region through SplitRegion', async () => {
    const { service, ctx, node } = await setup();
    const res = await service.commands.SplitRegion(
      kvrpcpb.SplitRegionRequest.fromPartial({
        context: ctx,
        splitKeys: [enc('m')],
        isRawKv: true,
      }),
    );
    expect(res.regions.length).toBe(2);
    expect(res.left?.endKey).toEqual(enc('m'));
    expect(node.regions.size).toBe(2);
  });

  it('destroys a range of transactional data with UnsafeDestroyRange and refuses an inverted range', async () => {
    const { service, ctx } = await setup();
    const c = service.commands;
    for (const [i, key] of ['a', 'b', 'x'].entries()) {
      const startVersion = BigInt(10 + 10 * i);
      await c.Prewrite(
        kvrpcpb.PrewriteRequest.fromPartial({
          context: ctx,
          mutations: [{ op: kvrpcpb.Op.Put, key: enc(key), value: enc('v') }],
          primaryLock: enc(key),
          startVersion,
          lockTtl: 100n,
        }),
      );
      await c.Commit(
        kvrpcpb.CommitRequest.fromPartial({
          context: ctx,
          keys: [enc(key)],
          startVersion,
          commitVersion: startVersion + 1n,
        }),
      );
    }
    const inverted = await c.UnsafeDestroyRange(
      kvrpcpb.UnsafeDestroyRangeRequest.fromPartial({
        context: ctx,
        startKey: enc('c'),
        endKey: enc('a'),
      }),
    );
    expect(inverted.error).toMatch(/Start key must be below end key/);
    // User keys, as in TiKV (the server encodes them).
    const done = await c.UnsafeDestroyRange(
      kvrpcpb.UnsafeDestroyRangeRequest.fromPartial({
        context: ctx,
        startKey: enc('a'),
        endKey: enc('c'),
      }),
    );
    expect(done.error).toBe('');
    const get = (key: string) =>
      c.Get(kvrpcpb.GetRequest.fromPartial({ context: ctx, key: enc(key), version: 100n }));
    expect((await get('a')).notFound).toBe(true);
    expect((await get('b')).notFound).toBe(true);
    expect(dec((await get('x')).value)).toBe('v');
  });

  it('evaluates a kv_service::<command> failpoint before the command', async () => {
    const { service, ctx, rt } = await setup();
    await service.commands.RawPut(
      kvrpcpb.RawPutRequest.fromPartial({ context: ctx, key: enc('k'), value: enc('v') }),
    );
    rt.failpoints.set('kv_service::raw_get', 'return');
    const failed = await service.commands.RawGet(
      kvrpcpb.RawGetRequest.fromPartial({ context: ctx, key: enc('k') }),
    );
    expect(failed.error).toMatch(/injected by failpoint kv_service::raw_get/);
    // Other commands are untouched; a throw task becomes the error too.
    rt.failpoints.set('kv_service::kv_get', 'panic(boom)');
    const txn = await service.commands.Get(
      kvrpcpb.GetRequest.fromPartial({ context: ctx, key: enc('k'), version: 10n }),
    );
    expect(txn.error?.abort).toMatch(/boom/);
    rt.failpoints.remove('kv_service::raw_get');
    const ok = await service.commands.RawGet(
      kvrpcpb.RawGetRequest.fromPartial({ context: ctx, key: enc('k') }),
    );
    expect(ok.error).toBe('');
    expect(dec(ok.value)).toBe('v');
  });
});
