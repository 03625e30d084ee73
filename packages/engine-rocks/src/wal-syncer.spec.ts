import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WalSyncer } from './wal-syncer';

describe('WalSyncer', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wal-syncer-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('shares rounds between concurrent callers (group commit) and follows WAL switches', async () => {
    writeFileSync(join(dir, '000004.log'), 'a');
    writeFileSync(join(dir, '000005.log'), 'b');
    writeFileSync(join(dir, 'OPTIONS-000001'), 'x');
    let current = 5;
    let rounds = 0;
    const syncer = new WalSyncer(dir, () => {
      rounds++;
      return Promise.resolve({ number: current });
    });
    await Promise.all(Array.from({ length: 20 }, () => syncer.sync()));
    // One round for the first caller, at most one more for everyone who came during it.
    expect(rounds).toBeLessThanOrEqual(2);

    // RocksDB switches to a new WAL and deletes an old one.
    writeFileSync(join(dir, '000007.log'), 'c');
    unlinkSync(join(dir, '000004.log'));
    current = 7;
    await syncer.sync();
    await syncer.sync();
    await syncer.close();
    await expect(syncer.sync()).rejects.toThrow(/closed/);
  });

  it('reports a failing round to its callers', async () => {
    const syncer = new WalSyncer(dir, () => Promise.reject(new Error('binding failed')));
    await expect(syncer.sync()).rejects.toThrow('binding failed');
    await syncer.close();
  });
});
