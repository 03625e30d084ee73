import * as grpc from '@grpc/grpc-js';
import { Key } from '@tikv-ts/codec';
import { kvrpcpb, tikvpb, type errorpb, type metapb } from '@tikv-ts/proto';
import {
  extractKeyError,
  mutationFromProto,
  type RawStore,
  type ScanEntry,
  type Storage,
} from '@tikv-ts/storage';
import type { Clock, Failpoints, Logger } from '@tikv-ts/util';
import { InjectedFailureError, InvalidArgumentError, toRegionError } from './errors';
import type { FlowStats } from './flow-stats';
import type { ServerMetrics } from './metrics';
import type { CheckedRegion, RegionCheck, RegionManager } from './region-manager';

/** Splits regions on this store (implemented by `Node`). */
export interface RegionSplitter {
  splitRegion(regionId: bigint, splitKeys: readonly Uint8Array[]): Promise<metapb.Region[]>;
}

/** Options of {@link KvService}. */
export interface KvServiceOptions {
  readonly storage: Storage;
  readonly raw: RawStore;
  readonly regions: RegionManager;
  readonly splitter: RegionSplitter;
  readonly flow: FlowStats;
  readonly metrics: ServerMetrics;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * Failpoints evaluated before each command, named `kv_service::<command>` with the command's
   * metric label (`kv_service::raw_get`, `kv_service::kv_prewrite`, ...): a `throw` (or `panic`)
   * task fails the request with an error response, `return` fails it with "injected by
   * failpoint", `delay`/`pause` hold it. Set through `debugpb.Debug/InjectFailPoint`
   * (`tikv-ctl failpoint inject`) or the `--failpoints` start-up option.
   */
  readonly failpoints?: Failpoints;
}

/** How a command's errors that are not region errors go into its response. */
type ErrorField = 'error-string' | 'error-key' | 'errors-key' | 'pairs' | 'kvs';

/** A served command: takes a decoded request, never rejects (errors are in the response). */
export type CommandHandler<Req, Res> = (req: Req) => Promise<Res>;

interface ResponseType<Res> {
  fromPartial(object: object): Res;
}

const EMPTY_CTX = kvrpcpb.Context.fromPartial({});
const EMPTY = new Uint8Array(0);

function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** The one place storage's KeyError mapping is used (STYLE.md §5). */
function keyErrorOf(e: unknown): kvrpcpb.KeyError {
  return extractKeyError(e);
}

/** Storage's read entries as kvrpcpb pairs (a lock becomes the pair's KeyError), with their byte count. */
function toKvPairs(entries: readonly ScanEntry[]): { pairs: kvrpcpb.KvPair[]; bytes: number } {
  let bytes = 0;
  const pairs = entries.map((p) => {
    if (p.error !== undefined)
      return kvrpcpb.KvPair.fromPartial({ key: p.key, error: keyErrorOf(p.error) });
    bytes += p.key.length + p.value.length;
    return kvrpcpb.KvPair.fromPartial({ key: p.key, value: p.value });
  });
  return { pairs, bytes };
}

function nonEmpty(key: Uint8Array, what: string): Uint8Array {
  if (key.length === 0) throw new InvalidArgumentError(`${what} cannot be empty`);
  return key;
}

function pairBytes(pairs: readonly { key: Uint8Array; value: Uint8Array }[]): number {
  let n = 0;
  for (const p of pairs) n += p.key.length + p.value.length;
  return n;
}

function keysBytes(keys: readonly Uint8Array[]): number {
  let n = 0;
  for (const k of keys) n += k.length;
  return n;
}

function rawOfRegionBound(boundary: Uint8Array): Uint8Array {
  if (boundary.length === 0) return boundary;
  try {
    return Key.fromEncoded(boundary).toRaw();
  } catch {
    return boundary;
  }
}

/** The BatchCommands cases that carry a region-scoped command. */
type BatchCase = Exclude<NonNullable<tikvpb.BatchCommandsRequest_Request['cmd']>['$case'], 'Empty'>;

/**
 * The client-facing part of `tikvpb.Tikv` (TiKV's `kv.rs` service): raw and transactional
 * commands, MVCC debug, UnsafeDestroyRange, SplitRegion and the BatchCommands stream.
 *
 * Every command is one {@link CommandHandler} in {@link commands}, shared by the unary RPC and the
 * BatchCommands stream. A handler checks the request against the store's regions
 * ({@link RegionManager.check}), runs it on storage, and converts errors: region errors to
 * `region_error` (through `toRegionError`), everything else to the response's error field
 * (`error` string for raw commands, `KeyError` for transactional ones). Handlers never reject,
 * so a bad request never takes the server down.
 */
export class KvService {
  readonly #o: KvServiceOptions;
  readonly #streams = new Set<
    grpc.ServerDuplexStream<tikvpb.BatchCommandsRequest, tikvpb.BatchCommandsResponse>
  >();
  #inFlight = 0;
  #idle: (() => void)[] = [];
  #closing = false;
  /** Handlers by BatchCommands case name (also used by the unary RPCs). */
  readonly commands: ReturnType<KvService['makeCommands']>;

  constructor(options: KvServiceOptions) {
    this.#o = options;
    this.commands = this.makeCommands();
  }

