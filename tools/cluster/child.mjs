// One server process of the local cluster: spawned detached (its own process group, so the
// terminal's Ctrl-C reaches only the supervisor, which stops the servers in order).
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export class ServerProcess {
  /**
   * Starts `node <main> <args…>`; stdout and stderr go to `outFile` (the servers' own logs go to
   * their `--log-file`).
   */
  constructor(name, main, args, outFile) {
    this.name = name;
    this.outFile = outFile;
    const fd = openSync(outFile, 'a');
    this.child = spawn(process.execPath, [main, ...args], {
      stdio: ['ignore', fd, fd],
      detached: true,
    });
    closeSync(fd);
    this.pid = this.child.pid;
    this.exitInfo = undefined;
    this.exited = new Promise((resolveExit) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolveExit(this.exitInfo);
      });
      this.child.once('error', (e) => {
        this.exitInfo = { code: null, signal: null, error: e };
        resolveExit(this.exitInfo);
      });
    });
  }

  get running() {
    return this.exitInfo === undefined;
  }

  /** The last lines of its output file and of `logFile` (for a failure message). */
  tail(logFile, lines = 15) {
    const read = (f) => {
      try {
        return readFileSync(f, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    };
    return [read(this.outFile), logFile ? read(logFile) : ''].filter((t) => t !== '').join('\n');
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit. */
  async stop(graceMs = 20000) {
    if (!this.running) return this.exitInfo;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  kill() {
    if (this.running) this.child.kill('SIGKILL');
  }
}

/** Polls `check` (async, truthy when done) every 100 ms until `limitMs`; also fails when `abort()` gives a reason. */
export async function waitUntil(check, what, limitMs, abort) {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const reason = abort?.();
    if (reason) throw new Error(reason);
    try {
      const v = await check();
      if (v) return v;
    } catch {
      // not yet
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${Math.round(limitMs / 1000)} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
