import { createRequire } from 'node:module';
import type RocksDB from 'rocksdb-native';

/** The native iterator functions of rocksdb-native 3.18.1 (`binding.js`, not public API). */
interface IteratorBinding {
  iteratorInit(): ArrayBuffer;
  iteratorBuffer(handle: ArrayBuffer, capacity: number): unknown;
  iteratorOpen(
    db: unknown,
    handle: ArrayBuffer,
    cf: unknown,
    gt: Uint8Array,
    gte: Uint8Array,
    lt: Uint8Array,
    lte: Uint8Array,
    reverse: boolean,
    keysOnly: boolean,
    snapshot: unknown,
    ctx: object,
    onOpen: (err: Error | null | undefined) => void,
    onClose: (err: Error | null | undefined) => void,
    onRead: (err: Error | null | undefined, keys: ArrayBuffer[], values: ArrayBuffer[]) => void,
  ): void;
  iteratorRead(handle: ArrayBuffer, capacity: number): void;
  iteratorClose(handle: ArrayBuffer): void;
}

/** The session internals a cursor needs (rocksdb-native 3.18.1, version pinned). */
interface SessionInternals {
  _state: { _handle: unknown; io: { inc(): void; dec(): void } };
  _columnFamily: { _handle: unknown };
  _snapshot: { _handle: unknown } | null;
  _ref(): void;
  _unref(): void;
}

// The binding module the package itself loaded (same file, so the same module instance).
const binding = createRequire(require.resolve('rocksdb-native'))('./binding.js') as IteratorBinding;
const NONE = new Uint8Array(0);

interface Pending {
  readonly resolve: (v: RocksDB.Entry[]) => void;
  readonly reject: (e: Error) => void;
}

/**
 * A native RocksDB iterator driven directly through the binding, without the package's streamx
 * `Readable` around it: that wrapper reads ahead (its buffer fills up to 16 entries with extra
 * native round trips) and reads a fixed number of entries per call, so a seek that needs one
 * entry paid for a whole chunk. Here every read asks for exactly the number of entries wanted,
 * nothing is read ahead, and `close` is fire-and-forget (the native close runs after any read in
 * flight). The session's snapshot and the database stay referenced until the native close
 * completes, exactly as the package's iterator does (`_ref`/`_unref`, `io` counter), so closing
 * the database waits for it.
 */
export class NativeCursor {
  readonly #db: SessionInternals;
  readonly #handle: ArrayBuffer;
  #capacity = 0;
  /** The native read slots (see `read`); kept referenced until the native close completes. */
  #buffer: unknown[] = [];
  #opened: Promise<void>;
  #pending: Pending | undefined;
  #busy = false;
  #closeWanted = false;
  #closed = false;
  #ended = false;
  #openError: Error | undefined;
  /**
   * The bounds: the native open reads them on the thread pool and the native iterator keeps
   * pointing at them, so they stay referenced until the native close completes (as the binding's
   * own iterator keeps them in fields).
   */
  readonly #bounds: Uint8Array[];

  /** Opens a native iterator over `range` of `session` (which must be open and ready). */
  constructor(session: RocksDB, range: RocksDB.IteratorRange, reverse: boolean) {
    const db = session as unknown as SessionInternals;
    this.#db = db;
    const gte = range.gte ?? NONE;
    const lt = range.lt ?? NONE;
    this.#bounds = [gte, lt];
    this.#handle = binding.iteratorInit();
    db._ref();
    this.#busy = true;
    this.#opened = new Promise<void>((resolve) => {
      this.#pending = {
        resolve: () => resolve(),
        reject: (e) => {
          this.#openError = e;
          resolve();
        },
      };
    });
    db._state.io.inc();
    try {
      binding.iteratorOpen(
        db._state._handle,
        this.#handle,
        db._columnFamily._handle,
        NONE,
        gte,
        lt,
        NONE,
        reverse,
        false,
        db._snapshot === null ? undefined : db._snapshot._handle,
        this,
        this.#onOpen,
        this.#onClose,
        this.#onRead,
      );
    } catch (e: unknown) {
      db._state.io.dec();
      db._unref();
      this.#closed = true;
      this.#busy = false;
      this.#pending = undefined;
      throw e;
    }
  }

  #settle(err: Error | null | undefined, entries: RocksDB.Entry[]): void {
    const p = this.#pending;
    this.#pending = undefined;
    this.#busy = false;
    this.#db._state.io.dec();
    if (this.#closeWanted) this.#nativeClose();
    if (p === undefined) return;
    if (err) p.reject(err);
    else p.resolve(entries);
  }

  readonly #onOpen = (err: Error | null | undefined): void => {
    this.#settle(err, []);
  };

  readonly #onRead = (err: Error | null | undefined, keys: ArrayBuffer[], values: ArrayBuffer[]): void => {
    const out: RocksDB.Entry[] = [];
    if (!err) {
      for (let i = 0; i < keys.length; i++) out.push({ key: Buffer.from(keys[i] as ArrayBuffer), value: Buffer.from(values[i] as ArrayBuffer) });
    }
    this.#settle(err, out);
  };

  readonly #onClose = (): void => {
    this.#buffer.length = 0;
    this.#bounds.length = 0;
    this.#db._state.io.dec();
    this.#db._unref();
  };

  /**
   * Reads up to `n` entries (n >= 1) in the iterator's direction; fewer than `n` means the end
   * was reached (later reads return none). One native round trip; at most one read at a time.
   */
  async read(n: number): Promise<RocksDB.Entry[]> {
    await this.#opened;
    if (this.#openError !== undefined) throw this.#openError;
    if (this.#closeWanted) throw new Error('Native cursor is closed');
    if (this.#busy) throw new Error('A read of this native cursor is in flight');
    if (this.#ended) return [];
    if (n > this.#capacity) {
      // The returned buffer holds the native read slots: it must stay referenced while reads
      // use it (the binding's own iterator keeps it in a field too).
      this.#buffer.push(binding.iteratorBuffer(this.#handle, n));
      if (this.#buffer.length > 1) this.#buffer.shift();
      this.#capacity = n;
    }
    this.#busy = true;
    const entries = await new Promise<RocksDB.Entry[]>((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#db._state.io.inc();
      try {
        binding.iteratorRead(this.#handle, n);
      } catch (e: unknown) {
        this.#settle(e instanceof Error ? e : new Error(String(e)), []);
      }
    });
    if (entries.length < n) this.#ended = true;
    return entries;
  }

  /** Releases the native iterator (after the operation in flight, if any). Idempotent. */
  close(): void {
    if (this.#closeWanted) return;
    this.#closeWanted = true;
    if (!this.#busy) this.#nativeClose();
  }

  #nativeClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    const db = this.#db;
    db._state.io.inc();
    try {
      binding.iteratorClose(this.#handle);
    } catch {
      db._state.io.dec();
      db._unref();
    }
  }
}
