import { isErrnoCode } from '../errors';
import { SeededRng } from '../seeded-rng';
import { SimFs, SimFsError } from './sim-fs';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const rng = (): SeededRng => new SeededRng(1n);

/** A SimFs with a durable directory /d. */
async function setup(): Promise<SimFs> {
  const fs = new SimFs();
  await fs.mkdir('/d');
  await fs.syncDir('/');
  return fs;
}

describe('SimFs durability', () => {
  it('keeps synced data and entries across a crash', async () => {
    const fs = await setup();
    const h = await fs.open('/d/log', { create: true });
    await h.write(0, enc('abc'));
    await h.sync();
    await fs.syncDir('/d');
    fs.crash(rng());
    expect(dec(await fs.readFile('/d/log'))).toBe('abc');
    expect(fs.unsyncedPaths()).toEqual([]);
  });

  it('loses unsynced appends on crash', async () => {
    const fs = await setup();
    const h = await fs.open('/d/log', { create: true });
    await h.write(0, enc('abc'));
    await h.datasync();
    await fs.syncDir('/d');
    await h.write(3, enc('def'));
    expect(dec(await fs.readFile('/d/log'))).toBe('abcdef');
    expect(fs.unsyncedPaths()).toEqual(['/d/log']);
    fs.crash(rng());
    expect(dec(await fs.readFile('/d/log'))).toBe('abc');
  });

  it('loses unsynced overwrites and truncations on crash', async () => {
    const fs = await setup();
    const h = await fs.open('/d/f', { create: true });
    await h.write(0, enc('0123456789'));
    await h.sync();
    await fs.syncDir('/d');
    await h.write(2, enc('xx'));
    await h.truncate(4);
    fs.crash(rng());
    expect(dec(await fs.readFile('/d/f'))).toBe('0123456789');
  });

  it('loses a file whose data was synced but whose directory entry was not', async () => {
    const fs = await setup();
    const h = await fs.open('/d/new', { create: true });
    await h.write(0, enc('x'));
    await h.sync();
    expect(fs.unsyncedPaths()).toEqual(['/d']);
    fs.crash(rng());
    expect(await fs.exists('/d/new')).toBe(false);
  });

  it('keeps a file whose entry was synced but loses its unsynced data', async () => {
    const fs = await setup();
    const h = await fs.open('/d/new', { create: true });
    await fs.syncDir('/d');
    await h.write(0, enc('x'));
    fs.crash(rng());
    expect(await fs.exists('/d/new')).toBe(true);
    expect((await fs.readFile('/d/new')).length).toBe(0);
  });

  it('reverts unsynced renames and unlinks', async () => {
    const fs = await setup();
    await fs.writeFileAtomic('/d/a', enc('A'));
    await fs.writeFileAtomic('/d/b', enc('B'));
    await fs.rename('/d/a', '/d/c');
    await fs.unlink('/d/b');
    expect(await fs.readdir('/d')).toEqual(['c']);
    fs.crash(rng());
    expect(await fs.readdir('/d')).toEqual(['a', 'b']);
    expect(dec(await fs.readFile('/d/a'))).toBe('A');
  });

  it('makes renames durable with syncDir of the directory', async () => {
    const fs = await setup();
    await fs.writeFileAtomic('/d/a', enc('A'));
    await fs.rename('/d/a', '/d/c');
    await fs.syncDir('/d');
    fs.crash(rng());
    expect(await fs.readdir('/d')).toEqual(['c']);
  });

  it('an unlinked file stays readable through an open handle', async () => {
    const fs = await setup();
    await fs.writeFileAtomic('/d/a', enc('A'));
    const h = await fs.open('/d/a');
    await fs.unlink('/d/a');
    expect(dec(await h.read(0, 1))).toBe('A');
    await h.close();
  });

  it('loses an unsynced mkdir and everything below it', async () => {
    const fs = new SimFs();
    await fs.mkdir('/x/y');
    await fs.writeFileAtomic('/x/y/f', enc('1')); // syncs /x/y but not / or /x
    fs.crash(rng());
    expect(await fs.exists('/x')).toBe(false);
  });

  it('writeFileAtomic is all-or-nothing across a crash', async () => {
    const fs = await setup();
    await fs.writeFileAtomic('/d/m', enc('old'));
    // Crash after the temp file was written and synced but before the rename: old content stays.
    fs.failNext('rename', 'EIO');
    await expect(fs.writeFileAtomic('/d/m', enc('new'))).rejects.toMatchObject({ code: 'EIO' });
    fs.crash(rng());
    expect(dec(await fs.readFile('/d/m'))).toBe('old');
    expect(await fs.readdir('/d')).toEqual(['m']);
    await fs.writeFileAtomic('/d/m', enc('new'));
    fs.crash(rng(), { tear: true });
    expect(dec(await fs.readFile('/d/m'))).toBe('new');
  });

  it('invalidates handles opened before a crash', async () => {
    const fs = await setup();
    const h = await fs.open('/d/f', { create: true });
    fs.crash(rng());
    await expect(h.write(0, enc('x'))).rejects.toMatchObject({ code: 'EBADF' });
    await expect(h.close()).rejects.toMatchObject({ code: 'EBADF' });
  });

  it('with tear, a prefix of unsynced appends survives, possibly torn, and replays by seed', async () => {
    const outcomes = new Set<string>();
    for (let seed = 0n; seed < 60n; seed++) {
      const results: string[] = [];
      for (let run = 0; run < 2; run++) {
        const fs = await setup();
        const h = await fs.open('/d/log', { create: true });
        await h.write(0, enc('AAAA'));
        await h.sync();
        await fs.syncDir('/d');
        await h.write(4, enc('BBBB'));
        await h.write(8, enc('CCCC'));
        fs.crash(new SeededRng(seed), { tear: true });
        const text = dec(await fs.readFile('/d/log'));
        expect('AAAABBBBCCCC'.startsWith(text)).toBe(true);
        expect(text.length).toBeGreaterThanOrEqual(4);
        results.push(text);
      }
      expect(results[0]).toBe(results[1]); // same seed, same crash
      outcomes.add(results[0] ?? '');
    }
    // Over 60 seeds: full loss, full survival, and torn middles all occur.
    expect(outcomes.has('AAAA')).toBe(true);
    expect(outcomes.has('AAAABBBBCCCC')).toBe(true);
    expect([...outcomes].some((t) => t.length % 4 !== 0)).toBe(true);
  });

  it('with tear, unsynced directory changes survive only as an in-order prefix', async () => {
    const seen = new Set<string>();
    for (let seed = 0n; seed < 40n; seed++) {
      const fs = await setup();
      await (await fs.open('/d/1', { create: true })).close();
      await (await fs.open('/d/2', { create: true })).close();
      fs.crash(new SeededRng(seed), { tear: true });
      const names = (await fs.readdir('/d')).join(',');
      expect(['', '1', '1,2']).toContain(names);
      seen.add(names);
    }
    expect(seen.size).toBe(3);
  });
});

