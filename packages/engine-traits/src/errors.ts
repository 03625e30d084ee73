import { TikvError } from '@tikv-ts/util';

/**
 * The engine (or the snapshot, iterator or batch that depends on it) was closed; the operation was
 * not performed. Every operation started after `close()` began rejects with this error.
 */
export class EngineClosedError extends TikvError {
  readonly code = 'KV:Engine:Closed';
  /** What was closed: `"engine"`, `"snapshot"` or `"iterator"`. */
  readonly target: 'engine' | 'snapshot' | 'iterator';

  constructor(target: 'engine' | 'snapshot' | 'iterator', detail?: string, options?: ErrorOptions) {
    super(`The ${target} is closed${detail === undefined ? '' : ` (${detail})`}`, options);
    this.target = target;
  }
}

/**
 * The storage below the engine failed (open, read, write, fsync, flush, compaction). The failed
 * operation may or may not have taken effect unless its contract says otherwise (a failed
 * `WriteBatch.write` is not visible: batches are all or nothing). The binding's error is `cause`.
 */
export class EngineIoError extends TikvError {
  readonly code = 'KV:Engine:Io';
  /** The engine operation that failed, e.g. `"write"`, `"open"`. */
  readonly operation: string;

  constructor(operation: string, message: string, options?: ErrorOptions) {
    super(`Engine ${operation} failed: ${message}`, options);
    this.operation = operation;
  }
}

/** The engine's files are damaged or from an incompatible layout; it refused to open or read them. */
export class EngineCorruptionError extends TikvError {
  readonly code = 'KV:Engine:Corruption';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}
