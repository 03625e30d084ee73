// The command line of tikv-ctl (TiKV's flag and subcommand names).
import { parseArgs } from 'node:util';
import { ALL_CFS, DATA_CFS, isCfName, type CfName } from '@tikv-ts/engine-traits';
import { parseKey } from './escape';

/** A bad command line; the message names the flag or subcommand. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Which store a command addresses. */
export type Target =
  | { readonly kind: 'remote'; readonly host: string }
  | { readonly kind: 'local'; readonly dataDir: string };

/** The parts of a key's MVCC records `mvcc`/`scan` print. */
export type ShowCf = 'default' | 'write' | 'lock';

/** One parsed invocation. */
export type Command =
  | { readonly kind: 'help' }
  | { readonly kind: 'to-hex'; readonly bytes: Uint8Array }
  | { readonly kind: 'to-escaped'; readonly bytes: Uint8Array }
  | { readonly kind: 'encode'; readonly bytes: Uint8Array }
  | { readonly kind: 'decode'; readonly bytes: Uint8Array }
  | { readonly kind: 'pd-cluster'; readonly pd: string }
  | { readonly kind: 'store'; readonly target: Target }
  | { readonly kind: 'cluster'; readonly target: Target }
  | { readonly kind: 'region'; readonly target: Target; readonly regionId: bigint }
  | { readonly kind: 'regions'; readonly target: Target }
  | {
      readonly kind: 'size';
      readonly target: Target;
      readonly regionId: bigint;
      readonly cfs: readonly CfName[];
    }
  | {
      readonly kind: 'mvcc';
      readonly target: Target;
      readonly key: Uint8Array;
      readonly showCf: readonly ShowCf[];
    }
  | {
      readonly kind: 'scan';
      readonly target: Target;
      readonly from: Uint8Array;
      readonly to: Uint8Array;
      readonly limit: bigint;
      readonly showCf: readonly ShowCf[];
    }
  | {
      readonly kind: 'raw-scan';
      readonly target: Target;
      readonly from: Uint8Array;
      readonly to: Uint8Array;
      readonly limit: number;
      readonly cf: CfName;
    }
  | {
      readonly kind: 'print';
      readonly target: Target;
      readonly db: 'kv' | 'raft';
      readonly cf: CfName;
      readonly key: Uint8Array;
    }
  | {
      readonly kind: 'compact';
      readonly target: Target;
      readonly db: 'kv' | 'raft';
      readonly cf: CfName;
      readonly from: Uint8Array;
      readonly to: Uint8Array;
    }
  | { readonly kind: 'metrics'; readonly target: Target; readonly all: boolean }
  | {
      readonly kind: 'failpoint-inject';
      readonly target: Target;
      readonly points: readonly { readonly name: string; readonly actions: string }[];
    }
  | {
      readonly kind: 'failpoint-recover';
      readonly target: Target;
      readonly names: readonly string[];
    }
  | { readonly kind: 'failpoint-list'; readonly target: Target };

/** Usage text printed by `--help`. */
export const USAGE = `Usage: tikv-ctl [--host <addr> | --data-dir <dir> | --pd <addr>] <command> [flags]

Modes:
      --host <host:port>        a running tikv-server (its debug service, on the gRPC port)
  -s, --data-dir <dir>          a stopped tikv-server's data directory (refused while a server holds it)
      --pd <host:port>          PD (only for "cluster")

Conversions (no store needed):
      --to-hex <escaped>        print the escaped key as upper-case hex
      --to-escaped <hex>        print the hex key escaped
      --encode <key>            memcomparable-encode a key, print it escaped
      --decode <key>            memcomparable-decode an encoded key, print it escaped

Commands:
  store                                     store id and API version
  cluster                                   cluster id (from the store, or from PD with --pd)
  region -r <id>  |  raft region -r <id>    the region's local states (raft states only if persisted)
  regions  |  all-regions                   ids of the regions on the store
  size -r <id> [-c <cf,...>]                approximate size per CF (default: default,write,lock)
  mvcc -k <data key> [--show-cf <cfs>]      MVCC records of one key
  scan --from <key> [--to <key>] [--limit <n>] [--show-cf <cfs>]
                                            MVCC records of the keys in [from, to)
  raw-scan [--from <key>] [--to <key>] [--limit <n>] [-c <cf>]
                                            raw engine entries of a CF (local mode only, as in TiKV)
  print -k <key> [-c <cf>] [-d kv|raft]     one raw engine value
  compact [-d kv|raft] [-c <cf>] [--from <key>] [--to <key>]
                                            manual compaction of a CF range
  metrics [--all]                           Prometheus metrics of the server (remote only)
  failpoint inject <name>=<actions> ...  |  failpoint inject <name> <actions>
  failpoint recover <name> ...  |  failpoint list        ("fail" works too; remote only)

Keys: escaped as tikv-ctl prints them ("zt\\x80\\x00..."; \\xNN, \\NNN octal, \\n \\t \\\\ \\"),
or hex with a 0x prefix or with --hex. Data keys start with "z"; MVCC keys are "z" + the
memcomparable-encoded user key (see --encode). --show-cf takes a list of default,write,lock.

  -h, --help                    print this help and exit
Exit code 0 on success, 1 with a one-line error on stderr otherwise.
`;

