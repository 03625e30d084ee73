// Spec helper: a promise form of grpc-js unary calls.
import type * as grpc from '@grpc/grpc-js';

/** Promisifies a grpc-js unary method. */
export function call<Req, Res>(
  client: grpc.Client,
  method: (req: Req, callback: (err: grpc.ServiceError | null, res: Res) => void) => grpc.ClientUnaryCall,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, req, (err, res) => (err !== null ? reject(err) : resolve(res)));
  });
}
