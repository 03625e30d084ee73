import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

// Lints a virtual source file placed inside a real package with the workspace's own ESLint
// config (the ESLint CLI reading stdin), so the layer rules of ARCHITECTURE.md are checked
// exactly as `nx lint` checks them.
const root = resolve(__dirname, '../..');

interface LintMessage {
  ruleId: string | null;
  fatal?: boolean;
  message: string;
}

function boundaryErrors(project: string, importFrom: string): string[] {
  const filePath = `${project}/src/lint-probe.ts`;
  const source = `import { x } from '${importFrom}';\nexport const y = x;\n`;
  const run = spawnSync(
    process.execPath,
    [resolve(root, 'node_modules/eslint/bin/eslint.js'), '--stdin', '--stdin-filename', filePath, '--format', 'json'],
    { cwd: root, input: source, encoding: 'utf8' },
  );
  const parsed = JSON.parse(run.stdout) as { messages: LintMessage[] }[];
  const messages = parsed[0]?.messages ?? [];
  const fatal = messages.find((m) => m.fatal === true);
  if (fatal !== undefined) throw new Error(`ESLint could not lint ${filePath}: ${fatal.message}`);
  return messages.filter((m) => m.ruleId === '@nx/enforce-module-boundaries').map((m) => m.message);
}

describe('module boundaries (layer order)', () => {
  it('rejects an upward import from layer 0 to layer 3', () => {
    expect(boundaryErrors('packages/codec', '@tikv-ts/storage').join('\n')).toMatch(
      /tagged with "layer:0" can only depend on libs tagged with "scope:base"/,
    );
  });

  it('rejects an import within one layer (engine-rocks -> engine-memory)', () => {
    expect(boundaryErrors('packages/engine-rocks', '@tikv-ts/engine-memory').length).toBeGreaterThan(0);
  });

  it('rejects a library importing an app', () => {
    expect(boundaryErrors('packages/server', '@tikv-ts/tikv-server').length).toBeGreaterThan(0);
  });

  it('rejects storage naming an engine implementation although it is a lower layer', () => {
    expect(boundaryErrors('packages/storage', '@tikv-ts/engine-rocks').join('\n')).toMatch(
      /kind:engine-impl/,
    );
  });

  it('rejects raft importing anything but proto and util', () => {
    expect(boundaryErrors('packages/raft', '@tikv-ts/codec').join('\n')).toMatch(/scope:raft-deps/);
  });

  it('accepts downward imports (server -> storage, codec -> util)', () => {
    expect(boundaryErrors('packages/server', '@tikv-ts/storage')).toEqual([]);
    expect(boundaryErrors('packages/codec', '@tikv-ts/util')).toEqual([]);
  });
});
