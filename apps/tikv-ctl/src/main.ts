#!/usr/bin/env node
// tikv-ctl: the admin CLI of a store, against a running tikv-server (--host: its debugpb.Debug
// service) or a stopped data directory (--data-dir). Composition only: parsing in args.ts,
// backends in backend.ts, commands in run.ts.
import { CtlError, LocalBackend, RemoteBackend, pdClusterId, type DebugBackend } from './backend';
import { USAGE, UsageError, parseCommandLine, type Command, type Target } from './args';
import { pretty } from './format';
import { runOffline, runOnStore, type Write } from './run';

export {
  parseCommandLine,
  USAGE,
  UsageError,
  type Command,
  type Target,
  type ShowCf,
} from './args';
export { escape, unescape, parseKey, parseHex, toUpperHex, KeyFormatError } from './escape';
export {
  CtlError,
  LocalBackend,
  RemoteBackend,
  lockDataDir,
  pdClusterId,
  type DebugBackend,
} from './backend';
export { runOffline, runOnStore, type Write } from './run';
export { toJson, formatMvcc, formatRegionInfo, formatSize, rawKeyOf, type Json } from './format';

/** Output sinks of {@link main}. */
export interface CtlIo {
  readonly stdout: Write;
  readonly stderr: Write;
}

function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/\s*\n\s*/g, ' ');
}

async function openBackend(t: Target): Promise<DebugBackend> {
  return t.kind === 'remote' ? new RemoteBackend(t.host) : LocalBackend.open(t.dataDir);
}

/**
 * Runs tikv-ctl with `argv` (without node and the script). Resolves to the exit code: 0 on
 * success, 1 after writing a one-line error to `stderr`.
 */
export async function main(argv: readonly string[], io: CtlIo): Promise<number> {
  let cmd: Command;
  try {
    cmd = parseCommandLine(argv);
  } catch (e: unknown) {
    io.stderr(`tikv-ctl: ${oneLine(e)}\n`);
    return 1;
  }
  if (cmd.kind === 'help') {
    io.stdout(USAGE);
    return 0;
  }
  try {
    if (runOffline(cmd, io.stdout)) return 0;
    if (cmd.kind === 'pd-cluster') {
      io.stdout(pretty({ cluster_id: (await pdClusterId(cmd.pd)).toString() }));
      return 0;
    }
    if (!('target' in cmd)) throw new CtlError(`Command ${cmd.kind} does not address a store`);
    const backend = await openBackend(cmd.target);
    try {
      await runOnStore(cmd, backend, io.stdout);
    } finally {
      await backend.close();
    }
    return 0;
  } catch (e: unknown) {
    const prefix =
      e instanceof CtlError || e instanceof UsageError
        ? ''
        : e instanceof Error && 'code' in e
          ? `${String((e as { code: unknown }).code)}: `
          : '';
    io.stderr(`tikv-ctl: ${prefix}${oneLine(e)}\n`);
    return 1;
  }
}

/** Runs the command line of `process.argv` and exits with its code (the bin's entry point). */
export function run(): void {
  main(process.argv.slice(2), {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
  }).then(
    // Exit once stdout is flushed: nothing of ours is left running, and a lingering gRPC
    // channel must not keep the process alive.
    (code) => process.stdout.write('', () => process.exit(code)),
    (e: unknown) => {
      process.stderr.write(`tikv-ctl: ${oneLine(e)}\n`);
      process.exit(1);
    },
  );
}

if (require.main === module) run();
