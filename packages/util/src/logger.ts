import winston from 'winston';
import type { Clock } from './clock';
import type { FileSystem } from './fs';
import { LogFileTransport } from './log-file-transport';

/** Log levels, most severe first. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** The levels in severity order (index 0 is the most severe). */
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

const SEVERITY: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/**
 * Structured fields of a log line. Values are rendered as: bigint in decimal, Uint8Array in
 * upper-case hex (TiKV's unified key format), Error as `Name: message` (plus its `code` when it
 * has one), other objects as JSON; `undefined` values are left out.
 */
export type LogFields = Readonly<Record<string, unknown>>;

/** Bindings of a child logger: its component name and fields added to every line. */
export type LogBindings = LogFields & { readonly component?: string };

/** One log event, as given to a {@link LogSink}. */
export interface LogRecord {
  /** Wall-clock ms from the logger's Clock. */
  readonly timeMs: number;
  readonly level: LogLevel;
  /** The component (TiKV's source section), `<unknown>` when none was set. */
  readonly component: string;
  readonly message: string;
  /** Bound fields of the logger and its parents followed by the call's fields. */
  readonly fields: LogFields;
}

/** Receives every record that passes the level filter, with its formatted line (no newline). */
export interface LogSink {
  write(record: LogRecord, line: string): void;
}

/**
 * A structured logger. Calls below the logger's level cost one comparison. Loggers never throw
 * from a log call and never block on I/O (output is buffered by winston's streams).
 */
export interface Logger {
  /** The minimum level written. */
  readonly level: LogLevel;
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  /** True when a call at `level` would be written (to skip building expensive fields). */
  isEnabled(level: LogLevel): boolean;
  /**
   * A logger writing to the same outputs with `component` replaced (when given) and the other
   * bindings added to every line. Children share the level of the root logger.
   */
  child(bindings: LogBindings): Logger;
}

/** A logger made by {@link createLogger}, which owns its outputs. */
export interface RootLogger extends Logger {
  /** Changes the level of this logger and all its children. */
  setLevel(level: LogLevel): void;
  /** Resolves when every line logged so far has reached the log file (a no-op without one). */
  flush(): Promise<void>;
  /** Flushes and closes the outputs (files); later log calls are dropped. */
  close(): Promise<void>;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Source of timestamps (virtual time in simulations). */
  clock: Clock;
  /** Minimum level. Default `'info'` (TiKV's default). */
  level?: LogLevel;
  /** Line format: TiKV's unified text format (default) or one JSON object per line. */
  format?: 'text' | 'json';
  /**
   * Append to a file through `fs`, rotated before it would exceed `maxSizeBytes` into
   * `<path>.1` … (keeping `maxFiles` files, the current one included; default 10). When neither
   * `file` nor `sink` is given, lines go to stderr.
   */
  file?: { path: string; maxSizeBytes?: number; maxFiles?: number };
  /** The file system for `file` (required with it). */
  fs?: FileSystem;
  /** Called when writing the log file fails (the lines are dropped). Default: ignore. */
  onFileError?: (error: unknown) => void;
  /** Also (or only) write to stderr. Default: true when neither `file` nor `sink` is given. */
  stderr?: boolean;
  /** Component of the root logger. Default `<unknown>`. */
  component?: string;
  /** Receives each record synchronously (tests, the status server's log tail). */
  sink?: LogSink;
  /** Time zone of text timestamps as minutes east of UTC. Default 0 (UTC, so logs are reproducible). */
  utcOffsetMinutes?: number;
}

/**
 * Parses a level name as TiKV's config accepts it (case-insensitive; `warning` → warn,
 * `fatal`/`critical` → error, `trace` → debug).
 * @throws RangeError for an unknown name
 */
export function parseLogLevel(name: string): LogLevel {
  const n = name.trim().toLowerCase();
  switch (n) {
    case 'error':
    case 'fatal':
    case 'critical':
      return 'error';
    case 'warn':
    case 'warning':
      return 'warn';
    case 'info':
      return 'info';
    case 'debug':
    case 'trace':
      return 'debug';
    default:
      throw new RangeError(`Unknown log level "${name}"`);
  }
}

const MESSAGE = Symbol.for('message');

