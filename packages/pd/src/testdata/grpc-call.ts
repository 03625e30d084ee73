// Spec helper: a promise form of grpc-js unary calls.
import * as grpc from '@grpc/grpc-js';

/**
 * The full-argument overload of a generated grpc-js unary method. Generated clients declare it
 * last, so TypeScript infers `Req` and `Res` from it when a method is passed here.
 */
export type UnaryMethod<Req, Res> = (
  req: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (err: grpc.ServiceError | null, res: Res) => void,
) => grpc.ClientUnaryCall;

/** Promisifies a grpc-js unary method of `client`. */
export function call<Req, Res>(client: grpc.Client, method: UnaryMethod<Req, Res>, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, req, new grpc.Metadata(), {}, (err, res) => (err !== null ? reject(err) : resolve(res)));
  });
}
