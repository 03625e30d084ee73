import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileSystem } from './fs';
import { isErrnoCode } from './errors';
import { NodeFileSystem } from './node';
import { SimFs } from './testing';

// One behavioural suite for every FileSystem implementation (STYLE.md §7).
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

interface Fixture {
  fs: FileSystem;
  root: string;
  cleanup(): void;
}

const implementations: Array<[string, () => Fixture]> = [
  ['SimFs', () => ({ fs: new SimFs(), root: '/data', cleanup: () => undefined })],
  [
    'NodeFileSystem',
    () => {
      const root = mkdtempSync(join(tmpdir(), 'tikv-ts-util-fs-'));
      return { fs: new NodeFileSystem(), root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
    },
  ],
];

describe.each(implementations)('FileSystem conformance: %s', (_name, make) => {
  let fx: Fixture;
  let fs: FileSystem;
  let root: string;
  beforeEach(async () => {
    fx = make();
    fs = fx.fs;
    root = fx.root;
    await fs.mkdir(root);
  });
  afterEach(() => fx.cleanup());

  it('creates, writes, reads, sizes and truncates files', async () => {
    const p = `${root}/a.log`;
    const h = await fs.open(p, { create: true });
    await h.write(0, enc('hello'));
    await h.write(5, enc(' world'));
    expect(await h.size()).toBe(11);
    expect(dec(await h.read(0, 5))).toBe('hello');
    expect(dec(await h.read(6, 100))).toBe('world');
    expect((await h.read(50, 4)).length).toBe(0);
    await h.write(0, enc('J'));
    await h.truncate(5);
    await h.sync();
    await h.datasync();
    await h.close();
    expect(dec(await fs.readFile(p))).toBe('Jello');
  });

  it('zero-fills gaps and extends by truncate', async () => {
    const h = await fs.open(`${root}/gap`, { create: true });
    await h.write(3, enc('x'));
    expect(Array.from(await h.read(0, 4))).toEqual([0, 0, 0, 120]);
    await h.truncate(6);
    expect(Array.from(await h.read(0, 10))).toEqual([0, 0, 0, 120, 0, 0]);
    await h.truncate(1);
    await h.write(2, enc('y'));
    expect(Array.from(await h.read(0, 10))).toEqual([0, 0, 121]);
    await h.close();
  });

  it('copies written data (the caller may reuse its buffer)', async () => {
    const h = await fs.open(`${root}/c`, { create: true });
    const buf = enc('abc');
    await h.write(0, buf);
    buf[0] = 122;
    expect(dec(await h.read(0, 3))).toBe('abc');
    await h.close();
  });

  it('reports ENOENT, EEXIST and honours truncate on open', async () => {
    await expect(fs.open(`${root}/missing`)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.readFile(`${root}/missing`)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.unlink(`${root}/missing`)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.readdir(`${root}/missing`)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.rename(`${root}/missing`, `${root}/x`)).rejects.toMatchObject({ code: 'ENOENT' });
    await fs.writeFileAtomic(`${root}/f`, enc('data'));
    const err: unknown = await fs.open(`${root}/f`, { create: true, exclusive: true }).catch((e: unknown) => e);
    expect(isErrnoCode(err, 'EEXIST')).toBe(true);
    const h = await fs.open(`${root}/f`, { create: true, truncate: true });
    expect(await h.size()).toBe(0);
    await h.close();
  });

  it('lists, renames, unlinks and checks existence', async () => {
    await fs.mkdir(`${root}/d/e`);
    await fs.mkdir(`${root}/d/e`);
    await fs.writeFileAtomic(`${root}/d/b`, enc('1'));
    await fs.writeFileAtomic(`${root}/d/a`, enc('2'));
    expect(await fs.readdir(`${root}/d`)).toEqual(['a', 'b', 'e']);
    await fs.rename(`${root}/d/a`, `${root}/d/b`);
    expect(dec(await fs.readFile(`${root}/d/b`))).toBe('2');
    expect(await fs.exists(`${root}/d/a`)).toBe(false);
    expect(await fs.exists(`${root}/d/b`)).toBe(true);
    expect(await fs.exists(`${root}/d/e`)).toBe(true);
    expect(await fs.exists(`${root}/d/b/x`)).toBe(false);
    await fs.unlink(`${root}/d/b`);
    await fs.syncDir(`${root}/d`);
    expect(await fs.readdir(`${root}/d`)).toEqual(['e']);
  });

  it('writeFileAtomic replaces a file and leaves no temp files', async () => {
    await fs.writeFileAtomic(`${root}/m`, enc('one'));
    await fs.writeFileAtomic(`${root}/m`, enc('two'));
    expect(dec(await fs.readFile(`${root}/m`))).toBe('two');
    expect(await fs.readdir(root)).toEqual(['m']);
  });

  it('rmrf removes trees and ignores missing paths', async () => {
    await fs.mkdir(`${root}/t/u`);
    await fs.writeFileAtomic(`${root}/t/u/f`, enc('x'));
    await fs.rmrf(`${root}/t`);
    expect(await fs.exists(`${root}/t`)).toBe(false);
    await fs.rmrf(`${root}/t`);
  });

  it('fails operations on a closed handle', async () => {
    const h = await fs.open(`${root}/closed`, { create: true });
    await h.close();
    await expect(h.write(0, enc('x'))).rejects.toBeDefined();
  });
});
