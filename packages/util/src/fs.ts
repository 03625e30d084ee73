/**
 * File I/O as a capability (STYLE.md §2), so that raft-log-engine and PD can be crashed by a
 * simulated file system in tests. `NodeFileSystem` (util/src/node) is the real adapter;
 * `SimFs` keeps durable and volatile bytes apart and loses or tears unsynced writes on crash().
 * Paths are absolute or relative to the process's working directory, `/`-separated.
 */
export interface FileSystem {
  /**
   * Opens a file. `create` makes it when missing; `truncate` empties it; `exclusive` fails when
   * it exists. The file is readable and writable.
   * @throws an error with `code === 'ENOENT'` when missing and `create` is not set
   */
  open(path: string, options?: { create?: boolean; truncate?: boolean; exclusive?: boolean }): Promise<FileHandle>;
  /** Reads a whole file. @throws with `code === 'ENOENT'` when missing */
  readFile(path: string): Promise<Uint8Array>;
  /** Writes a whole file atomically (temp file, fsync, rename, fsync of the directory). */
  writeFileAtomic(path: string, data: Uint8Array): Promise<void>;
  /** Names (not paths) of a directory's entries, sorted. @throws with `code === 'ENOENT'` */
  readdir(path: string): Promise<string[]>;
  /** Creates a directory and its missing parents; no error when it exists. */
  mkdir(path: string): Promise<void>;
  /** Removes a file. @throws with `code === 'ENOENT'` when missing */
  unlink(path: string): Promise<void>;
  /** Renames a file, replacing the target. Durable only after {@link syncDir} of the parent. */
  rename(from: string, to: string): Promise<void>;
  /** True when the path exists. */
  exists(path: string): Promise<boolean>;
  /** Makes creations, renames and removals inside a directory durable (fsync of the directory). */
  syncDir(path: string): Promise<void>;
  /** Removes a directory tree; no error when it does not exist. */
  rmrf(path: string): Promise<void>;
}

/** An open file. Positions and lengths are byte offsets (numbers; files stay below 2^53 bytes). */
export interface FileHandle {
  /** Reads up to `length` bytes at `position`; returns the bytes read (shorter at end of file). */
  read(position: number, length: number): Promise<Uint8Array>;
  /** Writes all of `data` at `position`. Not durable until {@link sync} or {@link datasync}. */
  write(position: number, data: Uint8Array): Promise<void>;
  /** Current size in bytes. */
  size(): Promise<number>;
  /** Cuts or extends the file to `length` bytes. */
  truncate(length: number): Promise<void>;
  /** fsync: data and metadata durable. */
  sync(): Promise<void>;
  /** fdatasync: data durable (and the size, when it changed). */
  datasync(): Promise<void>;
  /** Closes the handle; later calls fail. */
  close(): Promise<void>;
}
