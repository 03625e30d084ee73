import type { RaftEngine } from '@tikv-ts/engine-traits';
import { runRaftEngineSuite } from '@tikv-ts/engine-traits/testing';
import { SimFs } from '@tikv-ts/util/testing';
import { RaftLogEngine, type RaftLogEngineConfig } from './raft-log-engine';

function simFactory(config: Omit<RaftLogEngineConfig, 'dir'>) {
  const disks = new Map<RaftEngine, SimFs>();
  return {
    async create(): Promise<RaftEngine> {
      const fs = new SimFs();
      const e = await RaftLogEngine.open(fs, { ...config, dir: '/data/raft' });
      disks.set(e, fs);
      return e;
    },
    async reopen(closed: RaftEngine): Promise<RaftEngine> {
      const fs = disks.get(closed);
      if (fs === undefined) throw new Error('Unknown engine');
      const e = await RaftLogEngine.open(fs, { ...config, dir: '/data/raft' });
      disks.set(e, fs);
      return e;
    },
  };
}

describe('RaftLogEngine on SimFs, default config', () => {
  runRaftEngineSuite({ factory: simFactory({}), supports: { reopen: true } });
});

describe('RaftLogEngine on SimFs, 600-byte files and no entry cache', () => {
  runRaftEngineSuite({ factory: simFactory({ targetFileSizeBytes: 600, cacheLimitBytes: 0 }), supports: { reopen: true }, seed: 7 });
});

describe('RaftLogEngine on SimFs, 4 KiB files and a 300-byte cache', () => {
  runRaftEngineSuite({ factory: simFactory({ targetFileSizeBytes: 4096, cacheLimitBytes: 300 }), supports: { reopen: true }, seed: 11 });
});
