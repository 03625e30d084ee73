import { setImmediate } from 'node:timers';
import * as grpc from '@grpc/grpc-js';
import { ByteWriter, encodeUvarintTo, uvarintLength } from '@tikv-ts/codec';
import { tikvpb } from '@tikv-ts/proto';
import type { Clock, Logger, TimerHandle } from '@tikv-ts/util';
import { SystemClock } from '@tikv-ts/util/node';
import { ClientError } from './errors';
import {
  DEFAULT_CHANNEL_OPTIONS,
  unaryCall,
  type RequestOf,
  type ResponseOf,
  type TikvTransport,
  type UnaryMethod,
} from './transport';

type RequestCmd = NonNullable<tikvpb.BatchCommandsRequest_Request['cmd']>;
type ResponseCmd = NonNullable<tikvpb.BatchCommandsResponse_Response['cmd']>;
/** Names of the `BatchCommandsRequest.Request` oneof cases (`'RawGet'`, `'Prewrite'`, …, `'Empty'`). */
export type BatchCase = RequestCmd['$case'];
type CaseRequest<C extends BatchCase> = Extract<RequestCmd, { $case: C }>['value'];
/** The case whose request type is exactly `R` (both ways assignable), so a wrong row fails to compile. */
type CaseFor<R> = {
  [C in BatchCase]: [R] extends [CaseRequest<C>]
    ? [CaseRequest<C>] extends [R]
      ? C
      : never
    : never;
}[BatchCase];

/**
 * The unary methods sent through the BatchCommands stream, with their oneof case. Every command
 * the clients of this package send is here, except `rawGetKeyTtl`, `rawCompareAndSwap` and
 * `rawChecksum`, which kvproto's BatchCommands has no case for. Cases that exist in kvproto but
 * that this project's tikv-server does not serve in the stream (Import, Coprocessor, Flush,
 * flashback, …) are left out too: the server answers such an entry with an empty response, so
 * they go unary, where the store's UNIMPLEMENTED names the method.
 */
export const BATCH_COMMAND_CASES = {
  kvGet: 'Get',
  kvScan: 'Scan',
  kvPrewrite: 'Prewrite',
  kvCommit: 'Commit',
  kvCleanup: 'Cleanup',
  kvBatchGet: 'BatchGet',
  kvBatchRollback: 'BatchRollback',
  kvScanLock: 'ScanLock',
  kvResolveLock: 'ResolveLock',
  kvGc: 'GC',
  kvDeleteRange: 'DeleteRange',
  kvPessimisticLock: 'PessimisticLock',
  kvPessimisticRollback: 'PessimisticRollback',
  kvCheckTxnStatus: 'CheckTxnStatus',
  kvTxnHeartBeat: 'TxnHeartBeat',
  kvCheckSecondaryLocks: 'CheckSecondaryLocks',
  rawGet: 'RawGet',
  rawBatchGet: 'RawBatchGet',
  rawPut: 'RawPut',
  rawBatchPut: 'RawBatchPut',
  rawDelete: 'RawDelete',
  rawBatchDelete: 'RawBatchDelete',
  rawScan: 'RawScan',
  rawDeleteRange: 'RawDeleteRange',
  rawBatchScan: 'RawBatchScan',
} as const satisfies { readonly [M in UnaryMethod]?: CaseFor<RequestOf<M>> };

/** client-go's default `max-batch-size`: requests per BatchCommandsRequest. */
export const DEFAULT_MAX_BATCH_SIZE = 128;
/** Default byte budget of one BatchCommandsRequest (the encoded requests). */
export const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024;

/** Stable codes of {@link TransportError}. */
export type TransportErrorCode =
  | 'KV:Client:Unavailable'
  | 'KV:Client:DeadlineExceeded'
  | 'KV:Client:BatchMismatch'
  | 'KV:Client:TransportClosed';

