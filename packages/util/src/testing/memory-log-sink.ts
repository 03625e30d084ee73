import type { LogLevel, LogRecord, LogSink } from '../logger';

/**
 * An in-memory {@link LogSink} for assertions: keeps every record and its formatted line.
 * Unbounded unless `maxRecords` is given (then the oldest are dropped).
 */
export class MemoryLogSink implements LogSink {
  readonly #records: LogRecord[] = [];
  readonly #lines: string[] = [];
  readonly #max: number;

  constructor(options: { maxRecords?: number } = {}) {
    this.#max = options.maxRecords ?? Number.POSITIVE_INFINITY;
  }

  write(record: LogRecord, line: string): void {
    this.#records.push(record);
    this.#lines.push(line);
    if (this.#records.length > this.#max) {
      this.#records.shift();
      this.#lines.shift();
    }
  }

  /** Records so far, oldest first (a copy). */
  records(): LogRecord[] {
    return [...this.#records];
  }

  /** Formatted lines so far, oldest first (a copy). */
  lines(): string[] {
    return [...this.#lines];
  }

  /** Messages of the records at `level` (all levels when omitted). */
  messages(level?: LogLevel): string[] {
    return this.#records.filter((r) => level === undefined || r.level === level).map((r) => r.message);
  }

  /** The first record whose message equals or matches `message`, or undefined. */
  find(message: string | RegExp): LogRecord | undefined {
    return this.#records.find((r) => (typeof message === 'string' ? r.message === message : message.test(r.message)));
  }

  /** Forgets everything recorded so far. */
  clear(): void {
    this.#records.length = 0;
    this.#lines.length = 0;
  }
}
