// The local cluster's lock file: `<data-dir>/cluster.lock`, JSON with the pids and endpoints of
// the running instance, so a second `npm start` on the same data says what is running.
import { closeSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_NAME = 'cluster.lock';

/** Whether a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function isAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

function readLock(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Takes the lock (O_EXCL). When a lock exists: if its supervisor or any of its children is
 * alive, returns `{ running: <the lock's contents>, alive: [pids] }` without touching it;
 * otherwise (a crash left it) it is replaced. On success returns `{ update, release }`:
 * `update(info)` rewrites the contents, `release()` removes the file.
 */
export function takeLock(dataDir) {
  const file = join(dataDir, LOCK_NAME);
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd;
    try {
      fd = openSync(file, 'wx');
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      const held = readLock(file);
      const pids = held === undefined ? [] : [held.pid, ...Object.values(held.children ?? {})];
      const alive = pids.filter(isAlive);
      if (alive.length > 0) return { running: held, alive };
      rmSync(file, { force: true });
      continue;
    }
    const info = {
      pid: process.pid,
      children: {},
      endpoints: {},
      startedAt: new Date().toISOString(),
    };
    writeSync(fd, JSON.stringify(info, null, 2));
    closeSync(fd);
    return {
      update(patch) {
        Object.assign(info, patch);
        writeFileSync(file, JSON.stringify(info, null, 2));
      },
      release() {
        const now = readLock(file);
        if (now === undefined || now.pid === process.pid) rmSync(file, { force: true });
      },
    };
  }
  throw new Error(`could not take ${file}`);
}
