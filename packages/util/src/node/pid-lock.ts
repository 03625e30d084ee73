import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { TikvError } from '../errors';

/** The lock file is held by another live process. */
export class PidLockHeldError extends TikvError {
  readonly code = 'KV:Util:PidLockHeld';
  constructor(
    readonly path: string,
    readonly pid: number,
  ) {
    super(`${path} is held by another live process (pid ${pid})`);
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

/** The live process other than this one whose pid `path` holds, if any. */
function liveHolder(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined; // vanished meanwhile
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)
    ? pid
    : undefined;
}

/**
 * Takes a pid lock file: `path` is created with O_EXCL and holds this process's pid. A file left
 * by a dead process (kill -9) is taken over. This is advisory, between our own processes (a
 * tikv-server and tikv-ctl on one data directory); RocksDB's OS lock on the database is the
 * backstop against two processes racing. Returns the release function (removes the file).
 * @throws PidLockHeldError when a live process holds it
 */
export function acquirePidLock(path: string): () => void {
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (e: unknown) {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
      const pid = liveHolder(path);
      if (pid !== undefined) throw new PidLockHeldError(path, pid);
      try {
        unlinkSync(path);
      } catch {
        // Taken over by another process first: the next attempt decides.
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
