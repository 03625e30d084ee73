// Flags of `npm start` (tools/start.mjs).
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';

export const USAGE = `Usage: npm start -- [options]   (or: node tools/start.mjs [options])

Starts a local tikv-ts cluster: one pd-server and one tikv-server as child processes, with the
dashboard, until Ctrl-C (or SIGTERM).

Options:
  --data-dir <dir>     where the cluster keeps its data and logs (default ./data/local-cluster)
  --clean              wipe the data directory first (a fresh cluster)
  --host <ip>          address to listen on (default 127.0.0.1)
  --pd-port <n>        PD client port: gRPC, HTTP API and dashboard (default 2379)
  --tikv-port <n>      TiKV gRPC port (default 20160)
  --status-port <n>    TiKV status port (default 20180)
  --no-build           do not run the build first (the apps must be built)
  -h, --help           print this help

A default port that is taken is replaced by a free one; a port given as a flag must be free.
`;

function port(text, name) {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new Error(`--${name} must be a port number (1-65535), got ${JSON.stringify(text)}`);
  return n;
}

/** Parses the command line; throws an Error naming a bad flag. */
export function parseStartArgs(argv) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      'data-dir': { type: 'string' },
      clean: { type: 'boolean', default: false },
      host: { type: 'string', default: '127.0.0.1' },
      'pd-port': { type: 'string' },
      'tikv-port': { type: 'string' },
      'status-port': { type: 'string' },
      'no-build': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  return {
    help: values.help,
    dataDir: resolve(values['data-dir'] ?? join('data', 'local-cluster')),
    clean: values.clean,
    host: values.host,
    build: !values['no-build'],
    ports: {
      pd: { wanted: port(values['pd-port'], 'pd-port'), fallback: 2379 },
      tikv: { wanted: port(values['tikv-port'], 'tikv-port'), fallback: 20160 },
      status: { wanted: port(values['status-port'], 'status-port'), fallback: 20180 },
    },
  };
}
