import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

// Lints virtual source files placed inside real packages with the workspace's own ESLint config
// (tools/lint/probe.mjs, one ESLint process for all probes), so the layer rules of
// ARCHITECTURE.md are checked exactly as `nx lint` checks them.
const root = resolve(__dirname, '../..');

interface LintMessage {
  ruleId: string | null;
  fatal?: boolean;
  message: string;
}

interface Probe {
  project: string;
  importFrom?: string;
  source?: string;
  spec?: boolean;
  folder?: string;
}

const AMBIENT = 'export const t = Date.now() + Math.random();\nsetTimeout(() => undefined, 1);\n';

const probes = {
  codecToStorage: { project: 'packages/codec', importFrom: '@tikv-ts/storage' },
  batchToPd: { project: 'packages/batch-system', importFrom: '@tikv-ts/pd' },
  rocksToMemory: { project: 'packages/engine-rocks', importFrom: '@tikv-ts/engine-memory' },
  serverToApp: { project: 'packages/server', importFrom: '@tikv-ts/tikv-server' },
  storageToRocks: { project: 'packages/storage', importFrom: '@tikv-ts/engine-rocks' },
  storageSpecToMemory: { project: 'packages/storage', importFrom: '@tikv-ts/engine-memory', spec: true },
  storageToMemory: { project: 'packages/storage', importFrom: '@tikv-ts/engine-memory' },
  codecSpecToStorage: { project: 'packages/codec', importFrom: '@tikv-ts/storage', spec: true },
  raftToCodec: { project: 'packages/raft', importFrom: '@tikv-ts/codec' },
  serverToStorage: { project: 'packages/server', importFrom: '@tikv-ts/storage' },
  codecToUtil: { project: 'packages/codec', importFrom: '@tikv-ts/util' },
  raftAmbient: { project: 'packages/raft', source: AMBIENT },
  raftSpecAmbient: { project: 'packages/raft', source: AMBIENT, spec: true },
  utilNodeAmbient: { project: 'packages/util', source: AMBIENT, folder: 'src/node' },
  raftFs: { project: 'packages/raft', source: "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n" },
} satisfies Record<string, Probe>;

type ProbeName = keyof typeof probes;
let errors: Record<ProbeName, string[]>;
let bans: Record<ProbeName, string[]>;

beforeAll(() => {
  const entries = Object.entries(probes) as [ProbeName, Probe][];
  const input = entries.map(([, p]) => ({
    filePath: `${p.project}/${p.folder ?? 'src'}/lint-probe${p.spec === true ? '.spec' : ''}.ts`,
    source: p.source ?? `import { x } from '${p.importFrom ?? ''}';\nexport const y = x;\n`,
  }));
  const run = spawnSync(process.execPath, [resolve(root, 'tools/lint/probe.mjs')], {
    cwd: root,
    input: JSON.stringify(input),
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`tools/lint/probe.mjs failed: ${run.stderr}`);
  const results = JSON.parse(run.stdout) as LintMessage[][];
  errors = {} as Record<ProbeName, string[]>;
  bans = {} as Record<ProbeName, string[]>;
  entries.forEach(([name], i) => {
    const messages = results[i] ?? [];
    const fatal = messages.find((m) => m.fatal === true);
    if (fatal !== undefined) throw new Error(`ESLint could not lint probe ${name}: ${fatal.message}`);
    errors[name] = messages
      .filter((m) => m.ruleId === '@nx/enforce-module-boundaries')
      .map((m) => m.message);
    bans[name] = messages
      .filter((m) => m.ruleId !== null && m.ruleId.startsWith('no-restricted-'))
      .map((m) => m.ruleId as string);
  });
}, 120_000);

describe('module boundaries (layer order)', () => {
  it('rejects an upward import (layer 1 -> layer 4)', () => {
    expect(errors.batchToPd.join('\n')).toMatch(
      /tagged with "layer:1" can only depend on libs tagged with "layer:0"/,
    );
  });

  it('rejects an upward import that would also close a cycle (codec -> storage)', () => {
    expect(errors.codecToStorage.length).toBeGreaterThan(0);
  });

  it('rejects an import within one layer (engine-rocks -> engine-memory)', () => {
    expect(errors.rocksToMemory.length).toBeGreaterThan(0);
  });

  it('rejects a library importing an app', () => {
    expect(errors.serverToApp.length).toBeGreaterThan(0);
  });

  it('rejects storage naming an engine implementation although it is a lower layer', () => {
    expect(errors.storageToRocks.join('\n')).toMatch(/kind:engine-impl/);
  });

  it('lets a spec of storage run on an engine implementation, but not storage itself', () => {
    expect(errors.storageSpecToMemory).toEqual([]);
    expect(errors.storageToMemory.length).toBeGreaterThan(0);
  });

  it('keeps the layer order in specs too', () => {
    expect(errors.codecSpecToStorage.length).toBeGreaterThan(0);
  });

  it('rejects raft importing anything but proto and util', () => {
    expect(errors.raftToCodec.join('\n')).toMatch(/scope:raft-deps/);
  });

  it('accepts downward imports (server -> storage, codec -> util)', () => {
    expect(errors.serverToStorage).toEqual([]);
    expect(errors.codecToUtil).toEqual([]);
  });
});

describe('determinism bans (layers 0-4)', () => {
  it('reject ambient time, randomness and global timers in library sources', () => {
    expect(bans.raftAmbient.sort()).toEqual([
      'no-restricted-globals',
      'no-restricted-properties',
      'no-restricted-properties',
    ]);
  });

  it('reject node:fs in library sources', () => {
    expect(bans.raftFs).toEqual(['no-restricted-imports']);
  });

  it('allow them in specs and in util/src/node', () => {
    expect(bans.raftSpecAmbient).toEqual([]);
    expect(bans.utilNodeAmbient).toEqual([]);
  });
});