const OPTIONS = {
  host: { type: 'string' },
  'data-dir': { type: 'string', short: 's' },
  pd: { type: 'string' },
  'to-hex': { type: 'string' },
  'to-escaped': { type: 'string' },
  encode: { type: 'string' },
  decode: { type: 'string' },
  hex: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  region: { type: 'string', short: 'r' },
  key: { type: 'string', short: 'k' },
  cf: { type: 'string', short: 'c' },
  db: { type: 'string', short: 'd' },
  from: { type: 'string', short: 'f' },
  to: { type: 'string', short: 't' },
  limit: { type: 'string', short: 'l' },
  'show-cf': { type: 'string' },
  all: { type: 'boolean' },
} as const;

type Values = ReturnType<
  typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>
>['values'];

function parseId(text: string | undefined, what: string): bigint {
  if (text === undefined) throw new UsageError(`${what} needs -r/--region <id>`);
  if (!/^\d+$/.test(text))
    throw new UsageError(`Invalid region id ${JSON.stringify(text)}: expected a positive integer`);
  const id = BigInt(text);
  if (id === 0n || id >= 1n << 64n)
    throw new UsageError(`Invalid region id ${text}: expected 1..2^64-1`);
  return id;
}

function parseCf(
  text: string | undefined,
  fallback: CfName,
  allowed: readonly CfName[] = ALL_CFS,
): CfName {
  const cf = text ?? fallback;
  if (!isCfName(cf) || !allowed.includes(cf))
    throw new UsageError(
      `Unknown column family ${JSON.stringify(cf)}: expected one of ${allowed.join(', ')}`,
    );
  return cf;
}

function parseCfs(text: string | undefined): CfName[] {
  if (text === undefined) return ['default', 'write', 'lock'];
  return text.split(',').map((c) => parseCf(c.trim(), 'default', DATA_CFS));
}

function parseShowCf(text: string | undefined): ShowCf[] {
  if (text === undefined) return ['default', 'write', 'lock'];
  return text.split(',').map((c) => {
    const cf = c.trim();
    if (cf !== 'default' && cf !== 'write' && cf !== 'lock')
      throw new UsageError(
        `Unknown --show-cf ${JSON.stringify(cf)}: expected default, write or lock`,
      );
    return cf;
  });
}

function parseLimit(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw new UsageError(
      `Invalid --limit ${JSON.stringify(text)}: expected a non-negative integer`,
    );
  return Number(text);
}

function parseDb(text: string | undefined): 'kv' | 'raft' {
  const db = (text ?? 'kv').toLowerCase();
  if (db !== 'kv' && db !== 'raft')
    throw new UsageError(`Unknown --db ${JSON.stringify(text)}: expected kv or raft`);
  return db;
}

function key(v: Values, name: 'key' | 'from' | 'to', required: boolean): Uint8Array {
  const text = v[name];
  if (text === undefined) {
    if (required) throw new UsageError(`Missing --${name} <key>`);
    return new Uint8Array(0);
  }
  return parseKey(text, v.hex === true);
}

function target(v: Values, command: string): Target {
  const host = v.host;
  const dataDir = v['data-dir'];
  if (host !== undefined && dataDir !== undefined)
    throw new UsageError('Give either --host or --data-dir, not both');
  if (host !== undefined) return { kind: 'remote', host };
  if (dataDir !== undefined) return { kind: 'local', dataDir };
  throw new UsageError(
    `${command} needs --host <addr> (a running tikv-server) or --data-dir <dir> (a stopped one)`,
  );
}

function failpoint(v: Values, args: readonly string[]): Command {
  const [op, ...rest] = args;
  const t = target(v, 'failpoint');
  switch (op) {
    case 'inject': {
      if (rest.length === 2 && !(rest[0] as string).includes('='))
        return {
          kind: 'failpoint-inject',
          target: t,
          points: [{ name: rest[0] as string, actions: rest[1] as string }],
        };
      if (rest.length === 0) throw new UsageError('failpoint inject needs <name>=<actions>');
      const points = rest.map((p) => {
        const eq = p.indexOf('=');
        if (eq <= 0 || eq === p.length - 1)
          throw new UsageError(`Invalid failpoint ${JSON.stringify(p)}: expected <name>=<actions>`);
        return { name: p.slice(0, eq), actions: p.slice(eq + 1) };
      });
      return { kind: 'failpoint-inject', target: t, points };
    }
    case 'recover':
      if (rest.length === 0) throw new UsageError('failpoint recover needs failpoint names');
      return { kind: 'failpoint-recover', target: t, names: rest };
    case 'list':
      return { kind: 'failpoint-list', target: t };
    case undefined:
      throw new UsageError('failpoint needs a subcommand: inject, recover or list');
    default:
      throw new UsageError(
        `Unknown failpoint subcommand ${JSON.stringify(op ?? '')}: expected inject, recover or list`,
      );
  }
}

