import { parseArgs } from 'node:util';

/** The command line of tikv-server (TiKV's flag names). */
export interface TikvFlags {
  readonly addr?: string;
  readonly advertiseAddr?: string;
  readonly statusAddr?: string;
  readonly advertiseStatusAddr?: string;
  readonly pd?: string;
  readonly dataDir?: string;
  readonly config?: string;
  readonly logFile?: string;
  readonly logLevel?: string;
  readonly capacity?: string;
  readonly version: boolean;
  readonly help: boolean;
}

/** Usage text printed by `--help` and on a bad flag. */
export const USAGE = `Usage: tikv-server [flags]

  -A, --addr <host:port>              gRPC listen address (default "127.0.0.1:20160")
      --advertise-addr <host:port>    gRPC address announced to PD and clients (default: --addr)
      --status-addr <host:port>       status HTTP listen address (default "127.0.0.1:20180")
      --advertise-status-addr <addr>  status address announced to PD (default: --status-addr)
      --pd <endpoints>                PD endpoints, comma separated (default "127.0.0.1:2379")
  -s, --data-dir <path>               data directory (default "./")
  -C, --config <file>                 TOML configuration file (TiKV's sections)
  -f, --log-file <file>               log file (default: stderr)
  -L, --log-level <level>             trace, debug, info, warn, error or critical (default "info")
      --capacity <size>               store capacity reported to PD, e.g. "10GiB" (default: the disk size)
  -V, --version                       print the version and exit
  -h, --help                          print this help and exit
`;

/**
 * Parses TiKV's flags (`--name value` and `--name=value`).
 * @throws TypeError on an unknown flag or a missing value (the message names the flag)
 */
export function parseFlags(argv: readonly string[]): TikvFlags {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      addr: { type: 'string', short: 'A' },
      'advertise-addr': { type: 'string' },
      'status-addr': { type: 'string' },
      'advertise-status-addr': { type: 'string' },
      pd: { type: 'string' },
      'pd-endpoints': { type: 'string' },
      'data-dir': { type: 'string', short: 's' },
      config: { type: 'string', short: 'C' },
      'log-file': { type: 'string', short: 'f' },
      'log-level': { type: 'string', short: 'L' },
      capacity: { type: 'string' },
      version: { type: 'boolean', short: 'V' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const out: { -readonly [K in keyof TikvFlags]: TikvFlags[K] } = { version: values.version === true, help: values.help === true };
  if (values.addr !== undefined) out.addr = values.addr;
  if (values['advertise-addr'] !== undefined) out.advertiseAddr = values['advertise-addr'];
  if (values['status-addr'] !== undefined) out.statusAddr = values['status-addr'];
  if (values['advertise-status-addr'] !== undefined) out.advertiseStatusAddr = values['advertise-status-addr'];
  const pd = values.pd ?? values['pd-endpoints'];
  if (pd !== undefined) out.pd = pd;
  if (values['data-dir'] !== undefined) out.dataDir = values['data-dir'];
  if (values.config !== undefined) out.config = values.config;
  if (values['log-file'] !== undefined) out.logFile = values['log-file'];
  if (values['log-level'] !== undefined) out.logLevel = values['log-level'];
  if (values.capacity !== undefined) out.capacity = values.capacity;
  return out;
}

/** The flags as config overrides (dotted TOML keys), for `loadConfig`. */
export function flagOverrides(flags: TikvFlags): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (flags.addr !== undefined) o['server.addr'] = flags.addr;
  if (flags.advertiseAddr !== undefined) o['server.advertise-addr'] = flags.advertiseAddr;
  if (flags.statusAddr !== undefined) o['server.status-addr'] = flags.statusAddr;
  if (flags.advertiseStatusAddr !== undefined) o['server.advertise-status-addr'] = flags.advertiseStatusAddr;
  if (flags.pd !== undefined) {
    o['pd.endpoints'] = flags.pd
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }
  if (flags.dataDir !== undefined) o['storage.data-dir'] = flags.dataDir;
  if (flags.logFile !== undefined) o['log.file.filename'] = flags.logFile;
  if (flags.logLevel !== undefined) o['log.level'] = flags.logLevel;
  if (flags.capacity !== undefined) o['raftstore.capacity'] = flags.capacity;
  return o;
}
