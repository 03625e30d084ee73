// Creates the skeleton of a package or app of the map (used once per project).
// Usage: node tools/scaffold.mjs <packages|apps> <name> <layer> <extra-tags,comma> "<purpose>"
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const [kind, name, layer, extra, purpose] = process.argv.slice(2);
const dir = join(kind, name);
mkdirSync(join(dir, 'src'), { recursive: true });
const isApp = kind === 'apps';
const tags = [`layer:${layer}`, isApp ? 'type:app' : 'type:lib', ...(extra ? extra.split(',') : [])];
const write = (file, text) => {
  const p = join(dir, file);
  if (!existsSync(p)) writeFileSync(p, text);
};
const entry = isApp ? 'main' : 'index';
write(
  'package.json',
  JSON.stringify(
    {
      name: `@tikv-ts/${name}`,
      version: '0.1.0',
      private: true,
      main: `./dist/${entry}.js`,
      types: `./dist/${entry}.d.ts`,
      exports: {
        '.': {
          '@tikv-ts/source': `./src/${entry}.ts`,
          types: `./dist/${entry}.d.ts`,
          default: `./dist/${entry}.js`,
        },
        './package.json': './package.json',
      },
      dependencies: {},
      nx: { tags },
    },
    null,
    2,
  ) + '\n',
);
write('tsconfig.json', JSON.stringify({ files: [], include: [], references: [{ path: './tsconfig.lib.json' }, { path: './tsconfig.spec.json' }] }, null, 2) + '\n');
write(
  'tsconfig.lib.json',
  JSON.stringify(
    {
      extends: '../../tsconfig.base.json',
      compilerOptions: { rootDir: 'src', outDir: 'dist', tsBuildInfoFile: 'dist/tsconfig.lib.tsbuildinfo' },
      include: ['src/**/*.ts'],
      exclude: ['src/**/*.spec.ts', 'src/**/testdata/**'],
      references: [],
    },
    null,
    2,
  ) + '\n',
);
write(
  'tsconfig.spec.json',
  JSON.stringify(
    {
      extends: '../../tsconfig.base.json',
      compilerOptions: { outDir: './out-tsc/jest', types: ['jest', 'node'], noEmit: false, tsBuildInfoFile: 'out-tsc/jest/tsconfig.spec.tsbuildinfo' },
      include: ['src/**/*.ts'],
      references: [{ path: './tsconfig.lib.json' }],
    },
    null,
    2,
  ) + '\n',
);
write('jest.config.cjs', `module.exports = { ...require('../../jest.preset.cjs'), displayName: '${name}' };\n`);
write('eslint.config.mjs', `import base from '../../eslint.config.mjs';\n\nexport default [...base];\n`);
write(`src/${entry}.ts`, isApp ? `// ${purpose}\nexport {};\n` : `// ${purpose}\nexport {};\n`);
write(
  'README.md',
  `# @tikv-ts/${name}\n\n${purpose}\n\n- Layer: ${layer} (tags: ${tags.map((t) => '`' + t + '`').join(', ')})\n\n## Public API\n\nTo be filled by the issue that builds this ${isApp ? 'app' : 'package'}.\n\n## Tests\n\n\`npx nx test ${name}\`\n`,
);
