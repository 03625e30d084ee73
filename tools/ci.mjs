// The whole check that CI runs (`npm test`): generated code is fresh, then build, typecheck
// (specs included), lint and test every project. Exits non-zero on the first failure and ends
// with one summary line of every Jest project's counts ("N passed, N failed").
import { spawn } from 'node:child_process';

const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', FORCE_COLOR: '0' };
// CI checks everything from scratch, never from a task cache left on the machine.
if (process.env.CI) env.NX_SKIP_NX_CACHE = 'true';
const steps = [
  ['node', ['tools/proto-check.mjs']],
  ['npx', ['nx', 'run-many', '-t', 'build', '--outputStyle=static']],
  ['npx', ['nx', 'run-many', '-t', 'typecheck', '--outputStyle=static']],
  ['npx', ['nx', 'run-many', '-t', 'lint', '--outputStyle=static']],
  ['npx', ['nx', 'run-many', '-t', 'test', '--outputStyle=static', '--parallel=2']],
];

const totals = { passed: 0, failed: 0, skipped: 0, suites: 0 };

/** Adds a Jest summary line ("Tests: 1 failed, 2 skipped, 3 passed, 6 total") to the totals. */
function count(line) {
  const m = /^\s*Tests:\s+(.*) total/.exec(line);
  if (m === null) return;
  totals.suites += 1;
  for (const [, n, kind] of m[1].matchAll(/(\d+) (passed|failed|skipped|todo)/g)) {
    if (kind === 'todo') totals.skipped += Number(n);
    else totals[kind] += Number(n);
  }
}

function run(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let pending = '';
    const scan = (chunk, out) => {
      out.write(chunk);
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      lines.forEach(count);
    };
    child.stdout.on('data', (c) => scan(c, process.stdout));
    child.stderr.on('data', (c) => scan(c, process.stderr));
    child.on('close', (code, signal) => {
      count(pending);
      resolve(code ?? (signal === null ? 1 : 128));
    });
  });
}

for (const [cmd, args] of steps) {
  console.log(`\n=== ${cmd} ${args.join(' ')}`);
  const status = await run(cmd, args);
  if (status !== 0) {
    console.error(`\nFAILED: ${cmd} ${args.join(' ')} (exit ${status})`);
    if (totals.suites > 0) console.log(`\njest: ${totals.passed} passed, ${totals.failed} failed`);
    process.exit(status);
  }
}
console.log(`\nAll checks passed (${totals.suites} Jest projects)`);
console.log(`jest: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
