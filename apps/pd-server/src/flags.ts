import { parseArgs } from 'node:util';

/** The command line of pd-server (PD's flag names). */
export interface PdFlags {
  readonly name?: string;
  readonly dataDir?: string;
  readonly clientUrls?: string;
  readonly advertiseClientUrls?: string;
  readonly peerUrls?: string;
  readonly advertisePeerUrls?: string;
  readonly config?: string;
  readonly logFile?: string;
  readonly logLevel?: string;
  readonly version: boolean;
  readonly help: boolean;
}

/** Usage text printed by `--help` and on a bad flag. */
export const USAGE = `Usage: pd-server [flags]

  --name <name>                     human-readable name of this member (default "pd")
  --data-dir <path>                 path to the data directory (default "default.<name>")
  --client-urls <urls>              URLs to listen on for client traffic (default "http://127.0.0.1:2379")
  --advertise-client-urls <urls>    client URLs announced to clients (default: --client-urls)
  --peer-urls <urls>                URLs for peer traffic (default "http://127.0.0.1:2380")
  --advertise-peer-urls <urls>      peer URLs announced (default: --peer-urls)
  --config <file>                   TOML configuration file
  --log-file <file>                 log file (default: stderr)
  --log-level <level>               error, warn, info or debug (default "info")
  -V, --version                     print the version and exit
  -h, --help                        print this help and exit
`;

/**
 * Parses PD's flags (`--name value` and `--name=value` forms).
 * @throws TypeError on an unknown flag or a missing value (the message names the flag)
 */
export function parseFlags(argv: readonly string[]): PdFlags {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      name: { type: 'string' },
      'data-dir': { type: 'string' },
      'client-urls': { type: 'string' },
      'advertise-client-urls': { type: 'string' },
      'peer-urls': { type: 'string' },
      'advertise-peer-urls': { type: 'string' },
      config: { type: 'string' },
      'log-file': { type: 'string' },
      'log-level': { type: 'string', short: 'L' },
      version: { type: 'boolean', short: 'V' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const out: { -readonly [K in keyof PdFlags]: PdFlags[K] } = { version: values.version === true, help: values.help === true };
  if (values.name !== undefined) out.name = values.name;
  if (values['data-dir'] !== undefined) out.dataDir = values['data-dir'];
  if (values['client-urls'] !== undefined) out.clientUrls = values['client-urls'];
  if (values['advertise-client-urls'] !== undefined) out.advertiseClientUrls = values['advertise-client-urls'];
  if (values['peer-urls'] !== undefined) out.peerUrls = values['peer-urls'];
  if (values['advertise-peer-urls'] !== undefined) out.advertisePeerUrls = values['advertise-peer-urls'];
  if (values.config !== undefined) out.config = values.config;
  if (values['log-file'] !== undefined) out.logFile = values['log-file'];
  if (values['log-level'] !== undefined) out.logLevel = values['log-level'];
  return out;
}
