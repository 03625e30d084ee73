import { constants, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { FileHandle, FileSystem } from '../fs';

/**
 * The real {@link FileSystem} on `node:fs/promises`. `sync` is fsync(2), `datasync` is
 * fdatasync(2), `syncDir` opens the directory read-only and fsyncs it. Errors are Node's own
 * system errors (`code === 'ENOENT'`, …); test them with `isErrnoCode`.
 */
export class NodeFileSystem implements FileSystem {
  #tmpSeq = 0;

  /** Opens read-write; `create` adds O_CREAT, `truncate` O_TRUNC, `exclusive` O_EXCL. */
  async open(path: string, options: { create?: boolean; truncate?: boolean; exclusive?: boolean } = {}): Promise<FileHandle> {
    let flags = constants.O_RDWR;
    if (options.create === true) flags |= constants.O_CREAT;
    if (options.truncate === true) flags |= constants.O_TRUNC;
    if (options.exclusive === true) flags |= constants.O_EXCL;
    return new NodeFileHandle(await fsp.open(path, flags, 0o644));
  }

  /** Reads a whole file. */
  async readFile(path: string): Promise<Uint8Array> {
    const buf = await fsp.readFile(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /**
   * Writes `<dir>/.<name>.tmp-<pid>-<n>`, fsyncs it, renames it over `path` and fsyncs the
   * directory. On failure before the rename the temp file is removed (best effort).
   */
  async writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
    const dir = dirname(path);
    const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${this.#tmpSeq++}`);
    try {
      const handle = await fsp.open(tmp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o644);
      try {
        await writeAll(handle, 0, data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fsp.rename(tmp, path);
    } catch (e: unknown) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      throw e;
    }
    await this.syncDir(dir);
  }

  /** Sorted entry names. */
  async readdir(path: string): Promise<string[]> {
    const names = await fsp.readdir(path);
    return names.sort();
  }

  /** `mkdir -p`. */
  async mkdir(path: string): Promise<void> {
    await fsp.mkdir(path, { recursive: true });
  }

  /** unlink(2). */
  async unlink(path: string): Promise<void> {
    await fsp.unlink(path);
  }

  /** rename(2). */
  async rename(from: string, to: string): Promise<void> {
    await fsp.rename(from, to);
  }

  /** True when `lstat` succeeds; false on ENOENT/ENOTDIR; other errors are thrown. */
  async exists(path: string): Promise<boolean> {
    try {
      await fsp.lstat(path);
      return true;
    } catch (e: unknown) {
      const code = (e as { code?: unknown }).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw e;
    }
  }

  /** Opens the directory and fsyncs it, making entry changes durable. */
  async syncDir(path: string): Promise<void> {
    const handle = await fsp.open(path, constants.O_RDONLY | (constants.O_DIRECTORY ?? 0));
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** `rm -rf`. */
  async rmrf(path: string): Promise<void> {
    await fsp.rm(path, { recursive: true, force: true });
  }
}

class NodeFileHandle implements FileHandle {
  readonly #handle: fsp.FileHandle;

  constructor(handle: fsp.FileHandle) {
    this.#handle = handle;
  }

  async read(position: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.#handle.read(out, done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done === length ? out : out.subarray(0, done);
  }

  async write(position: number, data: Uint8Array): Promise<void> {
    await writeAll(this.#handle, position, data);
  }

  async size(): Promise<number> {
    return (await this.#handle.stat()).size;
  }

  async truncate(length: number): Promise<void> {
    await this.#handle.truncate(length);
  }

  async sync(): Promise<void> {
    await this.#handle.sync();
  }

  async datasync(): Promise<void> {
    await this.#handle.datasync();
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }
}

async function writeAll(handle: fsp.FileHandle, position: number, data: Uint8Array): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}
