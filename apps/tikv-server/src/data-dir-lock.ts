import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** The data directory is used by another live process. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`Data directory ${dataDir} is locked by another process (pid ${pid}); is another tikv-server running with this --data-dir?`);
    this.name = 'DataDirLockedError';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: unknown) {
    return (e as { code?: string }).code === 'EPERM';
  }
}

/**
 * Takes `<dataDir>/tikv.lock` (created with O_EXCL, holding our pid). A lock file left by a dead
 * process (kill -9) is taken over. RocksDB's own OS lock on the database is the backstop against
 * races between two starting processes. Returns the release function (removes the file).
 * @throws DataDirLockedError when a live process holds it
 */
export function lockDataDir(dataDir: string): () => void {
  const path = join(dataDir, 'tikv.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (e: unknown) {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
      let pid = NaN;
      try {
        pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
      } catch {
        // Vanished meanwhile: retry.
      }
      if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) throw new DataDirLockedError(dataDir, pid);
      try {
        unlinkSync(path);
      } catch {
        // Another process took it over first: retry decides.
      }
      continue;
    }
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return () => {
      try {
        unlinkSync(path);
      } catch {
        // Already gone.
      }
    };
  }
  throw new Error(`Cannot take the lock file ${path}`);
}
