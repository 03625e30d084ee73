import TransportStream from 'winston-transport';
import type { FileHandle, FileSystem } from './fs';

const MESSAGE = Symbol.for('message');
const encoder = new TextEncoder();

/** Options of {@link LogFileTransport}. */
export interface LogFileTransportOptions {
  /** The file system to write through (NodeFileSystem in production, SimFs in tests). */
  fs: FileSystem;
  /** Path of the current log file. Rotated files are `<path>.1` (newest) … `<path>.<maxFiles-1>`. */
  path: string;
  /** Rotate before a write would make the file larger than this. Default: never rotate. */
  maxSizeBytes?: number;
  /** Files kept, the current one included (>= 1; `Infinity` keeps all). Default 10. */
  maxFiles?: number;
  /** Called when a write or rotation fails; the line is dropped. Default: ignore. */
  onError?: (error: unknown) => void;
}

/**
 * A winston transport that appends lines to a file through a {@link FileSystem} and rotates it
 * by size (logrotate naming: `tikv.log`, `tikv.log.1`, `tikv.log.2`, …). Lines are written in
 * order by one background loop; logging never waits for the disk. Log files are not fsynced
 * (TiKV does not fsync its logs either). Ending the stream (winston's `logger.end()`) waits until
 * every queued line is written and the file is closed.
 */
export class LogFileTransport extends TransportStream {
  readonly #fs: FileSystem;
  readonly #path: string;
  readonly #maxSize: number;
  readonly #maxFiles: number;
  readonly #onError: (error: unknown) => void;
  #queue: Uint8Array[] = [];
  #handle: FileHandle | undefined;
  #size = 0;
  #draining: Promise<void> | undefined;

  constructor(options: LogFileTransportOptions) {
    super();
    this.#fs = options.fs;
    this.#path = options.path;
    this.#maxSize = options.maxSizeBytes ?? Number.POSITIVE_INFINITY;
    this.#maxFiles = Math.max(1, options.maxFiles ?? 10);
    this.#onError = options.onError ?? (() => undefined);
  }

  /** Queues `info[MESSAGE]` plus a newline. */
  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    const line = info[MESSAGE];
    this.#queue.push(encoder.encode(`${typeof line === 'string' ? line : String(info['message'])}\n`));
    this.#kick();
    next();
  }

  /** Resolves when every line queued so far has been written. */
  async flush(): Promise<void> {
    while (this.#draining !== undefined) await this.#draining;
  }

  override _final(callback: (error?: Error | null) => void): void {
    void this.flush()
      .then(async () => {
        const handle = this.#handle;
        this.#handle = undefined;
        if (handle !== undefined) await handle.close();
      })
      .catch((e: unknown) => this.#onError(e))
      .then(() => callback());
  }

  #kick(): void {
    if (this.#draining !== undefined) return;
    this.#draining = this.#drain().finally(() => {
      this.#draining = undefined;
      if (this.#queue.length > 0) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      try {
        await this.#writeBatch(batch);
      } catch (e: unknown) {
        this.#onError(e);
        // Reopen on the next batch: the handle may be broken.
        const handle = this.#handle;
        this.#handle = undefined;
        await handle?.close().catch(() => undefined);
      }
    }
  }

  async #writeBatch(lines: Uint8Array[]): Promise<void> {
    let i = 0;
    while (i < lines.length) {
      const handle = await this.#open();
      // Take as many lines as fit; a single line larger than the limit goes alone into a file.
      let bytes = 0;
      let j = i;
      while (j < lines.length) {
        const len = (lines[j] as Uint8Array).length;
        if (this.#size + bytes + len > this.#maxSize && (this.#size > 0 || j > i)) break;
        bytes += len;
        j++;
      }
      if (j === i) {
        await this.#rotate();
        continue;
      }
      const chunk = new Uint8Array(bytes);
      let off = 0;
      for (let k = i; k < j; k++) {
        const line = lines[k] as Uint8Array;
        chunk.set(line, off);
        off += line.length;
      }
      await handle.write(this.#size, chunk);
      this.#size += bytes;
      i = j;
    }
  }

  async #open(): Promise<FileHandle> {
    if (this.#handle === undefined) {
      const handle = await this.#fs.open(this.#path, { create: true });
      this.#size = await handle.size();
      this.#handle = handle;
    }
    return this.#handle;
  }

  async #rotate(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    this.#size = 0;
    if (handle !== undefined) await handle.close();
    const name = (n: number): string => `${this.#path}.${n}`;
    if (this.#maxFiles === 1) {
      await this.#fs.unlink(this.#path).catch(() => undefined);
      return;
    }
    let top = this.#maxFiles - 1;
    if (!Number.isFinite(top)) {
      // Keep everything: shift up from the highest existing backup.
      top = 1;
      while (await this.#fs.exists(name(top))) top++;
    }
    const last = name(top);
    if (await this.#fs.exists(last)) await this.#fs.unlink(last);
    for (let n = top - 1; n >= 1; n--) {
      if (await this.#fs.exists(name(n))) await this.#fs.rename(name(n), name(n + 1));
    }
    await this.#fs.rename(this.#path, name(1));
  }
}
