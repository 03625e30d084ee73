import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RocksEngine } from './rocks-engine';

const root = mkdtempSync(join(tmpdir(), 'engine-rocks-gets-'));
let n = 0;
const b = (s: string): Uint8Array => new TextEncoder().encode(s);

afterAll(() => rmSync(root, { recursive: true, force: true }));

async function withEngine(run: (e: RocksEngine) => Promise<void>): Promise<void> {
  const e = await RocksEngine.open({ path: join(root, `db-${n++}`) });
  try {
    await run(e);
  } finally {
    await e.close();
  }
}

describe('point gets batched until the check phase', () => {
  it('gets issued from separate callbacks of one loop iteration all resolve with their own values', () =>
    withEngine(async (e) => {
      const wb = e.writeBatch();
      for (let i = 0; i < 50; i++) wb.put('default', b(`k${i}`), b(`v${i}`));
      await wb.write();
      // Separate microtask checkpoints (as separate socket callbacks would be).
      const gets = await Promise.all(
        Array.from(
          { length: 50 },
          (_, i) =>
            new Promise<Uint8Array | undefined>((resolve, reject) =>
              process.nextTick(() => e.get('default', b(`k${i}`)).then(resolve, reject)),
            ),
        ),
      );
      expect(gets.map((v) => (v === undefined ? undefined : new TextDecoder().decode(v)))).toEqual(
        Array.from({ length: 50 }, (_, i) => `v${i}`),
      );
      expect(await e.get('default', b('absent'))).toBeUndefined();
    }));

  it('a get sees a write that completed before it was called, even if the batch is sent later', () =>
    withEngine(async (e) => {
      await e.put('default', b('a'), b('1'));
      const first = e.get('default', b('a'));
      await e.put('default', b('a'), b('2'));
      const second = e.get('default', b('a'));
      expect(new TextDecoder().decode((await second) as Uint8Array)).toBe('2');
      expect(['1', '2']).toContain(new TextDecoder().decode((await first) as Uint8Array));
    }));

  it('a get on a snapshot closed right after it was issued still resolves from that snapshot', () =>
    withEngine(async (e) => {
      await e.put('default', b('a'), b('old'));
      const s = e.snapshot();
      const pending = s.get('default', b('a'));
      const pendingWrite = s.get('write', b('a'));
      s.close();
      await e.put('default', b('a'), b('new'));
      expect(new TextDecoder().decode((await pending) as Uint8Array)).toBe('old');
      expect(await pendingWrite).toBeUndefined();
    }));

  it('gets queued when the engine closes are answered, not left hanging', async () => {
    const e = await RocksEngine.open({ path: join(root, `db-${n++}`) });
    await e.put('default', b('a'), b('1'));
    const pending = e.get('default', b('a'));
    await e.close();
    expect(new TextDecoder().decode((await pending) as Uint8Array)).toBe('1');
  });
});