/**
 * A request sent through the BatchCommands stream failed without an answer from the store (or
 * with an answer of the wrong kind). `grpcCode` is the gRPC status a unary call would have
 * failed with, so code written against grpc-js `ServiceError`s can branch the same way:
 *
 * | `code` | `grpcCode` | when |
 * | --- | --- | --- |
 * | `KV:Client:Unavailable` | `UNAVAILABLE` | the stream failed or was ended by the server; the request may or may not have run |
 * | `KV:Client:DeadlineExceeded` | `DEADLINE_EXCEEDED` | no response within the call's `timeoutMs`; it may or may not have run |
 * | `KV:Client:BatchMismatch` | `INTERNAL` | the response's case differs from the request's, or is missing |
 * | `KV:Client:TransportClosed` | `CANCELLED` | {@link BatchCommandsTransport.close} was called |
 *
 * The clients' retry logic treats every transport failure alike (back off, refresh the region
 * and store, retry), exactly as for a failed unary RPC.
 */
export class TransportError extends ClientError {
  readonly code: TransportErrorCode;
  /** The equivalent gRPC status code (`@grpc/grpc-js` `status`). */
  readonly grpcCode: grpc.status;
  /** The store address the request was for. */
  readonly addr: string;
  constructor(
    code: TransportErrorCode,
    grpcCode: grpc.status,
    addr: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.code = code;
    this.grpcCode = grpcCode;
    this.addr = addr;
  }
}

/** Options of {@link BatchCommandsTransport}. */
export interface BatchCommandsTransportOptions {
  /** Time source of the per-request deadlines (default `SystemClock`). */
  readonly clock?: Clock;
  /** Extra grpc-js channel options (on top of {@link DEFAULT_CHANNEL_OPTIONS}). */
  readonly channelOptions?: grpc.ChannelOptions;
  /** At most this many requests in one BatchCommandsRequest (default {@link DEFAULT_MAX_BATCH_SIZE}). */
  readonly maxBatchSize?: number;
  /**
   * About this many bytes of encoded requests in one BatchCommandsRequest (default
   * {@link DEFAULT_MAX_BATCH_BYTES}); a single larger request is still sent, alone.
   */
  readonly maxBatchBytes?: number;
  /** Receives debug lines (responses for unknown ids, stream failures). */
  readonly logger?: Logger;
}

/** Counters of a {@link BatchCommandsTransport} since it was created. */
export interface BatchTransportStats {
  /** BatchCommands streams opened. */
  readonly streamsOpened: number;
  /** BatchCommandsRequest messages written. */
  readonly messagesSent: number;
  /** Requests carried by those messages. */
  readonly requestsSent: number;
  /** Requests answered (matched by id). */
  readonly responsesMatched: number;
  /** Calls that went unary (no BatchCommands case, or the store does not serve the stream). */
  readonly unaryCalls: number;
}

interface Pending {
  readonly id: bigint;
  readonly caseName: BatchCase;
  /** The encoded `BatchCommandsRequest.Request`. */
  readonly bytes: Uint8Array;
  readonly resolve: (value: unknown) => void;
  readonly reject: (e: Error) => void;
  timer: TimerHandle | undefined;
}

/** One BatchCommands stream to one store. */
interface StoreStream {
  readonly addr: string;
  readonly call: grpc.ClientDuplexStream<Buffer, tikvpb.BatchCommandsResponse>;
  /** Requests queued or sent and not yet answered, by id. */
  readonly pending: Map<bigint, Pending>;
  /** Requests not yet written, in call order. */
  queue: Pending[];
  flushScheduled: boolean;
  done: boolean;
}

const BATCH_COMMANDS_PATH = tikvpb.TikvService.batchCommands.path;
const serializeRaw = (b: Buffer): Buffer => b;
const deserializeResponse = (b: Buffer): tikvpb.BatchCommandsResponse =>
  tikvpb.BatchCommandsResponse.decode(b);

/**
 * Encodes a BatchCommandsRequest from already encoded `Request` entries and their ids: field 1
 * (`requests`, length-delimited, once per entry) then field 2 (`request_ids`, packed uint64) —
 * the bytes the generated encoder writes for the same message.
 */
