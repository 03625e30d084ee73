// Starts a built app from its bin shim (apps/<name>/bin/<name>.js). npm links bins when it
// installs, before anything is built, so the bin is a committed shim rather than dist/main.js;
// without a build it says how to make one instead of failing obscurely.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

module.exports = function launchBuilt(binDir, name) {
  const main = join(binDir, '..', 'dist', 'main.js');
  if (!existsSync(main)) {
    process.stderr.write(`${name} is not built yet: run "npx nx build @tikv-ts/${name}" (npm start builds everything) and try again\n`);
    process.exit(1);
  }
  require(main).run();
};