  /** Number of requests being handled. */
  get inFlight(): number {
    return this.#inFlight;
  }

  #check(ctx: kvrpcpb.Context | undefined, what: RegionCheck): CheckedRegion {
    return this.#o.regions.check(ctx, what);
  }

  #cmd<Req extends { context?: kvrpcpb.Context | undefined }, Res>(
    label: string,
    response: ResponseType<Res>,
    errorField: ErrorField,
    run: (req: Req, ctx: kvrpcpb.Context) => Promise<Res>,
  ): CommandHandler<Req, Res> {
    const { metrics, clock, failpoints } = this.#o;
    const duration = metrics.grpcMsgDuration.labels(label);
    const fail = metrics.grpcMsgFail.labels(label);
    const point = `kv_service::${label}`;
    return async (req: Req): Promise<Res> => {
      const start = clock.monotonicMs();
      this.#inFlight++;
      try {
        if (failpoints?.enabled === true && (await failpoints.eval(point)) !== undefined)
          throw new InjectedFailureError(point);
        return await run(req, req.context ?? EMPTY_CTX);
      } catch (e: unknown) {
        fail.inc();
        return this.#errorResponse(label, response, errorField, e);
      } finally {
        duration.observe((clock.monotonicMs() - start) / 1000);
        if (--this.#inFlight === 0 && this.#idle.length > 0) {
          const waiters = this.#idle;
          this.#idle = [];
          for (const w of waiters) w();
        }
      }
    };
  }

  #errorResponse<Res>(
    label: string,
    response: ResponseType<Res>,
    field: ErrorField,
    e: unknown,
  ): Res {
    const regionError: errorpb.Error | undefined = toRegionError(e);
    if (regionError !== undefined) {
      if (regionError.serverIsBusy !== undefined)
        this.#o.metrics.schedulerTooBusy.labels(label).inc();
      return response.fromPartial({ regionError });
    }
    if (
      !(e instanceof Error) ||
      e.constructor === Error ||
      e instanceof TypeError ||
      e instanceof RangeError
    ) {
      this.#o.logger.debug('request failed', { type: label, error: errorMessage(e) });
    }
    switch (field) {
      case 'error-string':
        return response.fromPartial({ error: errorMessage(e) });
      case 'error-key':
        return response.fromPartial({ error: keyErrorOf(e) });
      case 'errors-key':
        return response.fromPartial({ errors: [keyErrorOf(e)] });
      case 'pairs':
        return response.fromPartial({ pairs: [{ error: keyErrorOf(e) }] });
      case 'kvs':
        return response.fromPartial({ kvs: [{ error: keyErrorOf(e) }] });
      default: {
        const never: never = field;
        throw new TypeError(`Unknown error field ${String(never)}`);
      }
    }
  }

  /** Times a scheduler (transactional write) command. */
  async #sched<T>(label: string, run: () => Promise<T>): Promise<T> {
    const start = this.#o.clock.monotonicMs();
    try {
      return await run();
    } finally {
      this.#o.metrics.schedulerCommandDuration
        .labels(label)
        .observe((this.#o.clock.monotonicMs() - start) / 1000);
    }
  }

  /** Builds the dispatch table (public for its type; call once). */
  makeCommands() {
    const { storage, raw, flow, splitter } = this.#o;
    return {
      // ---- raw ----
      RawGet: this.#cmd(
        'raw_get',
        kvrpcpb.RawGetResponse,
        'error-string',
        async (r: kvrpcpb.RawGetRequest, ctx) => {
          const { region } = this.#check(ctx, { mode: 'raw', keys: [nonEmpty(r.key, 'Key')] });
          const value = await raw.get(ctx, { key: r.key, cf: r.cf });
          flow.read(
            region.id,
            value === undefined ? 0 : 1,
            value === undefined ? 0 : r.key.length + value.length,
          );
          return value === undefined
            ? kvrpcpb.RawGetResponse.fromPartial({ notFound: true })
            : kvrpcpb.RawGetResponse.fromPartial({ value });
        },
      ),
      RawBatchGet: this.#cmd(
        'raw_batch_get',
        kvrpcpb.RawBatchGetResponse,
        'pairs',
        async (r: kvrpcpb.RawBatchGetRequest, ctx) => {
          const { region } = this.#check(ctx, {
            mode: 'raw',
            keys: r.keys.map((k) => nonEmpty(k, 'Key')),
          });
          const pairs = await raw.batchGet(ctx, { keys: r.keys, cf: r.cf });
          flow.read(region.id, pairs.length, pairBytes(pairs));
          return kvrpcpb.RawBatchGetResponse.fromPartial({
            pairs: pairs.map((p) => ({ key: p.key, value: p.value })),
          });
        },
      ),
      RawPut: this.#cmd(
        'raw_put',
        kvrpcpb.RawPutResponse,
        'error-string',
        async (r: kvrpcpb.RawPutRequest, ctx) => {
          const bytes = r.key.length + r.value.length;
          const { region } = this.#check(ctx, {
            mode: 'raw',
            keys: [nonEmpty(r.key, 'Key')],
            writeBytes: bytes,
          });
          await raw.put(ctx, {
            key: r.key,
            value: r.value,
            ttl: r.ttl,
            forCas: r.forCas,
            cf: r.cf,
          });
          flow.written(region.id, 1, bytes);
          return kvrpcpb.RawPutResponse.fromPartial({});
        },
      ),
      RawBatchPut: this.#cmd(
        'raw_batch_put',
        kvrpcpb.RawBatchPutResponse,
        'error-string',
        async (r: kvrpcpb.RawBatchPutRequest, ctx) => {
          const bytes = pairBytes(r.pairs);
          const { region } = this.#check(ctx, {
            mode: 'raw',
            keys: r.pairs.map((p) => nonEmpty(p.key, 'Key')),
            writeBytes: bytes,
          });
          const ttls = r.ttls.length === 0 && r.ttl !== 0n ? [r.ttl] : r.ttls;
          await raw.batchPut(ctx, { pairs: r.pairs, ttls, forCas: r.forCas, cf: r.cf });
          flow.written(region.id, r.pairs.length, bytes);
          return kvrpcpb.RawBatchPutResponse.fromPartial({});
        },
      ),
      RawDelete: this.#cmd(
        'raw_delete',
        kvrpcpb.RawDeleteResponse,
        'error-string',
        async (r: kvrpcpb.RawDeleteRequest, ctx) => {
          const { region } = this.#check(ctx, {
            mode: 'raw',
            keys: [nonEmpty(r.key, 'Key')],
            writeBytes: r.key.length,
          });
          await raw.delete(ctx, { key: r.key, forCas: r.forCas, cf: r.cf });
          flow.written(region.id, 1, r.key.length);
          return kvrpcpb.RawDeleteResponse.fromPartial({});
        },
      ),
      RawBatchDelete: this.#cmd(
        'raw_batch_delete',
        kvrpcpb.RawBatchDeleteResponse,
        'error-string',
        async (r: kvrpcpb.RawBatchDeleteRequest, ctx) => {
          const bytes = keysBytes(r.keys);
          const { region } = this.#check(ctx, {
            mode: 'raw',
            keys: r.keys.map((k) => nonEmpty(k, 'Key')),
            writeBytes: bytes,
          });
          await raw.batchDelete(ctx, { keys: r.keys, forCas: r.forCas, cf: r.cf });
          flow.written(region.id, r.keys.length, bytes);
          return kvrpcpb.RawBatchDeleteResponse.fromPartial({});
        },
      ),
      RawScan: this.#cmd(
        'raw_scan',
        kvrpcpb.RawScanResponse,
        'kvs',
        async (r: kvrpcpb.RawScanRequest, ctx) => {
          const { region, clampedBound } = this.#check(ctx, {
            mode: 'raw',
            range: { start: r.startKey, end: r.endKey, reverse: r.reverse },
          });
          const kvs = await raw.scan(ctx, {
            startKey: r.startKey,
            endKey: clampedBound,
            limit: r.limit,
            keyOnly: r.keyOnly,
            reverse: r.reverse,
            cf: r.cf,
          });
          flow.read(region.id, kvs.length, pairBytes(kvs));
          return kvrpcpb.RawScanResponse.fromPartial({
            kvs: kvs.map((p) => ({ key: p.key, value: p.value })),
          });
        },
      ),
      RawDeleteRange: this.#cmd(
        'raw_delete_range',
        kvrpcpb.RawDeleteRangeResponse,
        'error-string',
        async (r: kvrpcpb.RawDeleteRangeRequest, ctx) => {
          const { region } = this.#check(ctx, {
            mode: 'raw',
            containedRange: { start: r.startKey, end: r.endKey },
          });
          await raw.deleteRange(ctx, { startKey: r.startKey, endKey: r.endKey, cf: r.cf });
          flow.written(region.id, 1, r.startKey.length + r.endKey.length);
          return kvrpcpb.RawDeleteRangeResponse.fromPartial({});
        },
      ),
      RawBatchScan: this.#cmd(
        'raw_batch_scan',
        kvrpcpb.RawBatchScanResponse,
        'kvs',
        async (r: kvrpcpb.RawBatchScanRequest, ctx) => {
          let regionId = 0n;
          const ranges = r.ranges.map((range) => {
            const c = this.#check(ctx, {
              mode: 'raw',
              range: { start: range.startKey, end: range.endKey, reverse: r.reverse },
            });
            regionId = c.region.id;
            return { startKey: range.startKey, endKey: c.clampedBound };
          });
          if (ranges.length === 0) this.#check(ctx, { mode: 'raw' });
          const kvs = await raw.batchScan(ctx, {
            ranges,
            eachLimit: r.eachLimit,
            keyOnly: r.keyOnly,
            reverse: r.reverse,
            cf: r.cf,
          });
          flow.read(regionId, kvs.length, pairBytes(kvs));
          return kvrpcpb.RawBatchScanResponse.fromPartial({
            kvs: kvs.map((p) => ({ key: p.key, value: p.value })),
          });
        },
      ),
      RawGetKeyTTL: this.#cmd(
        'raw_get_key_ttl',
        kvrpcpb.RawGetKeyTTLResponse,
        'error-string',
        async (r: kvrpcpb.RawGetKeyTTLRequest, ctx) => {
          this.#check(ctx, { mode: 'raw', keys: [nonEmpty(r.key, 'Key')] });
          const ttl = await raw.getKeyTtl(ctx, { key: r.key, cf: r.cf });
          return ttl === undefined
            ? kvrpcpb.RawGetKeyTTLResponse.fromPartial({ notFound: true })
            : kvrpcpb.RawGetKeyTTLResponse.fromPartial({ ttl });
        },
      ),
      RawCompareAndSwap: this.#cmd(
        'raw_compare_and_swap',
        kvrpcpb.RawCASResponse,
        'error-string',
        async (r: kvrpcpb.RawCASRequest, ctx) => {
          const bytes = r.key.length + r.value.length;
          const { region } = this.#check(ctx, {
            mode: 'raw',
            keys: [nonEmpty(r.key, 'Key')],
            writeBytes: bytes,
          });
          const res = await raw.compareAndSwap(ctx, {
            key: r.key,
            value: r.value,
            previousNotExist: r.previousNotExist,
            previousValue: r.previousValue,
            ttl: r.ttl,
            cf: r.cf,
          });
          if (res.succeed) flow.written(region.id, 1, bytes);
          return kvrpcpb.RawCASResponse.fromPartial({
            succeed: res.succeed,
            previousNotExist: res.previousValue === undefined,
            previousValue: res.previousValue ?? EMPTY,
          });
        },
      ),
      RawChecksum: this.#cmd(
        'raw_checksum',
        kvrpcpb.RawChecksumResponse,
        'error-string',
        async (r: kvrpcpb.RawChecksumRequest, ctx) => {
          const ranges = r.ranges.map((range) => {
            const c = this.#check(ctx, {
              mode: 'raw',
              range: { start: range.startKey, end: range.endKey },
            });
            return { startKey: range.startKey, endKey: c.clampedBound };
          });
          if (ranges.length === 0) this.#check(ctx, { mode: 'raw' });
          const res = await raw.checksum(ctx, { algorithm: r.algorithm, ranges });
          return kvrpcpb.RawChecksumResponse.fromPartial({
            checksum: res.checksum,
            totalKvs: res.totalKvs,
            totalBytes: res.totalBytes,
          });
        },
      ),

      // ---- transactional ----
      Get: this.#cmd(
        'kv_get',
        kvrpcpb.GetResponse,
        'error-key',
        async (r: kvrpcpb.GetRequest, ctx) => {
          const { region } = this.#check(ctx, { mode: 'txn', keys: [nonEmpty(r.key, 'Key')] });
          const { value } = await storage.get(ctx, r.key, r.version);
          flow.read(
            region.id,
            value === undefined ? 0 : 1,
            value === undefined ? 0 : r.key.length + value.length,
          );
          return value === undefined
            ? kvrpcpb.GetResponse.fromPartial({ notFound: true })
            : kvrpcpb.GetResponse.fromPartial({ value });
        },
      ),
      BatchGet: this.#cmd(
        'kv_batch_get',
        kvrpcpb.BatchGetResponse,
        'error-key',
        async (r: kvrpcpb.BatchGetRequest, ctx) => {
          const { region } = this.#check(ctx, {
            mode: 'txn',
            keys: r.keys.map((k) => nonEmpty(k, 'Key')),
          });
          const { pairs, bytes } = toKvPairs(await storage.batchGet(ctx, r.keys, r.version));
          flow.read(region.id, pairs.length, bytes);
          return kvrpcpb.BatchGetResponse.fromPartial({ pairs });
        },
      ),
      Scan: this.#cmd(
        'kv_scan',
        kvrpcpb.ScanResponse,
        'error-key',
        async (r: kvrpcpb.ScanRequest, ctx) => {
          const { region, clampedBound } = this.#check(ctx, {
            mode: 'txn',
            range: { start: r.startKey, end: r.endKey, reverse: r.reverse },
          });
          const params = r.reverse
            ? { startKey: clampedBound, endKey: r.startKey, reverse: true }
            : { startKey: r.startKey, endKey: clampedBound, reverse: false };
          const { pairs, bytes } = toKvPairs(
            await storage.scan(ctx, {
              ...params,
              limit: r.limit,
              ts: r.version,
              keyOnly: r.keyOnly,
            }),
          );
          flow.read(region.id, pairs.length, bytes);
          return kvrpcpb.ScanResponse.fromPartial({ pairs });
        },
      ),
      Prewrite: this.#cmd(
        'kv_prewrite',
        kvrpcpb.PrewriteResponse,
        'errors-key',
        async (r: kvrpcpb.PrewriteRequest, ctx) => {
          let bytes = 0;
          for (const m of r.mutations) bytes += m.key.length + m.value.length;
          const { region } = this.#check(ctx, {
            mode: 'txn',
            keys: r.mutations.map((m) => nonEmpty(m.key, 'Key')),
            writeBytes: bytes,
          });
          nonEmpty(r.primaryLock, 'Primary lock');
          const mutations = r.mutations.map(mutationFromProto);
          const res = await this.#sched('prewrite', () =>
            storage.prewrite(ctx, {
              mutations,
              primaryLock: r.primaryLock,
              startVersion: r.startVersion,
              lockTtl: r.lockTtl,
              skipConstraintCheck: r.skipConstraintCheck,
              pessimisticActions: r.pessimisticActions,
              txnSize: r.txnSize,
              forUpdateTs: r.forUpdateTs,
              minCommitTs: r.minCommitTs,
              useAsyncCommit: r.useAsyncCommit,
              secondaries: r.secondaries,
              tryOnePc: r.tryOnePc,
              maxCommitTs: r.maxCommitTs,
              assertionLevel: r.assertionLevel,
            }),
          );
          if (res.errors.length === 0) flow.written(region.id, mutations.length, bytes);
          return kvrpcpb.PrewriteResponse.fromPartial({
            errors: res.errors.map(keyErrorOf),
            minCommitTs: res.minCommitTs,
            onePcCommitTs: res.onePcCommitTs,
          });
        },
      ),
      Commit: this.#cmd(
        'kv_commit',
        kvrpcpb.CommitResponse,
        'error-key',
        async (r: kvrpcpb.CommitRequest, ctx) => {
          this.#check(ctx, { mode: 'txn', keys: r.keys.map((k) => nonEmpty(k, 'Key')) });
          const res = await this.#sched('commit', () =>
            storage.commit(ctx, {
              keys: r.keys,
              startVersion: r.startVersion,
              commitVersion: r.commitVersion,
            }),
          );
          return kvrpcpb.CommitResponse.fromPartial({ commitVersion: res.commitVersion });
        },
      ),
      Cleanup: this.#cmd(
        'kv_cleanup',
        kvrpcpb.CleanupResponse,
        'error-key',
        async (r: kvrpcpb.CleanupRequest, ctx) => {
          this.#check(ctx, { mode: 'txn', keys: [nonEmpty(r.key, 'Key')] });
          const res = await this.#sched('cleanup', () =>
            storage.cleanup(ctx, {
              key: r.key,
              startVersion: r.startVersion,
              currentTs: r.currentTs,
            }),
          );
          return kvrpcpb.CleanupResponse.fromPartial({ commitVersion: res.commitVersion });
        },
      ),
      BatchRollback: this.#cmd(
        'kv_batch_rollback',
        kvrpcpb.BatchRollbackResponse,
        'error-key',
        async (r: kvrpcpb.BatchRollbackRequest, ctx) => {
          this.#check(ctx, { mode: 'txn', keys: r.keys.map((k) => nonEmpty(k, 'Key')) });
          await this.#sched('batch_rollback', () =>
            storage.batchRollback(ctx, { keys: r.keys, startVersion: r.startVersion }),
          );
          return kvrpcpb.BatchRollbackResponse.fromPartial({});
        },
      ),
      ScanLock: this.#cmd(
        'kv_scan_lock',
        kvrpcpb.ScanLockResponse,
        'error-key',
        async (r: kvrpcpb.ScanLockRequest, ctx) => {
          const { clampedBound } = this.#check(ctx, {
            mode: 'txn',
            range: { start: r.startKey, end: r.endKey },
          });
          const locks = await storage.scanLock(ctx, {
            maxVersion: r.maxVersion,
            startKey: r.startKey,
            endKey: clampedBound,
            limit: r.limit,
          });
          return kvrpcpb.ScanLockResponse.fromPartial({ locks });
        },
      ),
      ResolveLock: this.#cmd(
        'kv_resolve_lock',
        kvrpcpb.ResolveLockResponse,
        'error-key',
        async (r: kvrpcpb.ResolveLockRequest, ctx) => {
          this.#check(ctx, { mode: 'txn', keys: r.keys });
          const regionScoped = r.keys.length === 0;
          await this.#sched('resolve_lock', () =>
            storage.resolveLock(ctx, {
              startVersion: r.startVersion,
              commitVersion: r.commitVersion,
              ...(regionScoped ? {} : { keys: r.keys }),
              txnInfos: r.txnInfos,
            }),
          );
          return kvrpcpb.ResolveLockResponse.fromPartial({});
        },
      ),
      GC: this.#cmd('kv_gc', kvrpcpb.GCResponse, 'error-key', async (r: kvrpcpb.GCRequest, ctx) => {
        const { region } = this.#check(ctx, { mode: 'txn' });
        await this.#sched('gc', () =>
          storage.gc(ctx, {
            safePoint: r.safePoint,
            startKey: rawOfRegionBound(region.startKey),
            endKey: rawOfRegionBound(region.endKey),
          }),
        );
        return kvrpcpb.GCResponse.fromPartial({});
      }),
      DeleteRange: this.#cmd(
        'kv_delete_range',
        kvrpcpb.DeleteRangeResponse,
        'error-string',
        async (r: kvrpcpb.DeleteRangeRequest, ctx) => {
          this.#check(ctx, { mode: 'txn', containedRange: { start: r.startKey, end: r.endKey } });
          await storage.deleteRange(ctx, {
            startKey: r.startKey,
            endKey: r.endKey,
            notifyOnly: r.notifyOnly,
          });
          return kvrpcpb.DeleteRangeResponse.fromPartial({});
        },
      ),
      PessimisticLock: this.#cmd(
        'kv_pessimistic_lock',
        kvrpcpb.PessimisticLockResponse,
        'errors-key',
        async (r: kvrpcpb.PessimisticLockRequest, ctx) => {
          const { region } = this.#check(ctx, {
            mode: 'txn',
            keys: r.mutations.map((m) => nonEmpty(m.key, 'Key')),
            writeBytes: keysBytes(r.mutations.map((m) => m.key)),
          });
          nonEmpty(r.primaryLock, 'Primary lock');
          const keys = r.mutations.map((m) => {
            if (m.op !== kvrpcpb.Op.PessimisticLock && m.op !== kvrpcpb.Op.Insert) {
              throw new InvalidArgumentError(
                `Mutation op ${kvrpcpb.Op[m.op] ?? m.op} is not a pessimistic lock`,
              );
            }
            return { key: m.key, shouldNotExist: m.op === kvrpcpb.Op.Insert };
          });
          const forceLock = r.wakeUpMode === kvrpcpb.PessimisticLockWakeUpMode.WakeUpModeForceLock;
          if (!forceLock && r.wakeUpMode !== kvrpcpb.PessimisticLockWakeUpMode.WakeUpModeNormal) {
            throw new InvalidArgumentError(`Unknown wake up mode ${r.wakeUpMode}`);
          }
          const res = await this.#sched('acquire_pessimistic_lock', () =>
            storage.pessimisticLock(ctx, {
              keys,
              primaryLock: r.primaryLock,
              startVersion: r.startVersion,
              lockTtl: r.lockTtl,
              forUpdateTs: r.forUpdateTs,
              waitTimeout: r.waitTimeout,
              returnValues: r.returnValues,
              checkExistence: r.checkExistence,
              lockOnlyIfExists: r.lockOnlyIfExists,
              minCommitTs: r.minCommitTs,
              wakeUpMode: r.wakeUpMode,
            }),
          );
          flow.written(region.id, keys.length, keysBytes(keys.map((k) => k.key)));
          if (forceLock) {
            return kvrpcpb.PessimisticLockResponse.fromPartial({
              results: res.locked.map((_l, i) => ({
                type:
                  (res.lockedWithConflictTs[i] ?? 0n) !== 0n
                    ? kvrpcpb.PessimisticLockKeyResultType.LockResultLockedWithConflict
                    : kvrpcpb.PessimisticLockKeyResultType.LockResultNormal,
                value: res.values[i] ?? EMPTY,
                existence: res.notFounds[i] === undefined ? false : !res.notFounds[i],
                lockedWithConflictTs: res.lockedWithConflictTs[i] ?? 0n,
              })),
            });
          }
          return kvrpcpb.PessimisticLockResponse.fromPartial({
            values: res.values,
            notFounds: res.notFounds,
          });
        },
      ),
      PessimisticRollback: this.#cmd(
        'kv_pessimistic_rollback',
        kvrpcpb.PessimisticRollbackResponse,
        'errors-key',
        async (r: kvrpcpb.PessimisticRollbackRequest, ctx) => {
          this.#check(ctx, { mode: 'txn', keys: r.keys.map((k) => nonEmpty(k, 'Key')) });
          await this.#sched('pessimistic_rollback', () =>
            storage.pessimisticRollback(ctx, {
              keys: r.keys,
              startVersion: r.startVersion,
              forUpdateTs: r.forUpdateTs,
            }),
          );
          return kvrpcpb.PessimisticRollbackResponse.fromPartial({});
        },
      ),
      CheckTxnStatus: this.#cmd(
        'kv_check_txn_status',
        kvrpcpb.CheckTxnStatusResponse,
        'error-key',
        async (r: kvrpcpb.CheckTxnStatusRequest, ctx) => {
          this.#check(ctx, { mode: 'txn', keys: [nonEmpty(r.primaryKey, 'Primary key')] });
          const res = await this.#sched('check_txn_status', () =>
            storage.checkTxnStatus(ctx, {
              primaryKey: r.primaryKey,
              lockTs: r.lockTs,
              callerStartTs: r.callerStartTs,
              currentTs: r.currentTs,
              rollbackIfNotExist: r.rollbackIfNotExist,
              forceSyncCommit: r.forceSyncCommit,
              resolvingPessimisticLock: r.resolvingPessimisticLock,
              verifyIsPrimary: r.verifyIsPrimary,
            }),
          );
          return kvrpcpb.CheckTxnStatusResponse.fromPartial({
            lockTtl: res.lockTtl,
            commitVersion: res.commitVersion,
            action: res.action,
            lockInfo: res.lockInfo,
          });
        },
      ),
      TxnHeartBeat: this.#cmd(
        'kv_txn_heart_beat',
        kvrpcpb.TxnHeartBeatResponse,
        'error-key',
        async (r: kvrpcpb.TxnHeartBeatRequest, ctx) => {
          this.#check(ctx, { mode: 'txn', keys: [nonEmpty(r.primaryLock, 'Primary lock')] });
          const res = await this.#sched('txn_heart_beat', () =>
            storage.txnHeartBeat(ctx, {
              primaryLock: r.primaryLock,
              startVersion: r.startVersion,
              adviseLockTtl: r.adviseLockTtl,
            }),
          );
          return kvrpcpb.TxnHeartBeatResponse.fromPartial({ lockTtl: res.lockTtl });
        },
      ),
      CheckSecondaryLocks: this.#cmd(
        'kv_check_secondary_locks',
        kvrpcpb.CheckSecondaryLocksResponse,
        'error-key',
        async (r: kvrpcpb.CheckSecondaryLocksRequest, ctx) => {
          this.#check(ctx, { mode: 'txn', keys: r.keys.map((k) => nonEmpty(k, 'Key')) });
          const res = await this.#sched('check_secondary_locks', () =>
            storage.checkSecondaryLocks(ctx, { keys: r.keys, startVersion: r.startVersion }),
          );
          return kvrpcpb.CheckSecondaryLocksResponse.fromPartial({
            locks: res.locks,
            commitTs: res.commitTs,
          });
        },
      ),

      // ---- store-level, debug and admin (unary only) ----
      MvccGetByKey: this.#cmd(
        'mvcc_get_by_key',
        kvrpcpb.MvccGetByKeyResponse,
        'error-string',
        async (r: kvrpcpb.MvccGetByKeyRequest, ctx) => {
          this.#check(ctx, { mode: 'txn', keys: [nonEmpty(r.key, 'Key')] });
          const info = await storage.mvccGetByKey(ctx, r.key);
          return kvrpcpb.MvccGetByKeyResponse.fromPartial({ info });
        },
      ),
      MvccGetByStartTs: this.#cmd(
        'mvcc_get_by_start_ts',
        kvrpcpb.MvccGetByStartTsResponse,
        'error-string',
        async (r: kvrpcpb.MvccGetByStartTsRequest, ctx) => {
          this.#check(ctx, { mode: 'txn' });
          const found = await storage.mvccGetByStartTs(ctx, r.startTs);
          return found === undefined
            ? kvrpcpb.MvccGetByStartTsResponse.fromPartial({})
            : kvrpcpb.MvccGetByStartTsResponse.fromPartial({ key: found.key, info: found.info });
        },
      ),
      UnsafeDestroyRange: this.#cmd(
        'unsafe_destroy_range',
        kvrpcpb.UnsafeDestroyRangeResponse,
        'error-string',
        async (r: kvrpcpb.UnsafeDestroyRangeRequest, ctx) => {
          // Store-wide (TiKV sends it to every store): no region check.
          if (r.endKey.length > 0 && Buffer.compare(r.startKey, r.endKey) >= 0) {
            throw new InvalidArgumentError('Start key must be below end key');
          }
          await storage.unsafeDestroyRange(ctx, { startKey: r.startKey, endKey: r.endKey });
          return kvrpcpb.UnsafeDestroyRangeResponse.fromPartial({});
        },
      ),
      SplitRegion: this.#cmd(
        'split_region',
        kvrpcpb.SplitRegionResponse,
        'errors-key',
        async (r: kvrpcpb.SplitRegionRequest, ctx) => {
          const { region } = this.#check(ctx, { mode: 'raw' });
          const keys =
            r.splitKeys.length > 0 ? r.splitKeys : r.splitKey.length > 0 ? [r.splitKey] : [];
          const boundaries = keys.map((k) => (r.isRawKv ? k : Key.fromRaw(k).asEncoded()));
          const regions = await splitter.splitRegion(region.id, boundaries);
          return kvrpcpb.SplitRegionResponse.fromPartial({
            regions,
            ...(regions.length === 2 ? { left: regions[0], right: regions[1] } : {}),
          });
        },
      ),
    };
  }

  /** Answers one BatchCommands entry. */
  async #batchOne(
    req: tikvpb.BatchCommandsRequest_Request,
  ): Promise<tikvpb.BatchCommandsResponse_Response> {
    const cmd = req.cmd;
    if (cmd === undefined) return { cmd: undefined };
    if (cmd.$case === 'Empty') {
      if (cmd.value.delayTime > 0n) await this.#o.clock.sleep(Number(cmd.value.delayTime));
      return { cmd: { $case: 'Empty', value: { testId: cmd.value.testId } } };
    }
    const handler = (
      this.commands as unknown as Partial<Record<BatchCase, CommandHandler<unknown, unknown>>>
    )[cmd.$case];
    if (handler === undefined) {
      // As TiKV answers an invalid entry: an empty response for that id alone (a client sees
      // no `cmd` and fails that request), so the other requests on the stream are unaffected.
      this.#o.logger.debug('BatchCommands entry not served', { cmd: cmd.$case });
      this.#o.metrics.grpcMsgFail.labels('invalid').inc();
      return { cmd: undefined };
    }
    const value = await handler(cmd.value);
    return { cmd: { $case: cmd.$case, value } } as tikvpb.BatchCommandsResponse_Response;
  }

  /** The grpc-js handler of the BatchCommands stream. */
  batchCommands(
    call: grpc.ServerDuplexStream<tikvpb.BatchCommandsRequest, tikvpb.BatchCommandsResponse>,
  ): void {
    if (this.#closing) {
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'Server is shutting down' });
      return;
    }
    this.#streams.add(call);
    let pendingResponses: tikvpb.BatchCommandsResponse_Response[] = [];
    let pendingIds: bigint[] = [];
    let flushScheduled = false;
    let outstanding = 0;
    let ended = false;
    let failed = false;
    const finish = (): void => {
      if (ended && outstanding === 0 && !flushScheduled && !failed) {
        failed = true;
        this.#streams.delete(call);
        call.end();
      }
    };
    const flush = (): void => {
      flushScheduled = false;
      if (failed || pendingIds.length === 0) {
        finish();
        return;
      }
      const msg = tikvpb.BatchCommandsResponse.fromPartial({
        responses: pendingResponses,
        requestIds: pendingIds,
      });
      this.#o.metrics.grpcRespBatchSize.observe(pendingIds.length);
      pendingResponses = [];
      pendingIds = [];
      call.write(msg);
      finish();
    };
    const fail = (code: grpc.status, details: string): void => {
      if (failed) return;
      failed = true;
      this.#streams.delete(call);
      call.emit('error', { code, details });
    };
    call.on('data', (batch: tikvpb.BatchCommandsRequest) => {
      // While shutting down, new requests are not started: they fail when the stream ends.
      if (failed || this.#closing) return;
      if (batch.requests.length !== batch.requestIds.length) {
        fail(
          grpc.status.INVALID_ARGUMENT,
          `BatchCommands carries ${batch.requests.length} requests but ${batch.requestIds.length} ids`,
        );
        return;
      }
      this.#o.metrics.grpcReqBatchSize.observe(batch.requests.length);
      for (let i = 0; i < batch.requests.length; i++) {
        const id = batch.requestIds[i] as bigint;
        outstanding++;
        this.#batchOne(batch.requests[i] as tikvpb.BatchCommandsRequest_Request).then(
          (res) => {
            outstanding--;
            pendingResponses.push(res);
            pendingIds.push(id);
            if (!flushScheduled) {
              flushScheduled = true;
              setImmediate(flush);
            }
          },
          (e: unknown) => {
            outstanding--;
            fail(grpc.status.INTERNAL, errorMessage(e));
          },
        );
      }
    });
    call.on('end', () => {
      ended = true;
      finish();
    });
    call.on('error', () => {
      failed = true;
      this.#streams.delete(call);
    });
    call.on('cancelled', () => {
      failed = true;
      this.#streams.delete(call);
    });
  }

  /**
   * The grpc-js implementation of `tikvpb.Tikv`: every unary RPC above and BatchCommands. RPCs
   * not in it (Coprocessor, Raft, Snapshot, …) answer UNIMPLEMENTED (grpc-js does that for
   * methods of a service definition without a handler).
   */
  implementation(): grpc.UntypedServiceImplementation {
    const c = this.commands;
    const unary =
      <Req, Res>(h: CommandHandler<Req, Res>): grpc.handleUnaryCall<Req, Res> =>
      (call, callback) => {
        if (this.#closing) {
          callback({ code: grpc.status.UNAVAILABLE, details: 'Server is shutting down' });
          return;
        }
        h(call.request).then(
          (res) => callback(null, res),
          (e: unknown) => callback({ code: grpc.status.INTERNAL, details: errorMessage(e) }),
        );
      };
    const impl: Partial<tikvpb.TikvServer> = {
      rawGet: unary(c.RawGet),
      rawBatchGet: unary(c.RawBatchGet),
      rawPut: unary(c.RawPut),
      rawBatchPut: unary(c.RawBatchPut),
      rawDelete: unary(c.RawDelete),
      rawBatchDelete: unary(c.RawBatchDelete),
      rawScan: unary(c.RawScan),
      rawDeleteRange: unary(c.RawDeleteRange),
      rawBatchScan: unary(c.RawBatchScan),
      rawGetKeyTtl: unary(c.RawGetKeyTTL),
      rawCompareAndSwap: unary(c.RawCompareAndSwap),
      rawChecksum: unary(c.RawChecksum),
      kvGet: unary(c.Get),
      kvBatchGet: unary(c.BatchGet),
      kvScan: unary(c.Scan),
      kvPrewrite: unary(c.Prewrite),
      kvCommit: unary(c.Commit),
      kvCleanup: unary(c.Cleanup),
      kvBatchRollback: unary(c.BatchRollback),
      kvScanLock: unary(c.ScanLock),
      kvResolveLock: unary(c.ResolveLock),
      kvGc: unary(c.GC),
      kvDeleteRange: unary(c.DeleteRange),
      kvPessimisticLock: unary(c.PessimisticLock),
      kvPessimisticRollback: unary(c.PessimisticRollback),
      kvCheckTxnStatus: unary(c.CheckTxnStatus),
      kvTxnHeartBeat: unary(c.TxnHeartBeat),
      kvCheckSecondaryLocks: unary(c.CheckSecondaryLocks),
      mvccGetByKey: unary(c.MvccGetByKey),
      mvccGetByStartTs: unary(c.MvccGetByStartTs),
      unsafeDestroyRange: unary(c.UnsafeDestroyRange),
      splitRegion: unary(c.SplitRegion),
      batchCommands: (call) => this.batchCommands(call),
    };
    return impl as grpc.UntypedServiceImplementation;
  }

  /**
   * Graceful stop: new requests are refused (UNAVAILABLE), requests in flight finish, then every
   * BatchCommands stream is ended (after its last responses). Resolves when nothing is in flight.
   */
  async drain(): Promise<void> {
    this.#closing = true;
    if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    // Let the streams flush the responses of the last requests before ending them.
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (const s of this.#streams) s.end();
    this.#streams.clear();
  }
}
