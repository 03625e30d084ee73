import { join } from 'node:path';
import { DATA_DIR_LOCK_FILE } from '@tikv-ts/server';
import { PidLockHeldError, acquirePidLock } from '@tikv-ts/util/node';

/** The data directory is used by another live process. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `Data directory ${dataDir} is locked by another process (pid ${pid}); is another tikv-server running with this --data-dir?`,
    );
    this.name = 'DataDirLockedError';
  }
}

/**
 * Takes `<dataDir>/tikv.lock` for this process (a file left by a dead process is taken over;
 * RocksDB's own lock is the backstop). Returns the release function.
 * @throws DataDirLockedError when a live process holds it
 */
export function lockDataDir(dataDir: string): () => void {
  try {
    return acquirePidLock(join(dataDir, DATA_DIR_LOCK_FILE));
  } catch (e: unknown) {
    if (e instanceof PidLockHeldError) throw new DataDirLockedError(dataDir, e.pid);
    throw e;
  }
}
