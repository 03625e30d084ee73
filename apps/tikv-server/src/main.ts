#!/usr/bin/env node
// The tikv-server process: parses TiKV's flags and TOML config, opens the data directory, connects
// to PD and runs a TikvServer until SIGTERM or SIGINT. Composition only; behaviour lives in
// @tikv-ts/server.
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RocksEngine, rocksOptionsFromTikvConfig } from '@tikv-ts/engine-rocks';
import { EngineIoError } from '@tikv-ts/engine-traits';
import { PdUnavailableError, RpcPdClient } from '@tikv-ts/pd-client';
import {
  TikvServer,
  checkServerAddresses,
  tikvConfigSchema,
  type TikvConfig,
} from '@tikv-ts/server';
import { ConfigError, loadConfig, loggerOptionsFromConfig } from '@tikv-ts/util';
import { createNodeRuntime } from '@tikv-ts/util/node';
import { DataDirLockedError, lockDataDir } from './data-dir-lock';
import { USAGE, flagOverrides, parseFlags, type TikvFlags } from './flags';

/** Version reported by `--version`, to PD and on `/status`. */
export const TIKV_SERVER_VERSION = '8.5.0-tikv-ts';

/** The effective configuration: TiKV's defaults, then the TOML file, then the flags. */
export function resolveConfig(flags: TikvFlags, readFile: (path: string) => string): TikvConfig {
  const toml = flags.config === undefined ? undefined : readFile(flags.config);
  return loadConfig(tikvConfigSchema, {
    ...(toml === undefined ? {} : { toml }),
    overrides: flagOverrides(flags),
  });
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function main(argv: readonly string[]): Promise<number> {
  let flags: TikvFlags;
  try {
    flags = parseFlags(argv);
  } catch (e: unknown) {
    process.stderr.write(`${message(e)}\n\n${USAGE}`);
    return 2;
  }
  if (flags.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (flags.version) {
    process.stdout.write(`TiKV\nRelease Version:   ${TIKV_SERVER_VERSION}\n`);
    return 0;
  }
  let config: TikvConfig;
  try {
    config = resolveConfig(flags, (p) => readFileSync(p, 'utf8'));
    checkServerAddresses(config);
  } catch (e: unknown) {
    const what =
      e instanceof ConfigError || e instanceof TypeError
        ? e.message
        : `Cannot read config file ${flags.config ?? ''}: ${message(e)}`;
    process.stderr.write(`Invalid configuration: ${what}\n`);
    return 2;
  }

  const logOptions = loggerOptionsFromConfig(config.log);
  const runtime = createNodeRuntime({
    log: {
      component: 'tikv',
      ...(logOptions.level === undefined ? {} : { level: logOptions.level }),
      ...(logOptions.format === undefined ? {} : { format: logOptions.format }),
      ...(logOptions.file === undefined ? {} : { file: logOptions.file }),
    },
  });
  const logger = runtime.logger;
  const dataDir = resolve(config.storage.dataDir);
  logger.info('Welcome to TiKV', {
    version: TIKV_SERVER_VERSION,
    'data-dir': dataDir,
    pd: config.pd.endpoints.join(','),
    pid: process.pid,
  });

  // Signals during start-up abort it; afterwards they stop the server gracefully.
  const startup = new AbortController();
  let onSignal: (signal: string) => void = (signal) => {
    logger.info('got signal during start-up, exiting', { signal });
    startup.abort(new Error(`Interrupted by ${signal}`));
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));

  const fail = async (text: string, cleanup: () => Promise<void>): Promise<number> => {
    logger.error(text);
    process.stderr.write(`tikv-server: ${text}\n`);
    await cleanup();
    await logger.close();
    return 1;
  };

  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (e: unknown) {
    return fail(`Cannot create data directory ${dataDir}: ${message(e)}`, async () => undefined);
  }
  let release: () => void;
  try {
    release = lockDataDir(dataDir);
  } catch (e: unknown) {
    return fail(
      e instanceof DataDirLockedError
        ? e.message
        : `Cannot lock data directory ${dataDir}: ${message(e)}`,
      async () => undefined,
    );
  }
  let engine: RocksEngine;
  try {
    engine = await RocksEngine.open(
      rocksOptionsFromTikvConfig(join(dataDir, 'db'), {
        'max-background-jobs': config.rocksdb.maxBackgroundJobs,
        'max-open-files': config.rocksdb.maxOpenFiles,
      }),
    );
  } catch (e: unknown) {
    const locked = e instanceof EngineIoError && /lock/i.test(e.message);
    return fail(
      locked
        ? `Data directory ${dataDir} is locked by another process (RocksDB lock): ${message(e)}`
        : `Cannot open the KV engine in ${dataDir}: ${message(e)}`,
      async () => release(),
    );
  }

  // PD: retry until it answers (TiKV waits for PD too), logging every failed round.
  const urls = config.pd.endpoints.map((u) => (u.includes('://') ? u : `http://${u}`));
  let pd: RpcPdClient | undefined;
  while (pd === undefined) {
    try {
      pd = await RpcPdClient.connect(urls, {
        clock: runtime.clock,
        logger,
        signal: startup.signal,
        maxRetries: 3,
      });
    } catch (e: unknown) {
      if (startup.signal.aborted) {
        return fail('Start-up interrupted while connecting to PD', async () => {
          await engine.close();
          release();
        });
      }
      if (!(e instanceof PdUnavailableError)) {
        return fail(`Cannot connect to PD at ${urls.join(',')}: ${message(e)}`, async () => {
          await engine.close();
          release();
        });
      }
      logger.warn('PD is unreachable, retrying', { pd: urls.join(','), error: message(e) });
      process.stderr.write(
        `tikv-server: PD is unreachable at ${urls.join(',')} (${message(e)}), retrying\n`,
      );
      try {
        await runtime.clock.sleep(1000, { signal: startup.signal });
      } catch {
        // Aborted: handled at the top of the loop.
      }
    }
  }
  const pdClient = pd;

  let server: TikvServer;
  try {
    server = await TikvServer.start({
      config,
      runtime,
      kv: engine,
      pd: pdClient,
      version: TIKV_SERVER_VERSION,
    });
  } catch (e: unknown) {
    return fail(`Failed to start: ${message(e)}`, async () => {
      await pdClient.close();
      await engine.close();
      release();
    });
  }

  return new Promise<number>((done) => {
    let stopping = false;
    onSignal = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      logger.info('got signal to exit', { signal });
      const shutdown = async (): Promise<void> => {
        await server.stop();
        await pdClient.close();
        await engine.close();
        release();
        logger.info('TiKV has exited');
        await logger.close();
      };
      shutdown().then(
        () => done(0),
        (e: unknown) => {
          process.stderr.write(`tikv-server: shutdown failed: ${message(e)}\n`);
          done(1);
        },
      );
    };
  });
}

/** Runs the command line of `process.argv` and exits with its code (the bin's entry point). */
export function run(): void {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(
        `tikv-server: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
      );
      process.exit(1);
    },
  );
}

if (require.main === module) run();
