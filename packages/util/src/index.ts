// Logger, metrics, config, errors, failpoints, clock, timers, randomness and file I/O capabilities.
export * from './errors';
export type * from './clock';
export type * from './rng';
export type * from './fs';
export { SeededRng, deriveSeed } from './seeded-rng';
export {
  createLogger,
  createNoopLogger,
  parseLogLevel,
  formatLogTime,
  formatTextLine,
  formatJsonLine,
  renderValue,
  LOG_LEVELS,
  type Logger,
  type RootLogger,
  type LoggerOptions,
  type LogLevel,
  type LogFields,
  type LogBindings,
  type LogRecord,
  type LogSink,
} from './logger';
export {
  MetricsRegistry,
  MetricNameError,
  checkMetricName,
  exponentialBuckets,
  METRIC_NAME_PATTERN,
  DEFAULT_SECONDS_BUCKETS,
  DEFAULT_COUNT_BUCKETS,
  type MetricsRegistryOptions,
  type MetricKind,
} from './metrics';
export type { Counter, Gauge, Histogram } from 'prom-client';
export { parseDuration, formatDuration, parseSize, formatSize } from './readable';
export {
  cfg,
  defineConfig,
  loadConfig,
  loadConfigFile,
  configDefaults,
  describeConfig,
  toKebabCase,
  type ConfigSchema,
  type ConfigSection,
  type ConfigFields,
  type ConfigField,
  type ConfigOf,
  type ConfigValue,
  type LoadConfigOptions,
  type StringField,
  type IntField,
  type FloatField,
  type BoolField,
  type DurationField,
  type SizeField,
  type EnumField,
  type BigintField,
  type StringArrayField,
} from './config';
export { Failpoints, FailpointPanic, parseFailpointActions, type FailpointTask, type FailpointsOptions } from './failpoints';
export { Buggify, type BuggifyOptions } from './buggify';
export type { Runtime } from './runtime';
export { logConfigFields, loggerOptionsFromConfig, type LogConfig } from './log-config';
