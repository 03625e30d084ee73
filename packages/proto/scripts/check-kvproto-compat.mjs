// Checks that every definition in <workspace>/proto has the same wire shape in a kvproto checkout:
//
//   node packages/proto/scripts/check-kvproto-compat.mjs <kvproto-dir> [--allow-missing=pkg1,pkg2]
//
// For every message, field, enum value and RPC of ours it looks up the same fully qualified name
// in kvproto and compares field number, type, type name and label (plus oneof membership, which
// is reported as a note only: wrapping a field in a oneof does not change its encoding), and RPC
// input/output types and streaming. Definitions of packages that kvproto does not define
// (--allow-missing, default grpc.health.v1 and etcdserverpb) are skipped. Needs the buf CLI from
// node_modules; no network. Exit 1 on any mismatch.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const workspaceDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const buf = join(workspaceDir, 'node_modules', '.bin', 'buf');
const kvprotoDir = process.argv[2];
if (!kvprotoDir) {
  console.error('usage: check-kvproto-compat.mjs <kvproto-dir> [--allow-missing=pkg,...]');
  process.exit(2);
}
const allowArg = process.argv.find((a) => a.startsWith('--allow-missing='));
const allowMissing = new Set(
  (allowArg ? allowArg.split('=')[1] : 'grpc.health.v1,etcdserverpb').split(','),
);

function image(moduleDirs, cwd) {
  const out = join(cwd, 'image.json');
  const r = spawnSync(buf, ['build', ...moduleDirs, '-o', out], { cwd, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`buf build failed in ${cwd}`);
  return JSON.parse(readFileSync(out, 'utf8'));
}

function index(img) {
  const m = new Map();
  const walk = (pkg, prefix, msgs, enums) => {
    for (const e of enums ?? [])
      for (const v of e.value)
        m.set(`value ${prefix}.${e.name}.${v.name}`, { pkg, v: `${v.number}` });
    for (const x of msgs ?? []) {
      const n = `${prefix}.${x.name}`;
      m.set(`message ${n}`, { pkg, v: '' });
      for (const f of x.field ?? []) {
        const oneof =
          f.oneofIndex !== undefined && !f.proto3Optional ? x.oneofDecl[f.oneofIndex].name : '';
        m.set(`field ${n}.${f.name}`, {
          pkg,
          v: [f.number, f.type, f.typeName ?? '', f.label].join(' '),
          oneof,
        });
      }
      walk(pkg, n, x.nestedType, x.enumType);
    }
  };
  for (const f of img.file) {
    walk(f.package, `.${f.package}`, f.messageType, f.enumType);
    for (const s of f.service ?? [])
      for (const mm of s.method)
        m.set(`rpc .${f.package}.${s.name}.${mm.name}`, {
          pkg: f.package,
          v: [mm.inputType, mm.outputType, !!mm.clientStreaming, !!mm.serverStreaming].join(' '),
        });
  }
  return m;
}

const tmp = mkdtempSync(join(tmpdir(), 'kvproto-compat-'));
try {
  cpSync(join(kvprotoDir, 'proto'), join(tmp, 'theirs', 'proto'), { recursive: true });
  cpSync(join(kvprotoDir, 'include'), join(tmp, 'theirs', 'include'), { recursive: true });
  writeFileSync(
    join(tmp, 'theirs', 'buf.yaml'),
    'version: v2\nmodules:\n  - path: proto\n  - path: include\n',
  );
  const theirs = index(image([], join(tmp, 'theirs')));
  const ours = index(image([join(workspaceDir, 'proto')], tmp));
  let problems = 0;
  let notes = 0;
  for (const [k, o] of ours) {
    if (allowMissing.has(o.pkg)) continue;
    const t = theirs.get(k);
    if (!t) {
      console.error(`missing in kvproto: ${k}`);
      problems++;
    } else if (t.v !== o.v) {
      console.error(`differs: ${k}: ours ${o.v} / kvproto ${t.v}`);
      problems++;
    } else if ((t.oneof ?? '') !== (o.oneof ?? '')) {
      console.log(`note: ${k}: oneof "${o.oneof}" here, "${t.oneof}" in kvproto (same encoding)`);
      notes++;
    }
  }
  console.log(`checked ${ours.size} definitions: ${problems} mismatches, ${notes} notes`);
  if (problems > 0) process.exitCode = 1;
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
