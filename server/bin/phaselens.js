#!/usr/bin/env node
'use strict';
// The CLI runs from the compiled library (npm ci builds it through the root "prepare" script).
const path = require('node:path');
const fs = require('node:fs');
const main = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!fs.existsSync(main)) {
  process.stderr.write('phaselens: not built yet; run "npm run build" in the repository root\n');
  process.exit(1);
}
require(main)
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));
