import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CF_OPTIONS, ROCKS_BLOCK_CACHE_BYTES_PER_CF, resolveCfOptions, rocksMemoryBoundBytes, rocksOptionsFromTikvConfig } from './options';
import { RocksEngine } from './rocks-engine';

describe('RocksEngine options', () => {
  it('computes the memory bound from block caches and memtables', () => {
    const MiB = 1024 * 1024;
    // Defaults: caches for default and write, 4+4+2+2 MiB memtables twice each.
    expect(rocksMemoryBoundBytes({})).toBe(2 * ROCKS_BLOCK_CACHE_BYTES_PER_CF + 2 * (4 + 4 + 2 + 2) * MiB);
    expect(rocksMemoryBoundBytes({ cfs: { default: { blockCache: false, writeBufferSizeBytes: MiB, maxWriteBufferNumber: 3 } } })).toBe(
      ROCKS_BLOCK_CACHE_BYTES_PER_CF + 3 * MiB + 2 * (4 + 2 + 2) * MiB,
    );
    expect(resolveCfOptions({ cfs: { lock: { bloomFilterBitsPerKey: 0 } } }, 'lock')).toEqual({ ...DEFAULT_CF_OPTIONS.lock, bloomFilterBitsPerKey: 0 });
  });

  it('maps a TiKV-style [rocksdb] section and rejects compression this build lacks', () => {
    const o = rocksOptionsFromTikvConfig('/data', {
      'max-open-files': 100,
      'memory-limit': 1 << 30,
      defaultcf: { 'write-buffer-size': 1 << 20, 'block-cache': false, 'compression-per-level': ['no', 'no'] },
    });
    expect(o).toMatchObject({ path: '/data', maxOpenFiles: 100, memoryLimitBytes: 1 << 30 });
    expect(o.cfs?.default).toEqual({ writeBufferSizeBytes: 1 << 20, blockCache: false, compression: 'none' });
    expect(() => rocksOptionsFromTikvConfig('/data', { writecf: { 'compression-per-level': ['no', 'lz4'] } })).toThrow(RangeError);
  });

  it('refuses to open when the memory bound exceeds memoryLimitBytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'engine-rocks-opts-'));
    try {
      await expect(RocksEngine.open({ path: dir, memoryLimitBytes: 1024 })).rejects.toThrow(RangeError);
      const small = { blockCache: false, writeBufferSizeBytes: 256 * 1024, maxWriteBufferNumber: 2 };
      const e = await RocksEngine.open({ path: dir, memoryLimitBytes: 4 * 1024 * 1024, cfs: { default: small, write: small, lock: small, raft: small } });
      await e.put('default', new Uint8Array([1]), new Uint8Array([2]));
      await e.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails to open a directory another engine holds with EngineIoError', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'engine-rocks-lock-'));
    try {
      const a = await RocksEngine.open({ path: dir });
      await expect(RocksEngine.open({ path: dir })).rejects.toMatchObject({ code: 'KV:Engine:Io' });
      await a.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
