import { open, readdir } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Makes RocksDB's write-ahead log durable from outside the binding.
 *
 * rocksdb-native has no `WriteOptions.sync`: every write reaches the WAL file through write(2)
 * (RocksDB's default `manual_wal_flush = false`), so it survives a process crash, but nothing
 * fsyncs it. `sync()` does what RocksDB itself does for a sync write: fdatasync every WAL file a
 * completed write may be in, and fsync the directory once for each new WAL file, so the file
 * and its size are durable. Which files: RocksDB numbers WAL files in increasing order and
 * writes into the current one, so a write that completed before `sync()` started is in a live
 * WAL numbered at most the current one (a WAL deleted meanwhile had its memtable flushed to an
 * SST, which RocksDB syncs itself). A WAL that is no longer current receives no more writes, so
 * it is synced once after retiring and then dropped from the set.
 */
export class WalSyncer {
  readonly #dir: string;
  readonly #currentWal: () => Promise<{ number: number }>;
  readonly #files = new Map<number, { handle: FileHandle; retiredAndSynced: boolean }>();
  #round: Promise<void> | undefined;
  #pending: Promise<void> | undefined;
  #closed = false;

  constructor(dir: string, currentWal: () => Promise<{ number: number }>) {
    this.#dir = dir;
    this.#currentWal = currentWal;
  }

  /**
   * Resolves when every write that completed before this call is durable. Concurrent calls
   * share rounds (group commit): a call waits for the round that starts after it.
   */
  sync(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('The WAL syncer is closed'));
    if (this.#round === undefined) {
      this.#round = this.#runRound().finally(() => {
        this.#round = undefined;
      });
      return this.#round;
    }
    // A round is running; it may have started before our write completed, so wait for the next.
    if (this.#pending === undefined) {
      const after = this.#round.catch(() => undefined);
      this.#pending = after.then(() => {
        this.#pending = undefined;
        return this.sync();
      });
    }
    return this.#pending;
  }

  async #runRound(): Promise<void> {
    const current = (await this.#currentWal()).number;
    if (!this.#files.has(current)) await this.#refresh(current);
    const syncs: Promise<void>[] = [];
    for (const [num, f] of this.#files) {
      if (num > current || f.retiredAndSynced) continue;
      syncs.push(
        f.handle.datasync().then(() => {
          if (num < current) f.retiredAndSynced = true;
        }),
      );
    }
    await Promise.all(syncs);
    // Forget retired files once synced.
    for (const [num, f] of [...this.#files]) {
      if (f.retiredAndSynced) {
        this.#files.delete(num);
        await f.handle.close();
      }
    }
  }

  /** Opens WAL files up to `current` that are not tracked yet and fsyncs the directory. */
  async #refresh(current: number): Promise<void> {
    const names = await readdir(this.#dir);
    const live = new Set<number>();
    for (const name of names) {
      const m = /^(\d+)\.log$/.exec(name);
      if (m === null) continue;
      const num = Number(m[1]);
      live.add(num);
      if (num > current || this.#files.has(num)) continue;
      try {
        const handle = await open(join(this.#dir, name), 'r');
        this.#files.set(num, { handle, retiredAndSynced: false });
      } catch (e: unknown) {
        // Deleted between readdir and open: its data is in a synced SST.
        if (!(e instanceof Error && 'code' in e && e.code === 'ENOENT')) throw e;
      }
    }
    for (const [num, f] of [...this.#files]) {
      if (!live.has(num)) {
        this.#files.delete(num);
        await f.handle.close();
      }
    }
    const dir = await open(this.#dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /** Closes the tracked files. Waits for a round in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#round?.catch(() => undefined);
    await this.#pending?.catch(() => undefined);
    for (const f of this.#files.values()) await f.handle.close();
    this.#files.clear();
  }
}