describe('SimFs faults', () => {
  it('failNext fails exactly one matching operation without effect', async () => {
    const fs = await setup();
    const h = await fs.open('/d/f', { create: true });
    fs.failNext('write', 'ENOSPC');
    const err: unknown = await h.write(0, enc('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SimFsError);
    expect(isErrnoCode(err, 'ENOSPC')).toBe(true);
    expect((err as SimFsError).message).toBe("ENOSPC: no space left on device, write '/d/f'");
    expect(await h.size()).toBe(0);
    await h.write(0, enc('x'));
    expect(await h.size()).toBe(1);
  });

  it('filters faults by path and counts times', async () => {
    const fs = await setup();
    await fs.mkdir('/e');
    fs.injectFault({ op: 'open', code: 'EIO', path: '/e', times: 2 });
    await fs.open('/d/ok', { create: true });
    await expect(fs.open('/e/x', { create: true })).rejects.toMatchObject({ code: 'EIO' });
    await expect(fs.open('/e/y', { create: true })).rejects.toMatchObject({ code: 'EIO' });
    await fs.open('/e/z', { create: true });
    fs.injectFault({ op: '*', code: 'EIO', path: /zz$/, times: Infinity });
    await expect(fs.exists('/a/zz')).rejects.toMatchObject({ code: 'EIO' });
    await expect(fs.readFile('/zz')).rejects.toMatchObject({ code: 'EIO' });
    fs.clearFaults();
    expect(await fs.exists('/a/zz')).toBe(false);
  });

  it('a failed fsync drops the unsynced writes from the durable side (fsyncgate)', async () => {
    const fs = await setup();
    const h = await fs.open('/d/f', { create: true });
    await fs.syncDir('/d');
    await h.write(0, enc('lost'));
    fs.failNext('sync', 'EIO');
    await expect(h.sync()).rejects.toMatchObject({ code: 'EIO' });
    await h.sync(); // "succeeds", but the data never reached the disk
    expect(dec(await fs.readFile('/d/f'))).toBe('lost');
    fs.crash(rng());
    expect((await fs.readFile('/d/f')).length).toBe(0);
  });

  it('keeps pending writes after a failed fsync when dropUnsyncedOnSyncError is false', async () => {
    const fs = new SimFs({ dropUnsyncedOnSyncError: false });
    const h = await fs.open('/f', { create: true });
    await fs.syncDir('/');
    await h.write(0, enc('kept'));
    fs.failNext('datasync', 'EIO');
    await expect(h.datasync()).rejects.toMatchObject({ code: 'EIO' });
    await h.datasync();
    fs.crash(rng());
    expect(dec(await fs.readFile('/f'))).toBe('kept');
  });

  it('probabilistic faults are deterministic by seed', async () => {
    const run = async (): Promise<number> => {
      const fs = new SimFs({ rng: new SeededRng(77n) });
      fs.injectFault({ op: 'exists', code: 'EIO', probability: 0.3, times: Infinity });
      let failed = 0;
      for (let i = 0; i < 100; i++) {
        await fs.exists('/x').catch(() => failed++);
      }
      return failed;
    };
    const a = await run();
    expect(a).toBeGreaterThan(10);
    expect(a).toBeLessThan(60);
    expect(await run()).toBe(a);
    expect(() => new SimFs().injectFault({ op: 'read', code: 'EIO', probability: 0.5 })).toThrow(TypeError);
  });

  it('counts operations', async () => {
    const fs = await setup();
    const h = await fs.open('/d/f', { create: true });
    await h.sync();
    await h.sync();
    await fs.writeFileAtomic('/d/g', enc('x'));
    expect(fs.opCount('sync')).toBe(3);
    expect(fs.opCount('syncDir')).toBe(2);
  });
});

describe('SimFs namespace errors', () => {
  it('reports Node-style codes', async () => {
    const fs = await setup();
    await fs.writeFileAtomic('/d/f', enc('x'));
    await expect(fs.open('/d')).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(fs.readdir('/d/f')).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(fs.mkdir('/d/f')).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(fs.mkdir('/d/f/g')).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(fs.unlink('/d')).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(fs.open('/nope/f', { create: true })).rejects.toMatchObject({ code: 'ENOENT' });
    await fs.mkdir('/d/sub');
    await expect(fs.rename('/d/f', '/d/sub')).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(fs.rename('/d/sub', '/d/f')).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  it('resolves relative paths against /', async () => {
    const fs = new SimFs();
    await fs.writeFileAtomic('rel', enc('r'));
    expect(dec(await fs.readFile('/rel'))).toBe('r');
    expect(await fs.readdir('.')).toEqual(['rel']);
  });
});