interface Shared {
  severity: number;
  level: LogLevel;
  closed: boolean;
  readonly clock: Clock;
  readonly json: boolean;
  readonly offsetMin: number;
  readonly sink: LogSink | undefined;
  readonly winston: winston.Logger | undefined;
}

/**
 * Creates a root logger. Output goes through winston (console and rotating file transports);
 * the line is formatted here so that text and JSON match TiKV's formats exactly:
 *
 * - text: `[2026/11/28 01:02:03.456 +00:00] [INFO] [raftstore] ["peer created"] [region_id=1]`;
 *   the message, keys and values are JSON-quoted when they are empty or contain a space, a
 *   control character, `"`, `=`, `[` or `]` (TiKV RFC "Unified Log Format").
 * - json: `{"time":"…","level":"INFO","component":"raftstore","message":"peer created","region_id":"1"}`
 *   (bigints as decimal strings; a field named like a header key gets a `_` prefix).
 */
export function createLogger(options: LoggerOptions): RootLogger {
  const level = options.level ?? 'info';
  const transports: winston.transport[] = [];
  const useStderr = options.stderr ?? (options.file === undefined && options.sink === undefined);
  if (useStderr) {
    transports.push(new winston.transports.Console({ stderrLevels: [...LOG_LEVELS] }));
  }
  let fileTransport: LogFileTransport | undefined;
  if (options.file !== undefined) {
    if (options.fs === undefined) throw new TypeError('createLogger: the file option needs an fs');
    // winston's own File transport loses lines when it rotates under a burst (3.19), so files go
    // through this transport, which writes via the injected FileSystem.
    fileTransport = new LogFileTransport({
      fs: options.fs,
      path: options.file.path,
      ...(options.file.maxSizeBytes === undefined ? {} : { maxSizeBytes: options.file.maxSizeBytes }),
      ...(options.file.maxFiles === undefined ? {} : { maxFiles: options.file.maxFiles }),
      ...(options.onFileError === undefined ? {} : { onError: options.onFileError }),
    });
    transports.push(fileTransport);
  }
  const shared: Shared = {
    severity: SEVERITY[level],
    level,
    closed: false,
    clock: options.clock,
    json: options.format === 'json',
    offsetMin: options.utcOffsetMinutes ?? 0,
    sink: options.sink,
    winston:
      transports.length === 0
        ? undefined
        : winston.createLogger({
            levels: { error: 0, warn: 1, info: 2, debug: 3 },
            level: 'debug', // filtering happens before winston
            // The line is already formatted; winston writes info[MESSAGE] as is.
            format: winston.format((info) => info)(),
            transports,
            exitOnError: false,
          }),
  };
  const root = new WinstonLogger(shared, options.component ?? '<unknown>', {});
  return Object.assign(root, {
    setLevel(next: LogLevel): void {
      shared.level = next;
      shared.severity = SEVERITY[next];
    },
    async flush(): Promise<void> {
      await fileTransport?.flush();
    },
    close(): Promise<void> {
      return closeShared(shared);
    },
  });
}

async function closeShared(shared: Shared): Promise<void> {
  if (shared.closed) return;
  shared.closed = true;
  const w = shared.winston;
  if (w === undefined) return;
  // Every transport emits 'finish' once it has written everything (the file transport after
  // closing its file).
  const finished = w.transports.map((t) => new Promise<void>((resolve) => t.once('finish', () => resolve())));
  w.end();
  await Promise.all(finished);
}

class WinstonLogger implements Logger {
  readonly #shared: Shared;
  readonly #component: string;
  readonly #bound: LogFields;

  constructor(shared: Shared, component: string, bound: LogFields) {
    this.#shared = shared;
    this.#component = component;
    this.#bound = bound;
  }

  get level(): LogLevel {
    return this.#shared.level;
  }

  isEnabled(level: LogLevel): boolean {
    return SEVERITY[level] <= this.#shared.severity && !this.#shared.closed;
  }

