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
