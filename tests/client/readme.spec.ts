// Runs every ```ts block of packages/client/README.md against a real cluster, so the examples
// stay true: imports of '@tikv-ts/client' are bound to the real package, the block is
// transpiled with TypeScript and awaited.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as clientApi from '@tikv-ts/client';
import * as ts from 'typescript';
import { type TestCluster, cleanupDirs, dec, enc, startCluster } from './cluster';

jest.setTimeout(120000);

const README = join(__dirname, '..', '..', 'packages', 'client', 'README.md');

function blocks(): string[] {
  const md = readFileSync(README, 'utf8');
  return [...md.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
}

type Example = (pdUrl: string, e: typeof enc, d: typeof dec, assert: (c: unknown) => void, api: typeof clientApi) => Promise<void>;

function compile(code: string): Example {
  const body = code.replace(/^import \{([^}]*)\} from '@tikv-ts\/client';$/gm, 'const {$1} = __client;');
  const src = `module.exports = async (PD_URL, enc, dec, assert, __client) => {\n${body}\n};`;
  const js = ts.transpileModule(src, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS } }).outputText;
  const mod: { exports?: Example } = {};
  new Function('module', 'exports', js)(mod, {});
  if (mod.exports === undefined) throw new Error('example did not compile');
  return mod.exports;
}

describe('README examples', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster();
  });

  afterAll(async () => {
    await cluster?.stop();
    cleanupDirs();
  });

  it('has examples', () => {
    expect(blocks().length).toBeGreaterThanOrEqual(3);
  });

  it.each(blocks().map((b, i) => [i, b] as const))('example %i runs', async (_i, code) => {
    const run = compile(code);
    const assert = (c: unknown): void => {
      if (!c) throw new Error('README example assertion failed');
    };
    await run(cluster.pdUrl, enc, dec, assert, clientApi);
  });
});
