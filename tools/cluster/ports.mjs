// Port choice for the local cluster: the default port if free, else a free one.
import * as net from 'node:net';

/** Resolves true when `port` can be bound on `host` now. */
export function isPortFree(port, host) {
  return new Promise((resolveFree) => {
    const s = net.createServer();
    s.once('error', () => resolveFree(false));
    s.listen({ port, host, exclusive: true }, () => s.close(() => resolveFree(true)));
  });
}

/** A port the OS reports free on `host` (bound and released). */
export function freePort(host) {
  return new Promise((resolvePort, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ port: 0, host, exclusive: true }, () => {
      const { port } = s.address();
      s.close(() => resolvePort(port));
    });
  });
}

/**
 * Picks the ports: a port asked for explicitly must be free (else an Error); a default port
 * that is taken is replaced by a free one. `specs` maps a name to `{ wanted, fallback }`.
 * Returns `{ ports: {name: port}, moved: [{name, from, to}] }`.
 */
export async function pickPorts(specs, host) {
  const ports = {};
  const moved = [];
  const used = new Set();
  for (const [name, { wanted, fallback }] of Object.entries(specs)) {
    if (wanted !== undefined) {
      if (used.has(wanted) || !(await isPortFree(wanted, host)))
        throw new Error(`port ${wanted} (--${name}-port) is in use on ${host}`);
      ports[name] = wanted;
    } else if (!used.has(fallback) && (await isPortFree(fallback, host))) {
      ports[name] = fallback;
    } else {
      let p;
      do p = await freePort(host);
      while (used.has(p));
      ports[name] = p;
      moved.push({ name, from: fallback, to: p });
    }
    used.add(ports[name]);
  }
  return { ports, moved };
}
