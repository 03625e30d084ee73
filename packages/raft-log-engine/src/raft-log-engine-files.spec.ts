import { RaftEngineClosedError, RaftEngineCorruptionError, type RaftEntry } from '@tikv-ts/engine-traits';
import { SeededRng } from '@tikv-ts/util';
import { SimFs } from '@tikv-ts/util/testing';
import { FILE_HEADER_BYTES, segmentFileName } from './format';
import { RaftLogEngine, type RaftLogEngineConfig } from './raft-log-engine';

const DIR = '/raft';
const enc = new TextEncoder();

function entry(index: bigint, term = 1n, size = 40): RaftEntry {
  const data = new Uint8Array(size).fill(Number(index % 251n));
  return { entryType: 0, term, index, data, context: new Uint8Array(0), syncLog: false };
}

function range(from: bigint, to: bigint, term = 1n, size = 40): RaftEntry[] {
  const out: RaftEntry[] = [];
  for (let i = from; i < to; i++) out.push(entry(i, term, size));
  return out;
}

const plain = (es: readonly RaftEntry[]): unknown[] => es.map((e) => ({ index: e.index, term: e.term, data: Array.from(e.data) }));

async function open(fs: SimFs, config: Omit<RaftLogEngineConfig, 'dir'> = {}): Promise<RaftLogEngine> {
  return RaftLogEngine.open(fs, { dir: DIR, ...config });
}

async function append(e: RaftLogEngine, regionId: bigint, es: RaftEntry[], sync = true): Promise<void> {
  const b = e.logBatch();
  b.append(regionId, es);
  await e.write(b, { sync });
}

async function segmentFiles(fs: SimFs): Promise<string[]> {
  return (await fs.readdir(DIR)).filter((n) => n.endsWith('.raftlog'));
}

async function corrupt(fs: SimFs, name: string, position: number, bytes: Uint8Array): Promise<void> {
  const h = await fs.open(`${DIR}/${name}`);
  await h.write(position, bytes);
  await h.sync();
  await h.close();
}

