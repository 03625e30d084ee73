import { randomBytes } from 'node:crypto';
import { Buggify } from '../buggify';
import { Failpoints } from '../failpoints';
import { createLogger, type LogLevel, type RootLogger } from '../logger';
import { MetricsRegistry } from '../metrics';
import type { Runtime } from '../runtime';
import { SeededRng } from '../seeded-rng';
import { NodeFileSystem } from './node-file-system';
import { SystemClock } from './system-clock';

/** The real runtime of a process; `logger.close()` flushes the log file at shutdown. */
export interface NodeRuntime extends Runtime {
  readonly clock: SystemClock;
  readonly rng: SeededRng;
  readonly fs: NodeFileSystem;
  readonly logger: RootLogger;
}

/** Options of {@link createNodeRuntime}. */
export interface NodeRuntimeOptions {
  /** Seed of the runtime's Rng. Default: 64 bits from the OS (logged at startup by the app). */
  seed?: bigint;
  /** Log settings (TiKV's `[log]` section and `--log-level`/`--log-file`). */
  log?: {
    level?: LogLevel;
    format?: 'text' | 'json';
    /** Log file; stderr when not set. */
    file?: { path: string; maxSizeBytes?: number; maxFiles?: number };
    component?: string;
    utcOffsetMinutes?: number;
  };
  /** Failpoints in TiKV's `FAILPOINTS` format (`"a=return(1);b=pause"`), e.g. from the environment. */
  failpoints?: string;
  /** Labels added to every metric (e.g. `{ instance: 'store-1' }`). */
  metricLabels?: Readonly<Record<string, string>>;
}

/**
 * Builds the production runtime: SystemClock, NodeFileSystem, SeededRng, a winston logger (stderr
 * or a rotating file), a fresh MetricsRegistry, Failpoints (empty unless configured) and a
 * disabled Buggify. Only apps and server bootstrap call this (STYLE.md §2).
 */
export function createNodeRuntime(options: NodeRuntimeOptions = {}): NodeRuntime {
  const clock = new SystemClock();
  const fs = new NodeFileSystem();
  const seed = options.seed ?? randomBytes(8).readBigUInt64BE(0);
  const rng = new SeededRng(seed);
  const log = options.log ?? {};
  const logger = createLogger({
    clock,
    fs,
    ...(log.level === undefined ? {} : { level: log.level }),
    ...(log.format === undefined ? {} : { format: log.format }),
    ...(log.file === undefined ? {} : { file: log.file }),
    ...(log.component === undefined ? {} : { component: log.component }),
    ...(log.utcOffsetMinutes === undefined ? {} : { utcOffsetMinutes: log.utcOffsetMinutes }),
    onFileError: (e: unknown) => process.stderr.write(`Cannot write the log file: ${String(e)}\n`),
  });
  const failpoints = new Failpoints({ clock, rng: rng.fork('failpoints') });
  if (options.failpoints !== undefined) failpoints.configure(options.failpoints);
  return {
    clock,
    rng,
    fs,
    logger,
    metrics: new MetricsRegistry(options.metricLabels === undefined ? {} : { defaultLabels: options.metricLabels }),
    failpoints,
    buggify: new Buggify(rng.fork('buggify'), { enabled: false, countProbes: false }),
  };
}
