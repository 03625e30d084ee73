import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PidLockHeldError, acquirePidLock } from './pid-lock';

const dir = mkdtempSync(join(tmpdir(), 'pid-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('acquirePidLock', () => {
  it('creates the file with our pid and removes it on release', () => {
    const path = join(dir, 'a.lock');
    const release = acquirePidLock(path);
    expect(readFileSync(path, 'utf8')).toBe(`${process.pid}\n`);
    release();
    expect(existsSync(path)).toBe(false);
  });

  it('refuses a file held by another live process', () => {
    const path = join(dir, 'b.lock');
    writeFileSync(path, `${process.ppid}\n`);
    expect(() => acquirePidLock(path)).toThrow(PidLockHeldError);
    expect(() => acquirePidLock(path)).toThrow(`pid ${process.ppid}`);
  });

  it('takes over a file left by a dead process or holding garbage', () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    for (const content of [`${dead}\n`, 'not a pid\n']) {
      const path = join(dir, `c-${content.length}.lock`);
      writeFileSync(path, content);
      const release = acquirePidLock(path);
      expect(readFileSync(path, 'utf8')).toBe(`${process.pid}\n`);
      release();
    }
  });
});
