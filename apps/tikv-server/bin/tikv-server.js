#!/usr/bin/env node
// The `tikv-server` bin: npm links it at install time, before the app is built.
require('../../../tools/launch-built.cjs')(__dirname, 'tikv-server');
