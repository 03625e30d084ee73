// The whole check that CI runs (`npm test`): generated code is fresh, then build, typecheck
// (specs included), lint and test every project. Exits non-zero on the first failure.
import { spawnSync } from 'node:child_process';

const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', FORCE_COLOR: '0' };
const steps = [
  ['node', ['tools/proto-check.mjs']],
  ['npx', ['nx', 'run-many', '-t', 'build', '--outputStyle=static']],
  ['npx', ['nx', 'run-many', '-t', 'typecheck', '--outputStyle=static']],
  ['npx', ['nx', 'run-many', '-t', 'lint', '--outputStyle=static']],
  ['npx', ['nx', 'run-many', '-t', 'test', '--outputStyle=static', '--parallel=1']],
];
for (const [cmd, args] of steps) {
  console.log(`\n=== ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`\nFAILED: ${cmd} ${args.join(' ')} (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}
console.log('\nAll checks passed');
