// Regenerates the TypeScript of packages/proto from the .proto files in <workspace>/proto.
//
//   node packages/proto/scripts/generate.mjs [outBase]
//
// Writes <outBase>/src/generated (outBase defaults to packages/proto). The output directory is
// emptied first so that removed .proto files leave no stale .ts behind. Uses the buf CLI and the
// ts-proto plugin installed in the workspace's node_modules (local plugin, no network).
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const workspaceDir = resolve(packageDir, '..', '..');

/**
 * Runs buf generate so that the output lands in `<outBase>/src/generated`.
 * @param {string} outBase absolute directory
 */
export function generate(outBase) {
  const target = join(outBase, 'src', 'generated');
  rmSync(target, { recursive: true, force: true });
  const buf = join(workspaceDir, 'node_modules', '.bin', 'buf');
  if (!existsSync(buf)) throw new Error(`buf CLI not found at ${buf}; run npm install`);
  const r = spawnSync(
    buf,
    [
      'generate',
      join(workspaceDir, 'proto'),
      '--template',
      join(packageDir, 'buf.gen.yaml'),
      '--output',
      outBase,
    ],
    { cwd: packageDir, stdio: 'inherit' },
  );
  if (r.status !== 0) throw new Error(`buf generate failed (exit ${r.status ?? r.signal})`);
  return target;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outBase = resolve(process.argv[2] ?? packageDir);
  const target = generate(outBase);
  console.log(`generated ${target}`);
}
