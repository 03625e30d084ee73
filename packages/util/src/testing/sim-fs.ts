import { posix } from 'node:path';
import type { FileHandle, FileSystem } from '../fs';
import type { Rng } from '../rng';

/** The operations of {@link SimFs} that faults can be injected into. */
export type SimFsOp =
  | 'open'
  | 'read'
  | 'write'
  | 'size'
  | 'truncate'
  | 'sync'
  | 'datasync'
  | 'close'
  | 'readFile'
  | 'writeFileAtomic'
  | 'readdir'
  | 'mkdir'
  | 'unlink'
  | 'rename'
  | 'exists'
  | 'syncDir'
  | 'rmrf';

/** A rule that makes matching {@link SimFs} operations fail. */
export interface SimFsFaultRule {
  /** The operation to fail, or `'*'` for any. */
  op: SimFsOp | '*';
  /** Node-style code of the thrown error: `'EIO'`, `'ENOSPC'`, … */
  code: string;
  /** Only operations on this path, or on paths under this directory, or matching this RegExp. */
  path?: string | RegExp;
  /** How many matching operations fail before the rule is removed. Default 1; `Infinity` for all. */
  times?: number;
  /**
   * Each matching operation fails with this probability (drawn from the `rng` given at
   * construction; required then). Default 1.
   */
  probability?: number;
}

/** Options of {@link SimFs}. */
export interface SimFsOptions {
  /**
   * Randomness for probabilistic faults. Crash randomness is passed to {@link SimFs.crash}.
   */
  rng?: Rng;
  /**
   * Linux's behaviour after a failed fsync ("fsyncgate"): when `sync`/`datasync` fails with
   * EIO, the file's unsynced writes are marked clean without reaching the disk, so a later
   * successful sync does not persist them. Default true; false keeps them pending.
   */
  dropUnsyncedOnSyncError?: boolean;
}

/** Options of {@link SimFs.crash}. */
export interface SimFsCrashOptions {
  /**
   * When true, a random prefix (in issue order) of each file's and each directory's unsynced
   * operations survives, and the last surviving write may be cut short (a torn write). When
   * false (default), every unsynced write and directory change is lost.
   */
  tear?: boolean;
}

/**
 * A Node-style system error thrown by {@link SimFs}: `code` (`'ENOENT'`), `syscall`, `path`, and
 * a message in Node's form (`ENOENT: no such file or directory, open '/a'`).
 */
export class SimFsError extends Error {
  /** Node-style error code. */
  readonly code: string;
  /** The operation that failed. */
  readonly syscall: string;
  /** The path involved, when there is one. */
  readonly path: string | undefined;

  constructor(code: string, syscall: string, path?: string) {
    super(`${code}: ${ERROR_TEXT[code] ?? 'simulated error'}, ${syscall}${path === undefined ? '' : ` '${path}'`}`);
    this.name = 'SimFsError';
    this.code = code;
    this.syscall = syscall;
    this.path = path;
  }
}

const ERROR_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EEXIST: 'file already exists',
  EISDIR: 'illegal operation on a directory',
  ENOTDIR: 'not a directory',
  ENOTEMPTY: 'directory not empty',
  EBADF: 'bad file descriptor',
  EIO: 'i/o error',
  ENOSPC: 'no space left on device',
  EINVAL: 'invalid argument',
};

/** A pending (unsynced) change to a file's bytes. */
type FileOp = { kind: 'write'; position: number; data: Uint8Array } | { kind: 'truncate'; length: number };

/** A byte array with spare capacity, so appends cost O(appended bytes). */
class ByteBuf {
  #bytes: Uint8Array;
  #length: number;

  constructor(bytes: Uint8Array = new Uint8Array(0), length = bytes.length) {
    this.#bytes = bytes;
    this.#length = length;
  }

  get length(): number {
    return this.#length;
  }

  /** A copy of [start, end) clipped to the length. */
  slice(start: number, end: number): Uint8Array {
    return this.#bytes.slice(Math.min(start, this.#length), Math.min(end, this.#length));
  }

