import nx from '@nx/eslint-plugin';
import { moduleBoundariesOptions, specModuleBoundariesOptions } from './tools/lint/module-boundaries.mjs';

// Ambient time, randomness and I/O are banned in layers 0-4 (STYLE.md §2); the real adapters live
// in util/src/node and in engine-rocks, and are exempted below.
const determinismBans = {
  'no-restricted-globals': [
    'error',
    { name: 'setTimeout', message: 'Use the injected Timers from @tikv-ts/util' },
    { name: 'setInterval', message: 'Use the injected Timers from @tikv-ts/util' },
    { name: 'setImmediate', message: 'Use the injected Timers from @tikv-ts/util' },
    { name: 'WeakRef', message: 'Not deterministic' },
    { name: 'FinalizationRegistry', message: 'Not deterministic' },
  ],
  'no-restricted-properties': [
    'error',
    { object: 'Date', property: 'now', message: 'Use the injected Clock' },
    { object: 'Math', property: 'random', message: 'Use the injected Rng' },
    { object: 'performance', property: 'now', message: 'Use the injected Clock' },
    { object: 'crypto', property: 'randomUUID', message: 'Use the injected Rng' },
  ],
  'no-restricted-syntax': [
    'error',
    { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Use the injected Clock' },
  ],
  'no-restricted-imports': [
    'error',
    {
      paths: ['fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'net', 'node:net', 'child_process', 'node:child_process', 'worker_threads', 'node:worker_threads'].map((name) => ({
        name,
        message: 'I/O goes through injected interfaces (FileSystem, Transport); see STYLE.md §2',
      })),
    },
  ],
};

/**
 * The determinism bans of STYLE.md §2 for one project's sources. Projects of layers 0-4 (except
 * engine-rocks, a native binding) add this block to their eslint.config.mjs; `allow` lists
 * folders of real adapters (util/src/node). Specs are exempt.
 */
export function deterministicSources({ allow = [] } = {}) {
  return { files: ['src/**/*.ts'], ignores: ['src/**/*.spec.ts', ...allow], rules: determinismBans };
}

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  { ignores: ['**/dist', '**/out-tsc', '**/node_modules', '**/coverage', 'packages/proto/src/generated/**', '**/*.cjs', '**/*.mjs', 'tools/**'] },
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': ['error', moduleBoundariesOptions],
    },
  },
  {
    files: ['**/*.spec.ts'],
    rules: { '@nx/enforce-module-boundaries': ['error', specModuleBoundariesOptions] },
  },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: {
        // lint-probe.ts files exist only in tests/lint, which lints them from stdin.
        projectService: {
          allowDefaultProject: [
            'packages/*/src/lint-probe.ts',
            'packages/*/src/lint-probe.spec.ts',
            'packages/util/src/node/lint-probe.ts',
          ],
          maximumDefaultProjectFileMatchCount_THIS_WILL_SLOW_DOWN_LINTING: 32,
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
];
