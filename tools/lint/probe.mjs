// Lints virtual source files with the workspace's ESLint configs, as `nx lint` does: from the
// project's folder, so its own eslint.config.mjs applies.
// stdin: JSON [{ filePath, source }] with paths relative to the workspace root;
// stdout: JSON [[{ ruleId, fatal, message }]] in the same order.
import { ESLint } from 'eslint';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const probes = JSON.parse(readFileSync(0, 'utf8'));
const linters = new Map();
const out = [];
for (const { filePath, source } of probes) {
  const project = resolve(root, filePath.split('/').slice(0, 2).join('/'));
  if (!linters.has(project)) linters.set(project, new ESLint({ cwd: project }));
  const [result] = await linters.get(project).lintText(source, { filePath: resolve(root, filePath) });
  out.push((result?.messages ?? []).map(({ ruleId, fatal, message }) => ({ ruleId, fatal, message })));
}
process.stdout.write(JSON.stringify(out));
