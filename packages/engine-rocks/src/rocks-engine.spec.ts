import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KvEngine } from '@tikv-ts/engine-traits';
import { runKvEngineSuite } from '@tikv-ts/engine-traits/testing';
import { RocksEngine } from './rocks-engine';

const root = mkdtempSync(join(tmpdir(), 'engine-rocks-spec-'));
let n = 0;

describe('RocksEngine conformance', () => {
  runKvEngineSuite({
    factory: {
      create: () => RocksEngine.open({ path: join(root, `db-${n++}`) }),
      reopen: (closed: KvEngine) => RocksEngine.open({ path: (closed as RocksEngine).path }),
      cleanup: () => {
        rmSync(root, { recursive: true, force: true });
        return Promise.resolve();
      },
    },
    supports: { reopen: true },
  });
});