/**
 * Parses tikv-ctl's command line (flags before or after the subcommand, `--flag value` or
 * `--flag=value`).
 * @throws UsageError for unknown flags, subcommands, missing or malformed values
 * @throws KeyFormatError for a malformed key
 */
export function parseCommandLine(argv: readonly string[]): Command {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e: unknown) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const { values: v, positionals } = parsed;
  if (v.help === true) return { kind: 'help' };
  const conversions = (['to-hex', 'to-escaped', 'encode', 'decode'] as const).filter(
    (k) => v[k] !== undefined,
  );
  if (conversions.length > 1) throw new UsageError(`Give one of --${conversions.join(', --')}`);
  const conv = conversions[0];
  if (conv !== undefined) {
    const text = v[conv] as string;
    if (conv === 'to-escaped')
      return {
        kind: 'to-escaped',
        bytes: parseKey(text.startsWith('0x') ? text : `0x${text}`, true),
      };
    return { kind: conv, bytes: parseKey(text, v.hex === true) };
  }
  const [cmd, ...args] = positionals;
  if (cmd === undefined) throw new UsageError('Missing command (try --help)');
  const noArgs = (): void => {
    if (args.length > 0)
      throw new UsageError(`Unexpected argument ${JSON.stringify(args[0])} to ${cmd}`);
  };
  switch (cmd) {
    case 'store':
      noArgs();
      return { kind: 'store', target: target(v, cmd) };
    case 'cluster':
      noArgs();
      if (v.pd !== undefined && v.host === undefined && v['data-dir'] === undefined)
        return { kind: 'pd-cluster', pd: v.pd };
      return { kind: 'cluster', target: target(v, cmd) };
    case 'raft':
      if (args[0] !== 'region' || args.length > 1)
        throw new UsageError('Expected "raft region -r <id>"');
      return {
        kind: 'region',
        target: target(v, 'raft region'),
        regionId: parseId(v.region, 'raft region'),
      };
    case 'region':
      noArgs();
      return { kind: 'region', target: target(v, cmd), regionId: parseId(v.region, cmd) };
    case 'regions':
    case 'all-regions':
      noArgs();
      return { kind: 'regions', target: target(v, cmd) };
    case 'size':
      noArgs();
      return {
        kind: 'size',
        target: target(v, cmd),
        regionId: parseId(v.region, cmd),
        cfs: parseCfs(v.cf),
      };
    case 'mvcc':
      noArgs();
      return {
        kind: 'mvcc',
        target: target(v, cmd),
        key: key(v, 'key', true),
        showCf: parseShowCf(v['show-cf']),
      };
    case 'scan': {
      noArgs();
      const to = key(v, 'to', false);
      const limit = parseLimit(v.limit, 0);
      if (to.length === 0 && limit === 0)
        throw new UsageError('scan needs --to <key> or --limit <n>');
      return {
        kind: 'scan',
        target: target(v, cmd),
        from: key(v, 'from', true),
        to,
        limit: BigInt(limit),
        showCf: parseShowCf(v['show-cf']),
      };
    }
    case 'raw-scan':
      noArgs();
      return {
        kind: 'raw-scan',
        target: target(v, cmd),
        from: key(v, 'from', false),
        to: key(v, 'to', false),
        limit: parseLimit(v.limit, 30),
        cf: parseCf(v.cf, 'default'),
      };
    case 'print': {
      noArgs();
      const db = parseDb(v.db);
      return {
        kind: 'print',
        target: target(v, cmd),
        db,
        cf: db === 'raft' ? 'raft' : parseCf(v.cf, 'default'),
        key: key(v, 'key', true),
      };
    }
    case 'compact': {
      noArgs();
      const db = parseDb(v.db);
      return {
        kind: 'compact',
        target: target(v, cmd),
        db,
        cf: db === 'raft' ? 'raft' : parseCf(v.cf, 'default'),
        from: key(v, 'from', false),
        to: key(v, 'to', false),
      };
    }
    case 'metrics':
      noArgs();
      return { kind: 'metrics', target: target(v, cmd), all: v.all === true };
    case 'fail':
    case 'failpoint':
      return failpoint(v, args);
    default:
      throw new UsageError(`Unknown command ${JSON.stringify(cmd)} (try --help)`);
  }
}
