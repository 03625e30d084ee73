import * as net from 'node:net';
import type { PdServer } from '@tikv-ts/pd';

/** Host and port of an `http://host:port` client URL. */
export function hostPortOf(url: string): { host: string; port: number } {
  let u: URL;
  try {
    u = new URL(url.includes('://') ? url : `http://${url}`);
  } catch {
    throw new TypeError(`Invalid URL ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'http:') throw new TypeError(`Unsupported scheme in ${JSON.stringify(url)}: only http is served`);
  const port = u.port === '' ? 80 : Number(u.port);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' ? '0.0.0.0' : host, port };
}

/**
 * Listens on every client URL and hands each accepted connection to the PD server, which tells
 * gRPC (HTTP/2) from the HTTP API (HTTP/1.1) by the first bytes. This is the only socket code of
 * PD: packages/pd does no network I/O of its own (STYLE.md §2). Resolves once all listen.
 */
export async function listenClientUrls(pd: PdServer, urls: readonly string[]): Promise<net.Server[]> {
  const servers: net.Server[] = [];
  try {
    for (const url of urls) {
      const { host, port } = hostPortOf(url);
      const server = net.createServer({ noDelay: true }, (socket) => pd.handleConnection(socket));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      servers.push(server);
    }
  } catch (e: unknown) {
    await closeServers(servers);
    throw e;
  }
  return servers;
}

/** Stops listening (connections already accepted belong to the PD server, which closes them). */
export async function closeServers(servers: readonly net.Server[]): Promise<void> {
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
}