export function encodeBatchCommandsRequest(
  entries: readonly Uint8Array[],
  ids: readonly bigint[],
): Uint8Array {
  let idsLen = 0;
  for (const id of ids) idsLen += uvarintLength(id);
  let size = ids.length > 0 ? 1 + uvarintLength(idsLen) + idsLen : 0;
  for (const e of entries) size += 1 + uvarintLength(e.length) + e.length;
  const w = new ByteWriter(size);
  for (const e of entries) {
    w.appendByte(0x0a);
    encodeUvarintTo(w, e.length);
    w.append(e);
  }
  if (ids.length > 0) {
    w.appendByte(0x12);
    encodeUvarintTo(w, idsLen);
    for (const id of ids) encodeUvarintTo(w, id);
  }
  return w.view();
}

/**
 * A {@link TikvTransport} over TiKV's `BatchCommands` bidirectional stream, as client-go sends
 * every request: one grpc-js channel and one stream per store address, opened on first use.
 *
 * - Calls made during one event-loop turn are written as one `BatchCommandsRequest` (split
 *   beyond `maxBatchSize` requests or `maxBatchBytes` bytes) after the turn's I/O (`setImmediate`).
 *   Each carries a fresh id from a per-transport `bigint` counter; responses are matched by id
 *   in any order, and a response for an unknown id (e.g. one that already timed out) is ignored.
 * - Each call has its own deadline (`timeoutMs`, timed on the injected `Clock`); on expiry it
 *   rejects with {@link TransportError} `KV:Client:DeadlineExceeded` and the stream stays up.
 * - When the stream fails (store gone, connection reset, stream error) or is ended by the server
 *   (graceful shutdown), every request on it rejects with `KV:Client:Unavailable`; the next call
 *   opens a new stream. No request is left without an outcome.
 * - Methods without a BatchCommands case ({@link BATCH_COMMAND_CASES}) go as unary RPCs on the
 *   same channel. A store that answers the stream itself with `UNIMPLEMENTED` (no BatchCommands
 *   support) is reached by unary RPCs from then on.
 *
 * All state lives on the one event loop; a transport may be shared by several clients (each
 * leaves it open when it closes; close it after them).
 */
