// Logger, metrics, config, errors, failpoints, clock, timers, randomness and file I/O capabilities.
export * from './errors';
export type * from './clock';
export type * from './rng';
export type * from './fs';
export { SeededRng, deriveSeed } from './seeded-rng';
