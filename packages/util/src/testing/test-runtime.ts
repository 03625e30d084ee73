import { Buggify } from '../buggify';
import { Failpoints } from '../failpoints';
import { createLogger, type LogLevel, type RootLogger } from '../logger';
import { MetricsRegistry } from '../metrics';
import type { Runtime } from '../runtime';
import { SeededRng } from '../seeded-rng';
import { ManualClock } from './manual-clock';
import { MemoryLogSink } from './memory-log-sink';
import { SimFs } from './sim-fs';

/** A {@link Runtime} with its deterministic implementations exposed for driving and inspection. */
export interface TestRuntime extends Runtime {
  readonly clock: ManualClock;
  readonly rng: SeededRng;
  readonly fs: SimFs;
  readonly logger: RootLogger;
  /** Every log line written through `logger` (virtual timestamps). */
  readonly logSink: MemoryLogSink;
}

/** Options of {@link createTestRuntime}. */
export interface TestRuntimeOptions {
  /** Enables buggify sites. Default false. */
  buggify?: boolean;
  /** Log level. Default `'debug'` (the sink keeps everything). */
  logLevel?: LogLevel;
  /** Also print log lines to stderr (for debugging a failing seed). Default false. */
  logToStderr?: boolean;
  /** Component of the root logger. Default `<unknown>`. */
  component?: string;
  /** Initial wall time of a new clock (ignored when `clock` is given). */
  startWallMs?: number;
  /** Share virtual time with other runtimes (the nodes of one simulation). */
  clock?: ManualClock;
  /** Reuse a disk, e.g. to restart a node after `fs.crash()`. */
  fs?: SimFs;
  /** Share one sink among nodes so their lines interleave in time order. */
  logSink?: MemoryLogSink;
}

/**
 * A fully deterministic runtime for tests and simulations: ManualClock (virtual time),
 * SeededRng(seed), SimFs (its own rng stream for probabilistic faults), a logger writing to a
 * MemoryLogSink with virtual timestamps, a fresh MetricsRegistry, empty Failpoints, and Buggify
 * (disabled unless asked). Every random decision derives from `seed`, forked by purpose
 * (`"fs"`, `"failpoints"`, `"buggify"`), so the same seed replays the same run. For a
 * multi-node simulation, create one runtime per node with seeds forked from the simulation seed
 * and pass the shared `clock` (and `logSink`); to restart a node, pass its old `fs`.
 */
export function createTestRuntime(seed: bigint | number, options: TestRuntimeOptions = {}): TestRuntime {
  const rng = new SeededRng(seed);
  const clock = options.clock ?? new ManualClock(options.startWallMs === undefined ? {} : { startWallMs: options.startWallMs });
  const logSink = options.logSink ?? new MemoryLogSink();
  const logger = createLogger({
    clock,
    sink: logSink,
    level: options.logLevel ?? 'debug',
    stderr: options.logToStderr ?? false,
    ...(options.component === undefined ? {} : { component: options.component }),
  });
  return {
    clock,
    rng,
    fs: options.fs ?? new SimFs({ rng: rng.fork('fs') }),
    logger,
    logSink,
    metrics: new MetricsRegistry(),
    failpoints: new Failpoints({ clock, rng: rng.fork('failpoints') }),
    buggify: new Buggify(rng.fork('buggify'), { enabled: options.buggify ?? false }),
  };
}
