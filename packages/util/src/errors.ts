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
