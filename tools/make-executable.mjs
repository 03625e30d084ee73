#!/usr/bin/env node
// Marks the given files executable (a built app's bin). tsc writes files without the executable
// bit, and on a fresh `npm ci` the bin targets do not exist yet when npm links them, so the
// build sets the bit itself; otherwise `npx tikv-server` would fail with "Permission denied".
import { chmodSync } from 'node:fs';

for (const file of process.argv.slice(2)) chmodSync(file, 0o755);