export class BatchCommandsTransport implements TikvTransport {
  readonly #clients = new Map<string, grpc.Client>();
  readonly #streams = new Map<string, StoreStream>();
  readonly #unaryOnly = new Set<string>();
  readonly #channelOptions: grpc.ChannelOptions;
  readonly #clock: Clock;
  readonly #maxBatchSize: number;
  readonly #maxBatchBytes: number;
  readonly #logger: Logger | undefined;
  #nextId = 1n;
  #closed = false;
  #stats = {
    streamsOpened: 0,
    messagesSent: 0,
    requestsSent: 0,
    responsesMatched: 0,
    unaryCalls: 0,
  };

  /** @throws RangeError when `maxBatchSize` or `maxBatchBytes` is not a positive integer */
  constructor(options: BatchCommandsTransportOptions = {}) {
    this.#channelOptions = { ...DEFAULT_CHANNEL_OPTIONS, ...options.channelOptions };
    this.#clock = options.clock ?? new SystemClock();
    this.#maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
    this.#maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    this.#logger = options.logger;
    if (!Number.isInteger(this.#maxBatchSize) || this.#maxBatchSize < 1)
      throw new RangeError(`maxBatchSize must be a positive integer, got ${this.#maxBatchSize}`);
    if (!Number.isInteger(this.#maxBatchBytes) || this.#maxBatchBytes < 1)
      throw new RangeError(`maxBatchBytes must be a positive integer, got ${this.#maxBatchBytes}`);
  }

  /** A snapshot of the counters (for benchmarks and tests). */
  get stats(): BatchTransportStats {
    return { ...this.#stats };
  }

  /**
   * Sends one request to the store at `addr` (`host:port`): through its BatchCommands stream when
   * the method has a case, otherwise as a unary RPC.
   * @throws TransportError (stream path) or the grpc-js `ServiceError` (unary path) when the call
   *   fails; TransportError `KV:Client:TransportClosed` after {@link close}; the encoder's error
   *   when `request` is not a valid message. Never throws synchronously.
   */
  call<M extends UnaryMethod>(
    addr: string,
    method: M,
    request: RequestOf<M>,
    timeoutMs: number,
  ): Promise<ResponseOf<M>> {
    if (this.#closed) return Promise.reject(this.#closedError(addr));
    const caseName = (BATCH_COMMAND_CASES as Partial<Record<UnaryMethod, BatchCase>>)[method];
    if (caseName === undefined || this.#unaryOnly.has(addr)) {
      this.#stats.unaryCalls++;
      return unaryCall(this.#client(addr), { method, request, timeoutMs });
    }
    let bytes: Uint8Array;
    try {
      bytes = tikvpb.BatchCommandsRequest_Request.encode({
        cmd: { $case: caseName, value: request } as RequestCmd,
      }).finish();
    } catch (e: unknown) {
      return Promise.reject(e instanceof Error ? e : new TypeError(String(e)));
    }
    return this.#enqueue(addr, caseName, bytes, timeoutMs) as Promise<ResponseOf<M>>;
  }

  /**
   * Sends a `BatchCommandsEmptyRequest` (client-go's probe) through the store's stream and
   * resolves when it is answered: the stream is up and the store's event loop responsive.
   * @throws TransportError as {@link call}
   */
  async probe(addr: string, timeoutMs: number): Promise<void> {
    if (this.#closed) throw this.#closedError(addr);
    const bytes = tikvpb.BatchCommandsRequest_Request.encode({
      cmd: { $case: 'Empty', value: { testId: 0n, delayTime: 0n } },
    }).finish();
    await this.#enqueue(addr, 'Empty', bytes, timeoutMs);
  }

  /**
   * Ends every stream and closes every channel. Requests in flight reject with
   * {@link TransportError} `KV:Client:TransportClosed`, and so does every later call. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of [...this.#streams.values()])
      this.#fail(s, 'KV:Client:TransportClosed', grpc.status.CANCELLED, 'Transport closed');
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }

  #closedError(addr: string): TransportError {
    return new TransportError(
      'KV:Client:TransportClosed',
      grpc.status.CANCELLED,
      addr,
      `Transport closed: cannot send to ${addr}`,
    );
  }

  #client(addr: string): grpc.Client {
    let c = this.#clients.get(addr);
    if (c === undefined) {
      c = new grpc.Client(addr, grpc.credentials.createInsecure(), this.#channelOptions);
      this.#clients.set(addr, c);
    }
    return c;
  }

  #enqueue(
    addr: string,
    caseName: BatchCase,
    bytes: Uint8Array,
    timeoutMs: number,
  ): Promise<unknown> {
    if (!Number.isFinite(timeoutMs)) {
      return Promise.reject(new RangeError(`timeoutMs must be a finite number, got ${timeoutMs}`));
    }
    return new Promise((resolve, reject) => {
      const s = this.#stream(addr);
      const p: Pending = { id: this.#nextId++, caseName, bytes, resolve, reject, timer: undefined };
      s.pending.set(p.id, p);
      s.queue.push(p);
      p.timer = this.#clock.setTimer(Math.max(0, timeoutMs), () => {
        p.timer = undefined;
        if (!s.pending.delete(p.id)) return;
        reject(
          new TransportError(
            'KV:Client:DeadlineExceeded',
            grpc.status.DEADLINE_EXCEEDED,
            addr,
            `${caseName} request ${p.id} to ${addr} got no response within ${timeoutMs} ms`,
          ),
        );
      });
      if (!s.flushScheduled) {
        s.flushScheduled = true;
        setImmediate(() => this.#flush(s));
      }
    });
  }

  /** The open stream to `addr`, opening one when there is none. */
  #stream(addr: string): StoreStream {
    const existing = this.#streams.get(addr);
    if (existing !== undefined) return existing;
    const call = this.#client(addr).makeBidiStreamRequest(
      BATCH_COMMANDS_PATH,
      serializeRaw,
      deserializeResponse,
      new grpc.Metadata(),
    );
    const s: StoreStream = {
      addr,
      call,
      pending: new Map(),
      queue: [],
      flushScheduled: false,
      done: false,
    };
    this.#streams.set(addr, s);
    this.#stats.streamsOpened++;
    call.on('data', (msg: tikvpb.BatchCommandsResponse) => this.#onResponse(s, msg));
    call.on('error', (e: Partial<grpc.ServiceError>) => {
      if (e.code === grpc.status.UNIMPLEMENTED && !s.done) {
        this.#logger?.warn('Store does not serve BatchCommands; using unary RPCs', {
          addr,
          error: e.details ?? e.message,
        });
        this.#unaryOnly.add(addr);
      }
      this.#fail(
        s,
        'KV:Client:Unavailable',
        grpc.status.UNAVAILABLE,
        `BatchCommands stream to ${addr} failed: ${e.details ?? e.message ?? String(e)}`,
        e,
      );
    });
    call.on('end', () =>
      this.#fail(
        s,
        'KV:Client:Unavailable',
        grpc.status.UNAVAILABLE,
        `BatchCommands stream to ${addr} was ended by the server`,
      ),
    );
    return s;
  }

  #flush(s: StoreStream): void {
    s.flushScheduled = false;
    const queue = s.queue;
    s.queue = [];
    if (s.done) return;
    let batch: Pending[] = [];
    let bytes = 0;
    for (const p of queue) {
      if (!s.pending.has(p.id)) continue; // timed out before it was written
      if (
        batch.length > 0 &&
        (batch.length >= this.#maxBatchSize || bytes + p.bytes.length > this.#maxBatchBytes)
      ) {
        this.#write(s, batch);
        batch = [];
        bytes = 0;
      }
      batch.push(p);
      bytes += p.bytes.length;
    }
    if (batch.length > 0) this.#write(s, batch);
  }

  #write(s: StoreStream, batch: readonly Pending[]): void {
    const msg = encodeBatchCommandsRequest(
      batch.map((p) => p.bytes),
      batch.map((p) => p.id),
    );
    this.#stats.messagesSent++;
    this.#stats.requestsSent += batch.length;
    try {
      s.call.write(Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength));
    } catch (e: unknown) {
      this.#fail(
        s,
        'KV:Client:Unavailable',
        grpc.status.UNAVAILABLE,
        `BatchCommands stream to ${s.addr} refused a write: ${e instanceof Error ? e.message : String(e)}`,
        e,
      );
    }
  }

  #onResponse(s: StoreStream, msg: tikvpb.BatchCommandsResponse): void {
    for (let i = 0; i < msg.requestIds.length; i++) {
      const id = msg.requestIds[i] as bigint;
      const p = s.pending.get(id);
      if (p === undefined) {
        this.#logger?.debug('BatchCommands response for an unknown request id ignored', {
          addr: s.addr,
          id,
        });
        continue;
      }
      s.pending.delete(id);
      p.timer?.cancel();
      p.timer = undefined;
      this.#stats.responsesMatched++;
      const cmd: ResponseCmd | undefined = msg.responses[i]?.cmd;
      if (cmd === undefined || cmd.$case !== p.caseName) {
        const got =
          cmd === undefined
            ? msg.responses[i] === undefined
              ? 'no response'
              : 'an empty response'
            : `a ${cmd.$case} response`;
        p.reject(
          new TransportError(
            'KV:Client:BatchMismatch',
            grpc.status.INTERNAL,
            s.addr,
            `BatchCommands request ${id} (${p.caseName}) to ${s.addr} got ${got}`,
          ),
        );
        continue;
      }
      p.resolve(cmd.value);
    }
  }

  /** Marks the stream failed (once): forgets it, rejects all its requests and cancels the call. */
  #fail(
    s: StoreStream,
    code: TransportErrorCode,
    grpcCode: grpc.status,
    message: string,
    cause?: unknown,
  ): void {
    if (s.done) return;
    s.done = true;
    if (this.#streams.get(s.addr) === s) this.#streams.delete(s.addr);
    const inFlight = [...s.pending.values()];
    s.pending.clear();
    s.queue = [];
    if (inFlight.length > 0)
      this.#logger?.debug('BatchCommands stream failed', {
        addr: s.addr,
        inFlight: inFlight.length,
        error: message,
      });
    for (const p of inFlight) {
      p.timer?.cancel();
      p.timer = undefined;
      p.reject(
        new TransportError(
          code,
          grpcCode,
          s.addr,
          `${message} (${p.caseName} request ${p.id} lost)`,
          cause === undefined ? undefined : { cause },
        ),
      );
    }
    s.call.cancel();
  }
}