  clone(): ByteBuf {
    return new ByteBuf(this.#bytes.slice(0, this.#length));
  }

  apply(op: FileOp): void {
    if (op.kind === 'truncate') {
      this.#resize(op.length);
    } else {
      const end = op.position + op.data.length;
      if (end > this.#length) this.#resize(end);
      this.#bytes.set(op.data, op.position);
    }
  }

  /** Sets the length; bytes past the old length read as zeros. */
  #resize(length: number): void {
    if (length > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(length, this.#bytes.length * 2, 64));
      grown.set(this.#bytes.subarray(0, this.#length));
      this.#bytes = grown;
    } else if (length > this.#length) {
      this.#bytes.fill(0, this.#length, length);
    }
    this.#length = length;
  }
}

class FileNode {
  readonly kind = 'file';
  /** What a reader sees now (page cache). */
  data = new ByteBuf();
  /** What survives a crash. */
  durable = new ByteBuf();
  /** Changes since the last successful sync, in issue order; replayed onto `durable` by sync. */
  pending: FileOp[] = [];
}

/** A pending (unsynced) change to a directory's entries. */
type DirOp = { kind: 'link'; name: string; node: Node } | { kind: 'unlink'; name: string };

class DirNode {
  readonly kind = 'dir';
  /** Entries as seen now. */
  entries = new Map<string, Node>();
  /** Entries that survive a crash. */
  durable = new Map<string, Node>();
  /** Changes since the last syncDir, in issue order. */
  pending: DirOp[] = [];
}

type Node = FileNode | DirNode;

/**
 * An in-memory {@link FileSystem} that models durability, for crash tests (STYLE.md §3).
 *
 * Durability model (strict POSIX, as careful storage engines assume it):
 * - File bytes written through a handle are volatile until `sync()`/`datasync()` of that file
 *   succeeds. Readers see them at once (page cache).
 * - Directory entries (create, rename, unlink, mkdir, rmrf) are volatile until `syncDir()` of the
 *   directory that holds them. A new file whose data was synced but whose directory was not is
 *   lost by a crash; so is a directory created by `mkdir` until its parent is synced.
 * - {@link crash} models a power loss followed by a restart: every unsynced change is dropped
 *   (or, with `tear`, a random in-order prefix survives and the last surviving write may be torn),
 *   and every handle opened before it fails with EBADF. The SimFs object stays usable: it is the
 *   disk the restarted process mounts.
 * - Faults ({@link injectFault}, {@link failNext}) make operations throw Node-style errors without
 *   any effect. A failed sync with EIO drops the file's unsynced writes from the durable side
 *   (see {@link SimFsOptions.dropUnsyncedOnSyncError}).
 *
 * Paths are `/`-separated; relative paths are resolved against `/`. Every operation completes in
 * a resolved promise (no virtual latency). Returned byte arrays are copies.
 */
export class SimFs implements FileSystem {
  #root = new DirNode();
  #generation = 0;
  #rules: Array<Required<Omit<SimFsFaultRule, 'path' | 'probability'>> & Pick<SimFsFaultRule, 'path' | 'probability'>> = [];
  readonly #rng: Rng | undefined;
  readonly #dropOnSyncError: boolean;
  readonly #counts = new Map<SimFsOp, number>();
  #tmpSeq = 0;

  constructor(options: SimFsOptions = {}) {
    this.#rng = options.rng;
    this.#dropOnSyncError = options.dropUnsyncedOnSyncError ?? true;
  }

  // ---- fault injection and inspection ----

  /** Makes matching operations throw (see {@link SimFsFaultRule}). Rules are checked in order. */
  injectFault(rule: SimFsFaultRule): void {
    if (rule.probability !== undefined && rule.probability < 1 && this.#rng === undefined) {
      throw new TypeError('A probabilistic fault needs SimFs to be constructed with an rng');
    }
    this.#rules.push({ ...rule, times: rule.times ?? 1 });
  }

  /** Makes the next `op` (on `path`, or under it, when given) throw an error with `code`. */
  failNext(op: SimFsOp | '*', code: string, path?: string): void {
    this.injectFault(path === undefined ? { op, code } : { op, code, path });
  }

  /** Removes every injected fault. */
  clearFaults(): void {
    this.#rules = [];
  }

  /** How many times each operation was called (including failed calls), e.g. to count fsyncs. */
  opCount(op: SimFsOp): number {
    return this.#counts.get(op) ?? 0;
  }

  /** Paths of files that have unsynced writes and directories that have unsynced entries. */
  unsyncedPaths(): string[] {
    const out: string[] = [];
    const walk = (dir: DirNode, path: string): void => {
      if (dir.pending.length > 0) out.push(path);
      for (const [name, node] of [...dir.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        const child = path === '/' ? `/${name}` : `${path}/${name}`;
        if (node.kind === 'dir') walk(node, child);
        else if (node.pending.length > 0) out.push(child);
      }
    };
    walk(this.#root, '/');
    return out;
  }

  /**
   * Simulates a power loss and restart: unsynced file writes and directory changes are lost (or
   * torn, see {@link SimFsCrashOptions}), open handles become invalid (EBADF) and injected faults
   * are kept. `rng` decides what survives a tear, so a seed replays the same crash.
   */
  crash(rng: Rng, options: SimFsCrashOptions = {}): void {
    const tear = options.tear ?? false;
    this.#generation++;
    // Collect every node reachable through either view, so that e.g. an unlinked-but-durable file
    // comes back and a created-but-unsynced one disappears.
    const dirs: DirNode[] = [];
    const files = new Set<FileNode>();
    const seen = new Set<Node>();
    const visit = (node: Node): void => {
      if (seen.has(node)) return;
      seen.add(node);
      if (node.kind === 'file') {
        files.add(node);
        return;
      }
      dirs.push(node);
      for (const child of node.entries.values()) visit(child);
      for (const child of node.durable.values()) visit(child);
      for (const op of node.pending) if (op.kind === 'link') visit(op.node);
    };
    visit(this.#root);

    for (const dir of dirs) {
      const keep = tear ? rng.nextInt(dir.pending.length + 1) : 0;
      for (const op of dir.pending.slice(0, keep)) applyDirOp(dir.durable, op);
      dir.pending = [];
      dir.entries = new Map(dir.durable);
    }
    for (const file of files) {
      if (tear && file.pending.length > 0) {
        const keep = rng.nextInt(file.pending.length + 1);
        for (const op of file.pending.slice(0, keep)) file.durable.apply(op);
        const torn = file.pending[keep];
        if (torn?.kind === 'write' && torn.data.length > 1) {
          // A torn write: only a prefix of its bytes reached the disk.
          const cut = rng.nextInt(torn.data.length);
          if (cut > 0) file.durable.apply({ kind: 'write', position: torn.position, data: torn.data.subarray(0, cut) });
        }
      }
      file.pending = [];
      file.data = file.durable.clone();
    }
  }

  // ---- FileSystem ----

  /** Opens a file (see {@link FileSystem.open}); creating one adds a volatile directory entry. */
  async open(path: string, options: { create?: boolean; truncate?: boolean; exclusive?: boolean } = {}): Promise<FileHandle> {
    const p = this.#enter('open', path);
    const { parent, name } = this.#parentOf(p, 'open');
    let node = parent.entries.get(name);
    if (node !== undefined && options.exclusive === true && options.create === true) throw new SimFsError('EEXIST', 'open', p);
    if (node === undefined) {
      if (options.create !== true) throw new SimFsError('ENOENT', 'open', p);
      node = new FileNode();
      linkEntry(parent, name, node);
    }
    if (node.kind === 'dir') throw new SimFsError('EISDIR', 'open', p);
    if (options.truncate === true) recordFileOp(node, { kind: 'truncate', length: 0 });
    return new SimFileHandle(this, node, p, this.#generation);
  }

  /** Reads a whole file's current bytes (a copy). */
  async readFile(path: string): Promise<Uint8Array> {
    const p = this.#enter('readFile', path);
    const node = this.#lookup(p, 'open');
    if (node.kind === 'dir') throw new SimFsError('EISDIR', 'read', p);
    return node.data.slice(0, node.data.length);
  }

  /** Temp file + sync + rename + syncDir, each step through this SimFs (so each can fail or crash). */
  async writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
    const p = this.#enter('writeFileAtomic', path);
    const tmp = `${posix.dirname(p) === '/' ? '' : posix.dirname(p)}/.${posix.basename(p)}.tmp-${this.#tmpSeq++}`;
    const handle = await this.open(tmp, { create: true, truncate: true });
    try {
      try {
        await handle.write(0, data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await this.rename(tmp, p);
    } catch (e: unknown) {
      // Best effort: the temp file must not linger; the original error is what the caller needs.
      await this.unlink(tmp).catch(() => undefined);
      throw e;
    }
    await this.syncDir(posix.dirname(p));
  }

  /** Sorted entry names of a directory. */
  async readdir(path: string): Promise<string[]> {
    const p = this.#enter('readdir', path);
    const node = this.#lookup(p, 'scandir');
    if (node.kind !== 'dir') throw new SimFsError('ENOTDIR', 'scandir', p);
    return [...node.entries.keys()].sort();
  }

  /** Creates a directory and missing parents (volatile entries until their parents are synced). */
  async mkdir(path: string): Promise<void> {
    const p = this.#enter('mkdir', path);
    let dir = this.#root;
    const names = parts(p);
    for (const [i, part] of names.entries()) {
      const child = dir.entries.get(part);
      if (child === undefined) {
        const created = new DirNode();
        linkEntry(dir, part, created);
        dir = created;
      } else if (child.kind === 'dir') {
        dir = child;
      } else {
        throw new SimFsError(i === names.length - 1 ? 'EEXIST' : 'ENOTDIR', 'mkdir', p);
      }
    }
  }

  /** Removes a file's directory entry (volatile until syncDir of its parent). */
  async unlink(path: string): Promise<void> {
    const p = this.#enter('unlink', path);
    const { parent, name } = this.#parentOf(p, 'unlink');
    const node = parent.entries.get(name);
    if (node === undefined) throw new SimFsError('ENOENT', 'unlink', p);
    if (node.kind === 'dir') throw new SimFsError('EISDIR', 'unlink', p);
    unlinkEntry(parent, name);
  }

  /** Moves an entry, replacing a file at the target (volatile until syncDir of both parents). */
  async rename(from: string, to: string): Promise<void> {
    const f = this.#enter('rename', from, to);
    const t = posix.resolve('/', to);
    const src = this.#parentOf(f, 'rename');
    const node = src.parent.entries.get(src.name);
    if (node === undefined) throw new SimFsError('ENOENT', 'rename', f);
    const dst = this.#parentOf(t, 'rename');
    const existing = dst.parent.entries.get(dst.name);
    if (existing === node) return;
    if (existing !== undefined) {
      if (existing.kind === 'dir' && node.kind === 'file') throw new SimFsError('EISDIR', 'rename', t);
      if (existing.kind === 'file' && node.kind === 'dir') throw new SimFsError('ENOTDIR', 'rename', t);
      if (existing.kind === 'dir' && existing.entries.size > 0) throw new SimFsError('ENOTEMPTY', 'rename', t);
    }
    if (node.kind === 'dir' && (t + '/').startsWith(f + '/')) throw new SimFsError('EINVAL', 'rename', t);
    unlinkEntry(src.parent, src.name);
    linkEntry(dst.parent, dst.name, node);
  }

  /** True when the path exists in the current view. */
  async exists(path: string): Promise<boolean> {
    const p = this.#enter('exists', path);
    return this.#lookupOrUndefined(p) !== undefined;
  }

  /** Makes the directory's pending entry changes durable. */
  async syncDir(path: string): Promise<void> {
    const p = this.#enter('syncDir', path);
    const node = this.#lookup(p, 'fsync');
    if (node.kind !== 'dir') throw new SimFsError('ENOTDIR', 'fsync', p);
    for (const op of node.pending) applyDirOp(node.durable, op);
    node.pending = [];
  }

  /** Removes a tree's entry from its parent (volatile until syncDir of the parent); no error when missing. */
  async rmrf(path: string): Promise<void> {
    const p = this.#enter('rmrf', path);
    if (p === '/') {
      for (const name of [...this.#root.entries.keys()]) unlinkEntry(this.#root, name);
      return;
    }
    const parentNode = this.#lookupOrUndefined(posix.dirname(p));
    if (parentNode?.kind !== 'dir' || !parentNode.entries.has(posix.basename(p))) return;
    unlinkEntry(parentNode, posix.basename(p));
  }

  // ---- internals used by SimFileHandle ----

  /** @internal Counts the op, checks the handle's generation and injected faults. */
  checkHandleOp(op: SimFsOp, path: string, generation: number, closed: boolean): void {
    this.#count(op);
    if (closed || generation !== this.#generation) throw new SimFsError('EBADF', op, path);
    this.#maybeFail(op, path);
  }

  /** @internal */
  get dropOnSyncError(): boolean {
    return this.#dropOnSyncError;
  }

  #count(op: SimFsOp): void {
    this.#counts.set(op, (this.#counts.get(op) ?? 0) + 1);
  }

  #enter(op: SimFsOp, path: string, path2?: string): string {
    this.#count(op);
    const p = posix.resolve('/', path);
    this.#maybeFail(op, p);
    if (path2 !== undefined) this.#maybeFail(op, posix.resolve('/', path2));
    return p;
  }

  #maybeFail(op: SimFsOp, path: string): void {
    for (let i = 0; i < this.#rules.length; i++) {
      const rule = this.#rules[i];
      if (rule === undefined) continue;
      if (rule.op !== '*' && rule.op !== op) continue;
      if (!pathMatches(rule.path, path)) continue;
      if (rule.probability !== undefined && rule.probability < 1 && !(this.#rng as Rng).chance(rule.probability)) continue;
      rule.times--;
      if (rule.times <= 0) this.#rules.splice(i, 1);
      throw new SimFsError(rule.code, op, path);
    }
  }

  #lookupOrUndefined(p: string): Node | undefined {
    let node: Node = this.#root;
    for (const part of parts(p)) {
      if (node.kind !== 'dir') return undefined;
      const child: Node | undefined = node.entries.get(part);
      if (child === undefined) return undefined;
      node = child;
    }
    return node;
  }

  #lookup(p: string, syscall: string): Node {
    let node: Node = this.#root;
    for (const part of parts(p)) {
      if (node.kind !== 'dir') throw new SimFsError('ENOTDIR', syscall, p);
      const child: Node | undefined = node.entries.get(part);
      if (child === undefined) throw new SimFsError('ENOENT', syscall, p);
      node = child;
    }
    return node;
  }

  #parentOf(p: string, syscall: string): { parent: DirNode; name: string } {
    if (p === '/') throw new SimFsError('EISDIR', syscall, p);
    const parent = this.#lookup(posix.dirname(p), syscall);
    if (parent.kind !== 'dir') throw new SimFsError('ENOTDIR', syscall, p);
    return { parent, name: posix.basename(p) };
  }
}

class SimFileHandle implements FileHandle {
  readonly #fs: SimFs;
  readonly #node: FileNode;
  readonly #path: string;
  readonly #generation: number;
  #closed = false;

  constructor(fs: SimFs, node: FileNode, path: string, generation: number) {
    this.#fs = fs;
    this.#node = node;
    this.#path = path;
    this.#generation = generation;
  }

  async read(position: number, length: number): Promise<Uint8Array> {
    this.#fs.checkHandleOp('read', this.#path, this.#generation, this.#closed);
    checkNonNegative(position, 'read', this.#path);
    checkNonNegative(length, 'read', this.#path);
    return this.#node.data.slice(position, position + length);
  }

  async write(position: number, data: Uint8Array): Promise<void> {
    this.#fs.checkHandleOp('write', this.#path, this.#generation, this.#closed);
    checkNonNegative(position, 'write', this.#path);
    recordFileOp(this.#node, { kind: 'write', position, data: data.slice() });
  }

  async size(): Promise<number> {
    this.#fs.checkHandleOp('size', this.#path, this.#generation, this.#closed);
    return this.#node.data.length;
  }

  async truncate(length: number): Promise<void> {
    this.#fs.checkHandleOp('truncate', this.#path, this.#generation, this.#closed);
    checkNonNegative(length, 'ftruncate', this.#path);
    recordFileOp(this.#node, { kind: 'truncate', length });
  }

  async sync(): Promise<void> {
    this.#syncAs('sync');
  }

  async datasync(): Promise<void> {
    this.#syncAs('datasync');
  }

  async close(): Promise<void> {
    this.#fs.checkHandleOp('close', this.#path, this.#generation, this.#closed);
    this.#closed = true;
  }

  #syncAs(op: 'sync' | 'datasync'): void {
    try {
      this.#fs.checkHandleOp(op, this.#path, this.#generation, this.#closed);
    } catch (e: unknown) {
      if (e instanceof SimFsError && e.code === 'EIO' && this.#fs.dropOnSyncError && !this.#closed) {
        // fsyncgate: the kernel marks the dirty pages clean after reporting the error once.
        this.#node.pending = [];
      }
      throw e;
    }
    for (const op of this.#node.pending) this.#node.durable.apply(op);
    this.#node.pending = [];
  }
}

function checkNonNegative(n: number, syscall: string, path: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new SimFsError('EINVAL', syscall, path);
}

function parts(p: string): string[] {
  return p.split('/').filter((s) => s.length > 0);
}

function pathMatches(filter: string | RegExp | undefined, path: string): boolean {
  if (filter === undefined) return true;
  if (typeof filter !== 'string') return filter.test(path);
  const f = posix.resolve('/', filter);
  return path === f || path.startsWith(f === '/' ? '/' : `${f}/`);
}

function linkEntry(dir: DirNode, name: string, node: Node): void {
  const op: DirOp = { kind: 'link', name, node };
  applyDirOp(dir.entries, op);
  dir.pending.push(op);
}

function unlinkEntry(dir: DirNode, name: string): void {
  const op: DirOp = { kind: 'unlink', name };
  applyDirOp(dir.entries, op);
  dir.pending.push(op);
}

function applyDirOp(entries: Map<string, Node>, op: DirOp): void {
  if (op.kind === 'link') entries.set(op.name, op.node);
  else entries.delete(op.name);
}

function recordFileOp(file: FileNode, op: FileOp): void {
  file.data.apply(op);
  file.pending.push(op);
}
