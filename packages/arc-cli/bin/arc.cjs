#!/usr/bin/env node
// The `arc` command: a committed shim, so npm can link the bin at install time, before anything
// is built. It loads the compiled program from dist/.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const entry = join(__dirname, '..', 'dist', 'bin.js');
if (!existsSync(entry)) {
  process.stderr.write('arc: the command line is not built yet: run `npm run build` in the repository root\n');
  process.exit(1);
}
require(entry);