  error(message: string, fields?: LogFields): void {
    if (this.#shared.severity >= 0) this.#write('error', message, fields);
  }

  warn(message: string, fields?: LogFields): void {
    if (this.#shared.severity >= 1) this.#write('warn', message, fields);
  }

  info(message: string, fields?: LogFields): void {
    if (this.#shared.severity >= 2) this.#write('info', message, fields);
  }

  debug(message: string, fields?: LogFields): void {
    if (this.#shared.severity >= 3) this.#write('debug', message, fields);
  }

  child(bindings: LogBindings): Logger {
    const { component, ...rest } = bindings;
    return new WinstonLogger(this.#shared, component ?? this.#component, { ...this.#bound, ...rest });
  }

  #write(level: LogLevel, message: string, fields: LogFields | undefined): void {
    const shared = this.#shared;
    if (shared.closed) return;
    const record: LogRecord = {
      timeMs: shared.clock.nowMs(),
      level,
      component: this.#component,
      message,
      fields: fields === undefined ? this.#bound : { ...this.#bound, ...fields },
    };
    const line = shared.json ? formatJsonLine(record, shared.offsetMin) : formatTextLine(record, shared.offsetMin);
    shared.sink?.write(record, line);
    shared.winston?.log({ level, message, [MESSAGE]: line });
  }
}

/** A logger that drops everything (for code paths and tests that do not care about logs). */
export function createNoopLogger(): Logger {
  const noop = (): void => undefined;
  const logger: Logger = {
    level: 'error',
    error: noop,
    warn: noop,
    info: noop,
    debug: noop,
    isEnabled: () => false,
    child: () => logger,
  };
  return logger;
}

/** Formats a timestamp as TiKV does: `2026/11/28 01:02:03.456 +00:00`. */
export function formatLogTime(timeMs: number, utcOffsetMinutes = 0): string {
  const d = new Date(timeMs + utcOffsetMinutes * 60_000);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const sign = utcOffsetMinutes < 0 ? '-' : '+';
  const off = Math.abs(utcOffsetMinutes);
  return (
    `${d.getUTCFullYear()}/${p2(d.getUTCMonth() + 1)}/${p2(d.getUTCDate())} ` +
    `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}.${String(d.getUTCMilliseconds()).padStart(3, '0')} ` +
    `${sign}${p2(Math.floor(off / 60))}:${p2(off % 60)}`
  );
}

/** Formats a record in TiKV's unified text format (no trailing newline). */
export function formatTextLine(record: LogRecord, utcOffsetMinutes = 0): string {
  let line = `[${formatLogTime(record.timeMs, utcOffsetMinutes)}] [${record.level.toUpperCase()}] [${record.component}] [${quoteIfNeeded(record.message)}]`;
  for (const [key, value] of Object.entries(record.fields)) {
    if (value === undefined) continue;
    line += ` [${quoteIfNeeded(key)}=${quoteIfNeeded(renderValue(value))}]`;
  }
  return line;
}

const RESERVED_JSON_KEYS = new Set(['time', 'level', 'component', 'message']);

/** Formats a record as one JSON object (no trailing newline). */
export function formatJsonLine(record: LogRecord, utcOffsetMinutes = 0): string {
  const out: Record<string, unknown> = {
    time: formatLogTime(record.timeMs, utcOffsetMinutes),
    level: record.level.toUpperCase(),
    component: record.component,
    message: record.message,
  };
  for (const [key, value] of Object.entries(record.fields)) {
    if (value === undefined) continue;
    let k = key;
    while (RESERVED_JSON_KEYS.has(k) || (k !== key && k in out)) k = `_${k}`;
    out[k] = jsonValue(value);
  }
  return JSON.stringify(out);
}

/** Renders a field value as text (see {@link LogFields}). */
export function renderValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return toHex(value);
  if (value instanceof Error) return renderError(value);
  try {
    return JSON.stringify(value, jsonReplacer) ?? String(value);
  } catch {
    return String(value);
  }
}

function renderError(e: Error): string {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? `${e.name} (${code}): ${e.message}` : `${e.name}: ${e.message}`;
}

function jsonValue(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return toHex(value);
  if (value instanceof Error) return renderError(value);
  return value;
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return toHex(value);
  return value;
}

const HEX = '0123456789ABCDEF';

function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += (HEX[b >> 4] ?? '') + (HEX[b & 15] ?? '');
  return s;
}

/** JSON-quotes `s` when the unified log format requires it (and when it is empty). */
function quoteIfNeeded(s: string): string {
  if (s.length === 0) return '""';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x22 || c === 0x3d || c === 0x5b || c === 0x5d) return JSON.stringify(s);
  }
  return s;
}
