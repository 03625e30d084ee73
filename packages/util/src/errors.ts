/**
 * Base class of every domain error in the project (STYLE.md §5).
 *
 * `code` is stable and in TiKV's form (`"KV:Engine:Closed"`); `name` is the concrete class name;
 * structured fields live on subclasses; the underlying error travels as `cause`.
 */
export abstract class TikvError extends Error {
  /** Stable machine-readable code, e.g. `"KV:Raftstore:NotLeader"`. Never changes once published. */
  abstract readonly code: string;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Asserts a programmer invariant; throws a plain Error (no code) when it does not hold. */
export function invariant(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new Error(`Invariant violated: ${typeof message === 'function' ? message() : message}`);
  }
}

/**
 * True when `e` is an error object whose Node-style `code` equals `code` (`'ENOENT'`, `'EIO'`, …).
 * Works for errors thrown by `NodeFileSystem` (Node's own system errors) and by `SimFs`.
 */
export function isErrnoCode(e: unknown, code: string): boolean {
  return typeof e === 'object' && e !== null && 'code' in e && (e as { code: unknown }).code === code;
}

/** One problem found while loading a configuration. */
export interface ConfigIssue {
  /** Full dotted TOML key path, e.g. `"raftstore.raft-base-tick-interval"`; `""` for the whole file. */
  readonly keyPath: string;
  /** Sentence-case description naming the key and the offending value. */
  readonly message: string;
}

/**
 * An invalid configuration: unknown key, wrong type, value out of range, or bad TOML.
 * `keyPath` names the first offending key; `issues` lists every problem found (the message
 * joins them, one per line).
 */
export class ConfigError extends TikvError {
  readonly code = 'KV:Config:Invalid';
  /** Full dotted key path of the first problem (`""` when it concerns the whole file). */
  readonly keyPath: string;
  /** Every problem found, in schema order. */
  readonly issues: readonly ConfigIssue[];

  constructor(issues: ConfigIssue | readonly ConfigIssue[], options?: ErrorOptions) {
    const list: readonly ConfigIssue[] = Array.isArray(issues) ? issues : [issues as ConfigIssue];
    if (list.length === 0) throw new TypeError('ConfigError needs at least one issue');
    super(list.map((i) => i.message).join('\n'), options);
    this.keyPath = (list[0] as ConfigIssue).keyPath;
    this.issues = list;
  }
}
