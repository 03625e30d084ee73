import * as grpc from '@grpc/grpc-js';
import { tikvpb } from '@tikv-ts/proto';

type Service = typeof tikvpb.TikvService;

/** Names of the unary `tikvpb.Tikv` methods (`'kvGet'`, `'rawPut'`, …). */
export type UnaryMethod = {
  [K in keyof Service]: Service[K]['requestStream'] extends false ? (Service[K]['responseStream'] extends false ? K : never) : never;
}[keyof Service];

/** The request message type of a method. */
export type RequestOf<M extends UnaryMethod> = Parameters<Service[M]['requestSerialize']>[0];
/** The response message type of a method. */
export type ResponseOf<M extends UnaryMethod> = ReturnType<Service[M]['responseDeserialize']>;

/**
 * How the client reaches a TiKV store. `BatchCommandsTransport` (the default of the clients) and
 * {@link GrpcTransport} are the real ones; specs may supply another (e.g. to inject send failures).
 */
export interface TikvTransport {
  /**
   * One unary RPC to the store at `addr` (`host:port`).
   * @throws the transport's error (for gRPC: a `ServiceError` with a `code`) when the call fails
   */
  call<M extends UnaryMethod>(addr: string, method: M, request: RequestOf<M>, timeoutMs: number): Promise<ResponseOf<M>>;
  /** Closes every connection. */
  close(): void;
}

/** Options of {@link GrpcTransport}. */
export interface GrpcTransportOptions {
  /** Extra grpc-js channel options. */
  readonly channelOptions?: grpc.ChannelOptions;
}

/**
 * The channel options every transport of this package starts from: no message size limit,
 * keepalive every 10 s, and reconnect backoff from 100 ms up to 3 s (client-go's connection
 * backoff; grpc-js's own default grows to 120 s, which would keep a restarted store unreachable
 * long after it is back).
 */
export const DEFAULT_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
  'grpc.keepalive_time_ms': 10000,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 3000,
  // channelz's per-call bookkeeping is pure overhead here (nothing reads it).
  'grpc.enable_channelz': 0,
};

/**
 * One unary `tikvpb.Tikv` RPC on `client` (a grpc-js client of the store), with a deadline of
 * `timeoutMs` from now. Shared by {@link GrpcTransport} and the BatchCommands transport's unary path.
 * @throws the grpc-js `ServiceError` (with its numeric `code`) when the call fails
 */
export function unaryCall<M extends UnaryMethod>(client: grpc.Client, call: { method: M; request: RequestOf<M>; timeoutMs: number }): Promise<ResponseOf<M>> {
  const { method, request, timeoutMs } = call;
  const def = tikvpb.TikvService[method] as unknown as {
    path: string;
    requestSerialize: (v: RequestOf<M>) => Buffer;
    responseDeserialize: (b: Buffer) => ResponseOf<M>;
  };
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      def.path,
      def.requestSerialize,
      def.responseDeserialize,
      request,
      new grpc.Metadata(),
      { deadline: new Date(Date.now() + timeoutMs) },
      (err: grpc.ServiceError | null, res?: ResponseOf<M>) => {
        if (err !== null) reject(err);
        else if (res === undefined) reject(new Error(`Empty response to ${method}`));
        else resolve(res);
      },
    );
  });
}

/**
 * A grpc-js transport: one HTTP/2 channel per store address, reused by every call, using the
 * generated `tikvpb.TikvService` definition (kvproto on the wire). One unary RPC per request.
 */
export class GrpcTransport implements TikvTransport {
  readonly #clients = new Map<string, grpc.Client>();
  readonly #options: grpc.ChannelOptions;

  constructor(options: GrpcTransportOptions = {}) {
    this.#options = { ...DEFAULT_CHANNEL_OPTIONS, ...options.channelOptions };
  }

  #client(addr: string): grpc.Client {
    let c = this.#clients.get(addr);
    if (c === undefined) {
      c = new grpc.Client(addr, grpc.credentials.createInsecure(), this.#options);
      this.#clients.set(addr, c);
    }
    return c;
  }

  call<M extends UnaryMethod>(addr: string, method: M, request: RequestOf<M>, timeoutMs: number): Promise<ResponseOf<M>> {
    return unaryCall(this.#client(addr), { method, request, timeoutMs });
  }

  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }
}
