import { cfg, type ConfigOf } from './config';
import { parseLogLevel, type LoggerOptions } from './logger';

const MIB = 1024 * 1024;

/** The fields of TiKV's `[log]` section, for embedding in an app's schema with `cfg.section`. */
export function logConfigFields() {
  return {
    level: cfg.string({
      default: 'info',
      doc: 'Minimum level: trace, debug, info, warn, error, critical',
      validate: (v: string) => {
        try {
          parseLogLevel(v);
          return undefined;
        } catch {
          return `must be one of trace, debug, info, warn, error, critical, got ${JSON.stringify(v)}`;
        }
      },
    }),
    format: cfg.enumOf(['text', 'json'], { default: 'text', doc: 'Line format' }),
    file: cfg.section({
      filename: cfg.string({ default: '', doc: 'Log file; empty for stderr' }),
      maxSize: cfg.int({ default: 300, min: 1, doc: 'Rotate after this many MiB' }),
      maxBackups: cfg.int({ default: 0, min: 0, doc: 'Rotated files kept; 0 keeps all' }),
    }),
  };
}

/** The loaded `[log]` section. */
export type LogConfig = ConfigOf<ReturnType<typeof logConfigFields>>;

/**
 * Turns a loaded `[log]` section into {@link createLogger} options (without `clock` and `fs`,
 * which the app supplies). `log.file.max-days` of TiKV is not supported.
 */
export function loggerOptionsFromConfig(log: LogConfig): Pick<LoggerOptions, 'level' | 'format'> & { file?: NonNullable<LoggerOptions['file']> } {
  const out: Pick<LoggerOptions, 'level' | 'format'> & { file?: NonNullable<LoggerOptions['file']> } = {
    level: parseLogLevel(log.level),
    format: log.format,
  };
  if (log.file.filename !== '') {
    out.file = {
      path: log.file.filename,
      maxSizeBytes: log.file.maxSize * MIB,
      maxFiles: log.file.maxBackups === 0 ? Number.POSITIVE_INFINITY : log.file.maxBackups + 1,
    };
  }
  return out;
}
