// The main job (`npm start`). Until tikv-server and pd-server exist it builds every project and
// reports what is built so far: each project with the public names its build exports.
// Once the servers exist it starts the local cluster with the dashboard.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' };
console.log('Building every project (nx run-many -t build)...');
const build = spawnSync('npx', ['nx', 'run-many', '-t', 'build', '--outputStyle=static'], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env,
});
if (build.status !== 0) {
  console.error('Build failed; run `npx nx run-many -t build` to see why');
  process.exit(build.status ?? 1);
}

function exportedNames(dir) {
  const dts = ['index.d.ts', 'main.d.ts'].map((f) => join(dir, 'dist', f)).find(existsSync);
  if (dts === undefined) return [];
  const text = readFileSync(dts, 'utf8');
  const names = new Set();
  for (const m of text.matchAll(/export \* (?:as (\w+) )?from '\.\/([\w/-]+)'/g)) names.add(m[1] ?? `${m[2]}.*`);
  for (const m of text.matchAll(/export (?:declare )?(?:abstract )?(?:class|function|const|interface|type|enum) (\w+)/g)) names.add(m[1]);
  for (const m of text.matchAll(/export (?:type )?\{([^}]*)\}/g))
    for (const n of m[1].split(',')) if (n.trim()) names.add(n.trim().split(/\s+as\s+/).pop());
  return [...names];
}

console.log('\nWhat is built so far (project: public exports):\n');
for (const group of ['packages', 'apps']) {
  for (const name of readdirSync(group).sort()) {
    const names = exportedNames(join(group, name));
    const shown = names.length === 0 ? '(nothing yet)' : `${names.length} exports: ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', ...' : ''}`;
    console.log(`  ${group}/${name.padEnd(20)} ${shown}`);
  }
}
console.log('\nThe servers (tikv-server, pd-server) and the local cluster with its dashboard are not built yet.');
