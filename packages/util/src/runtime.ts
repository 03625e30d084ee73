import type { Buggify } from './buggify';
import type { Clock } from './clock';
import type { Failpoints } from './failpoints';
import type { FileSystem } from './fs';
import type { Logger } from './logger';
import type { MetricsRegistry } from './metrics';
import type { Rng } from './rng';

/**
 * The capabilities of one node (STYLE.md §2), passed down through constructors: nothing in
 * layers 0-4 reaches for ambient time, randomness, files, logs, metrics or fault injection.
 * Made by `createNodeRuntime` (`@tikv-ts/util/node`) in apps and by `createTestRuntime`
 * (`@tikv-ts/util/testing`) in tests.
 */
export interface Runtime {
  readonly clock: Clock;
  readonly rng: Rng;
  readonly fs: FileSystem;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  readonly failpoints: Failpoints;
  readonly buggify: Buggify;
}