describe('RaftLogEngine files', () => {
  it('rotates segment files at the target size and purges the ones no region needs', async () => {
    const fs = new SimFs();
    const e = await open(fs, { targetFileSizeBytes: 2048 });
    // Region 9 writes its state once, at the start: the purge must carry it forward.
    const b = e.logBatch();
    b.putRaftState(9n, { hardState: { term: 9n, vote: 9n, commit: 9n }, lastIndex: 0n });
    await e.write(b, { sync: true });
    for (let i = 1n; i <= 200n; i += 10n) {
      await append(e, 1n, range(i, i + 10n));
      await append(e, 2n, range(i, i + 10n));
    }
    const grown = e.segmentCount();
    expect(grown).toBeGreaterThan(5);
    expect(await segmentFiles(fs)).toHaveLength(grown);
    // Region 2 keeps its whole log, so nothing can go; region 2 pins the oldest file.
    expect(await e.purgeExpiredFiles()).toEqual([1n, 2n]);
    expect(e.segmentCount()).toBe(grown);

    await e.compactTo(1n, 190n);
    await e.compactTo(2n, 195n);
    const pinning = await e.purgeExpiredFiles();
    // What is left: the file(s) holding 190..200 and the active one.
    expect(e.segmentCount()).toBeLessThanOrEqual(3);
    expect(pinning.every((r) => r === 1n || r === 2n)).toBe(true);
    expect((await segmentFiles(fs)).length).toBe(e.segmentCount());
    expect(await e.getRaftState(9n)).toEqual({ hardState: { term: 9n, vote: 9n, commit: 9n }, lastIndex: 0n });
    expect(plain(await e.fetchEntriesTo(2n, { low: 195n, high: 201n }))).toEqual(plain(range(195n, 201n)));
    const size = await e.approximateSizeBytes();
    expect(size).toBeLessThan(3 * 2048);
    await e.close();

    const again = await open(fs, { targetFileSizeBytes: 2048 });
    expect(await again.getRaftState(9n)).toEqual({ hardState: { term: 9n, vote: 9n, commit: 9n }, lastIndex: 0n });
    expect(await again.firstIndex(1n)).toBe(190n);
    expect(plain(await again.fetchEntriesTo(1n, { low: 190n, high: 201n }))).toEqual(plain(range(190n, 201n)));
    expect(await again.regionIds()).toEqual([1n, 2n, 9n]);
    await again.close();
  });

  it('purges on its own after rotation once regions compact', async () => {
    const fs = new SimFs();
    const e = await open(fs, { targetFileSizeBytes: 1024 });
    for (let i = 1n; i <= 400n; i += 4n) {
      const b = e.logBatch();
      b.append(1n, range(i, i + 4n));
      b.compactTo(1n, i - 8n > 0n ? i - 8n : 1n);
      b.putRaftState(1n, { hardState: { term: 1n, vote: 1n, commit: i }, lastIndex: i + 3n });
      await e.write(b, { sync: true });
    }
    expect(e.segmentCount()).toBeLessThanOrEqual(3);
    expect((await segmentFiles(fs)).length).toBe(e.segmentCount());
    await e.close();
  });

  it('keeps memory within cacheLimitBytes and reads older entries back from the files', async () => {
    const fs = new SimFs();
    const limit = 2000;
    const e = await open(fs, { cacheLimitBytes: limit, targetFileSizeBytes: 16 * 1024 });
    for (let i = 1n; i <= 500n; i += 25n) {
      await append(e, 1n, range(i, i + 25n, 1n, 100), false);
      expect(e.cachedBytes()).toBeLessThanOrEqual(limit);
    }
    expect(e.cachedBytes()).toBeGreaterThan(limit / 2);
    const readsBefore = fs.opCount('read');
    expect(plain(await e.fetchEntriesTo(1n, { low: 1n, high: 501n }))).toEqual(plain(range(1n, 501n, 1n, 100)));
    expect(fs.opCount('read')).toBeGreaterThan(readsBefore);
    // The newest entries are served from the cache without any read.
    const readsMid = fs.opCount('read');
    expect(plain(await e.fetchEntriesTo(1n, { low: 495n, high: 501n }))).toEqual(plain(range(495n, 501n, 1n, 100)));
    expect(fs.opCount('read')).toBe(readsMid);
    expect(plain([(await e.getEntry(1n, 3n)) as RaftEntry])).toEqual(plain([entry(3n, 1n, 100)]));
    await e.close();
  });

  it('lets reads finish while a purge deletes the files they read', async () => {
    const fs = new SimFs();
    const e = await open(fs, { targetFileSizeBytes: 1024, cacheLimitBytes: 0, purgeAfterRotation: false });
    for (let i = 1n; i <= 100n; i += 5n) await append(e, 1n, range(i, i + 5n));
    const files = e.segmentCount();
    const reading = e.fetchEntriesTo(1n, { low: 1n, high: 101n });
    const single = e.getEntry(1n, 2n);
    const b = e.logBatch();
    b.compactTo(1n, 100n);
    const compacting = e.write(b, { sync: true });
    const purging = e.purgeExpiredFiles();
    expect(plain(await reading)).toEqual(plain(range(1n, 101n)));
    expect(plain([(await single) as RaftEntry])).toEqual(plain([entry(2n)]));
    await compacting;
    await purging;
    expect(e.segmentCount()).toBeLessThan(files);
    await e.close();
  });

  it('carries concurrent synced writes on few fdatasyncs (group commit)', async () => {
    const fs = new SimFs();
    const e = await open(fs);
    const before = fs.opCount('datasync');
    await Promise.all(
      Array.from({ length: 64 }, async (_, i) => {
        await append(e, BigInt(i + 1), range(1n, 3n), true);
      }),
    );
    expect(fs.opCount('datasync') - before).toBeLessThanOrEqual(2);
    expect(await e.regionIds()).toHaveLength(64);
    await e.close();
  });

  it('cuts a torn tail off the last file and keeps every intact record', async () => {
    const fs = new SimFs();
    const e = await open(fs);
    await append(e, 1n, range(1n, 11n));
    await e.close();
    const [name] = await segmentFiles(fs);
    const h = await fs.open(`${DIR}/${name as string}`);
    const size = await h.size();
    // Half a record header and garbage: what a torn append leaves behind.
    await h.write(size, Uint8Array.of(0x54, 0x47, 0x4c, 0x52, 9, 9, 9));
    await h.sync();
    await h.close();
    const again = await open(fs);
    expect(again.recovery.truncatedBytes).toBe(7);
    expect(plain(await again.fetchEntriesTo(1n, { low: 1n, high: 11n }))).toEqual(plain(range(1n, 11n)));
    await append(again, 1n, range(11n, 13n));
    await again.close();
    const third = await open(fs);
    expect(third.recovery.truncatedBytes).toBe(0);
    expect(await third.lastIndex(1n)).toBe(12n);
    await third.close();
  });

  it('refuses a torn tail in absolute-consistency mode', async () => {
    const fs = new SimFs();
    const e = await open(fs);
    await append(e, 1n, range(1n, 3n));
    await e.close();
    const [name] = await segmentFiles(fs);
    const h = await fs.open(`${DIR}/${name as string}`);
    await h.write(await h.size(), Uint8Array.of(1, 2, 3));
    await h.sync();
    await h.close();
    await expect(open(fs, { recoveryMode: 'absolute-consistency' })).rejects.toBeInstanceOf(RaftEngineCorruptionError);
  });

  it('fails with a clear error when a file other than the last is damaged', async () => {
    const fs = new SimFs();
    const e = await open(fs, { targetFileSizeBytes: 1024, purgeAfterRotation: false });
    for (let i = 1n; i <= 100n; i += 5n) await append(e, 1n, range(i, i + 5n));
    await e.close();
    const names = await segmentFiles(fs);
    expect(names.length).toBeGreaterThan(2);
    await corrupt(fs, names[0] as string, FILE_HEADER_BYTES + 20, enc.encode('XX'));
    const err = await open(fs).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(err).toBeInstanceOf(RaftEngineCorruptionError);
    expect((err as RaftEngineCorruptionError).code).toBe('KV:RaftEngine:Corruption');
    expect((err as Error).message).toMatch(/not the last file/);
    expect((err as RaftEngineCorruptionError).path).toBe(`${DIR}/${names[0] as string}`);
  });

  it('recovers when the newest file lost its header, and drops files left before a gap', async () => {
    const fs = new SimFs();
    const e = await open(fs, { targetFileSizeBytes: 1024, purgeAfterRotation: false });
    for (let i = 1n; i <= 60n; i += 5n) await append(e, 1n, range(i, i + 5n));
    await e.close();
    const names = await segmentFiles(fs);
    // A leftover of an interrupted purge, far below the live run of files.
    const leftover = await fs.open(`${DIR}/${segmentFileName(0)}`, { create: true });
    await leftover.write(0, enc.encode('old'));
    await leftover.close();
    // An empty newest file, as a crash right after rotation can leave.
    const lastSeq = names.length + 1;
    const fresh = await fs.open(`${DIR}/${segmentFileName(lastSeq)}`, { create: true });
    await fresh.close();
    // Make file 1 look like the gap: remove it so 0 is separated from 2..n+1.
    await fs.unlink(`${DIR}/${names[0] as string}`);
    const again = await open(fs, { targetFileSizeBytes: 1024, purgeAfterRotation: false });
    expect(again.recovery.removedStaleSegments).toEqual([0]);
    expect(await fs.exists(`${DIR}/${segmentFileName(0)}`)).toBe(false);
    expect(await again.lastIndex(1n)).toBe(60n);
    await append(again, 1n, range(61n, 62n));
    await again.close();
    const third = await open(fs, { targetFileSizeBytes: 1024 });
    expect(await third.lastIndex(1n)).toBe(61n);
    await third.close();
  });

  it('stops after an fsync error and reports it as the cause', async () => {
    const fs = new SimFs();
    const e = await open(fs);
    await append(e, 1n, range(1n, 3n));
    fs.failNext('datasync', 'EIO');
    const err = await append(e, 1n, range(3n, 5n)).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(err).toBeInstanceOf(RaftEngineClosedError);
    expect(((err as Error).cause as { code?: string }).code).toBe('EIO');
    await expect(e.lastIndex(1n)).rejects.toBeInstanceOf(RaftEngineClosedError);
    await expect(append(e, 1n, range(3n, 4n))).rejects.toBeInstanceOf(RaftEngineClosedError);
    await e.close();
    // The failed fsync dropped the unsynced record from the disk (fsyncgate); a crash shows it.
    fs.crash(new SeededRng(1));
    const again = await open(fs);
    expect(await again.lastIndex(1n)).toBe(2n);
    await again.close();
  });

  it('validates its configuration', async () => {
    const fs = new SimFs();
    await expect(open(fs, { targetFileSizeBytes: 0 })).rejects.toBeInstanceOf(RangeError);
    await expect(open(fs, { cacheLimitBytes: -1 })).rejects.toBeInstanceOf(RangeError);
    await expect(open(fs, { recoveryMode: 'whatever' as never })).rejects.toBeInstanceOf(RangeError);
  });

  it('rejects a batch made by another engine', async () => {
    const fs = new SimFs();
    const e = await open(fs);
    const foreign = {
      append: () => undefined,
      cutLogs: () => undefined,
      compactTo: () => undefined,
      putRaftState: () => undefined,
      removeRaftState: () => undefined,
      isEmpty: () => false,
      persistSizeBytes: () => 0,
      clear: () => undefined,
    };
    await expect(e.write(foreign)).rejects.toBeInstanceOf(TypeError);
    await e.close();
  });
});
