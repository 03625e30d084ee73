// Lets a plain `node` child process run this repository's TypeScript sources: .ts files are
// transpiled (no type check) with the workspace's `typescript` package, and transpiled output is
// cached on disk so only the first child pays for loading the compiler. Run with
// `node --conditions=@tikv-ts/source -r <this file> <entry.ts>` so workspace packages resolve to
// their sources. Test support only.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const crypto = require('node:crypto');

const cacheDir = process.env.TS_REGISTER_CACHE || path.join(os.tmpdir(), `tikv-ts-register-${process.getuid ? process.getuid() : 0}`);
let ts;

require.extensions['.ts'] = function compileTs(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const hash = crypto.createHash('sha1').update(filename).update('\0').update(source).digest('hex');
  const cached = path.join(cacheDir, `${hash}.js`);
  let output;
  try {
    output = fs.readFileSync(cached, 'utf8');
  } catch {
    ts = ts || require('typescript');
    output = ts.transpileModule(source, {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
    }).outputText;
    fs.mkdirSync(cacheDir, { recursive: true });
    const tmp = `${cached}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, output);
    fs.renameSync(tmp, cached);
  }
  module._compile(output, filename);
};
