// Fails (exit 1) when packages/proto/src/generated is not what the generator produces from
// proto/*.proto right now: regenerates into a temporary directory and compares file by file.
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { generate } from '../packages/proto/scripts/generate.mjs';

const committed = new URL('../packages/proto/src/generated/', import.meta.url).pathname;

function listFiles(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(relative(dir, join(entry.parentPath ?? entry.path, entry.name)));
  }
  return out.sort();
}

const tmp = mkdtempSync(join(tmpdir(), 'proto-check-'));
try {
  const fresh = generate(tmp);
  const a = new Set(listFiles(committed));
  const b = new Set(listFiles(fresh));
  const problems = [];
  for (const f of b) {
    if (!a.has(f)) problems.push(`missing: packages/proto/src/generated/${f}`);
    else if (!readFileSync(join(committed, f)).equals(readFileSync(join(fresh, f))))
      problems.push(`differs: packages/proto/src/generated/${f}`);
  }
  for (const f of a)
    if (!b.has(f))
      problems.push(`stale (not generated any more): packages/proto/src/generated/${f}`);
  if (problems.length > 0) {
    console.error(
      'proto-check: generated code is out of date; run `npx nx run @tikv-ts/proto:generate`',
    );
    for (const p of problems) console.error(`  ${p}`);
    process.exitCode = 1;
  } else {
    console.log(`proto-check: ${b.size} generated files are up to date`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
