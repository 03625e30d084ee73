// Lints virtual source files with the workspace's ESLint config in one process.
// stdin: JSON [{ filePath, source }]; stdout: JSON [[{ ruleId, fatal, message }]] in the same order.
import { ESLint } from 'eslint';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const probes = JSON.parse(readFileSync(0, 'utf8'));
const eslint = new ESLint({ cwd: root });
const out = [];
for (const { filePath, source } of probes) {
  const [result] = await eslint.lintText(source, { filePath: resolve(root, filePath) });
  out.push((result?.messages ?? []).map(({ ruleId, fatal, message }) => ({ ruleId, fatal, message })));
}
process.stdout.write(JSON.stringify(out));
