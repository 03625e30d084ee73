#!/usr/bin/env node
// The pd-server process: parses PD's flags and TOML config, opens the data directory, and runs
// the Placement Driver of @tikv-ts/pd on the client URLs until SIGTERM or SIGINT.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { RocksEngine } from '@tikv-ts/engine-rocks';
import { applyPdToml, defaultPdConfig, PdServer, type PdConfig } from '@tikv-ts/pd';
import { parseLogLevel } from '@tikv-ts/util';
import { createNodeRuntime } from '@tikv-ts/util/node';
import { parseFlags, USAGE, type PdFlags } from './flags';
import { closeServers, listenClientUrls } from './listen';

// For in-process clusters and tests: the listener that serves a PdServer on its client URLs.
export { listenClientUrls, closeServers, hostPortOf } from './listen';
export { parseFlags, USAGE, type PdFlags } from './flags';

/** Version reported by `--version`. */
export const PD_SERVER_VERSION = '8.5.0-tikv-ts';

const splitUrls = (s: string): string[] =>
  s
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');

/** The effective configuration: PD's defaults, then the TOML file, then the flags. */
export function resolveConfig(flags: PdFlags, readFile: (path: string) => string): PdConfig {
  let config = defaultPdConfig();
  if (flags.config !== undefined) {
    const doc = parseToml(readFile(flags.config)) as Record<string, unknown>;
    config = applyPdToml(config, doc);
  }
  const c: { -readonly [K in keyof PdConfig]: PdConfig[K] } = { ...config };
  if (flags.name !== undefined) c.name = flags.name;
  if (flags.dataDir !== undefined) c.dataDir = flags.dataDir;
  else if (flags.config === undefined || config.dataDir === defaultPdConfig().dataDir)
    c.dataDir = `default.${c.name}`;
  if (flags.clientUrls !== undefined) c.clientUrls = splitUrls(flags.clientUrls);
  if (flags.advertiseClientUrls !== undefined)
    c.advertiseClientUrls = splitUrls(flags.advertiseClientUrls);
  if (flags.peerUrls !== undefined) c.peerUrls = splitUrls(flags.peerUrls);
  if (flags.advertisePeerUrls !== undefined)
    c.advertisePeerUrls = splitUrls(flags.advertisePeerUrls);
  if (flags.logFile !== undefined) c.logFile = flags.logFile;
  if (flags.logLevel !== undefined) c.logLevel = flags.logLevel;
  return c;
}

async function main(argv: readonly string[]): Promise<number> {
  let flags: PdFlags;
  try {
    flags = parseFlags(argv);
  } catch (e: unknown) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n\n${USAGE}`);
    return 2;
  }
  if (flags.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (flags.version) {
    process.stdout.write(`Release Version: ${PD_SERVER_VERSION}\n`);
    return 0;
  }
  let config: PdConfig;
  try {
    config = resolveConfig(flags, (p) => readFileSync(p, 'utf8'));
    parseLogLevel(config.logLevel);
  } catch (e: unknown) {
    process.stderr.write(`Invalid configuration: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }

  const runtime = createNodeRuntime({
    log: {
      level: parseLogLevel(config.logLevel),
      component: 'pd',
      ...(config.logFile !== '' ? { file: { path: config.logFile } } : {}),
    },
  });
  const logger = runtime.logger;
  logger.info('Welcome to Placement Driver (PD)', {
    version: PD_SERVER_VERSION,
    name: config.name,
    'data-dir': config.dataDir,
  });

  mkdirSync(config.dataDir, { recursive: true });
  const engine = await RocksEngine.open({ path: join(config.dataDir, 'kv') });
  let pd: PdServer;
  try {
    // The dashboard's page lives in the app's static/ folder, next to dist/ (and to src/ under ts-jest).
    pd = await PdServer.start({
      engine,
      clock: runtime.clock,
      rng: runtime.rng,
      config,
      logger,
      dashboard: { root: join(__dirname, '..', 'static') },
    });
  } catch (e: unknown) {
    logger.error('PD failed to start', { error: e instanceof Error ? e.message : String(e) });
    await engine.close();
    await logger.close();
    return 1;
  }
  let servers: Awaited<ReturnType<typeof listenClientUrls>>;
  try {
    servers = await listenClientUrls(pd, config.clientUrls);
  } catch (e: unknown) {
    logger.error('cannot listen on the client URLs', {
      urls: config.clientUrls.join(','),
      error: e instanceof Error ? e.message : String(e),
    });
    await pd.close();
    await engine.close();
    await logger.close();
    return 1;
  }
  logger.info('PD is serving', {
    'client-urls': config.clientUrls.join(','),
    'cluster-id': pd.clusterId.toString(),
  });

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        // A second signal while shutting down: leave at once (every acknowledged write is durable).
        process.stderr.write(`Got ${signal} again during shutdown, exiting now\n`);
        process.exit(1);
      }
      stopping = true;
      logger.info('got signal to exit', { signal });
      const shutdown = async (): Promise<void> => {
        // Stop accepting first; the listeners' close completes once PD has closed its connections.
        const closing = closeServers(servers);
        await pd.close();
        await closing;
        await engine.close();
        logger.info('PD is stopped');
        await logger.close();
      };
      shutdown().then(
        () => resolve(0),
        (e: unknown) => {
          process.stderr.write(`Shutdown failed: ${String(e)}\n`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

/** Runs the command line of `process.argv` and exits with its code (the bin's entry point). */
export function run(): void {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(
        `pd-server: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
      );
      process.exit(1);
    },
  );
}

if (require.main === module) run();
