'use strict';
const { join } = require('node:path');

/** The repository's root directory (this package lives in packages/devkit). */
const ROOT = join(__dirname, '..', '..', '..');

module.exports = { ROOT };
