// Spec helper: serves a PdServer on 127.0.0.1 with an ephemeral port, as the pd-server app does.
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { PdServer } from '../pd-server';

export interface Served {
  readonly port: number;
  readonly address: string;
  close(): Promise<void>;
}

export async function serve(pd: PdServer): Promise<Served> {
  const server = net.createServer((socket) => pd.handleConnection(socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    close: async () => {
      await pd.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

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
