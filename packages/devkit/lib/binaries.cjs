'use strict';
const { accessSync, constants } = require('node:fs');
const { delimiter, join } = require('node:path');

// Where system daemons live; not always on a user's PATH.
const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/local/bin', '/usr/bin'];

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * A program's path: `$<envVar>` when that is set (and executable; null otherwise, so a wrong
 * override is never silently replaced), else the first `name` on PATH or in the sbin
 * directories; null when there is none.
 */
function findBinary(name, { envVar } = {}) {
  const override = envVar ? process.env[envVar] : undefined;
  if (override) return isExecutable(override) ? override : null;
  const dirs = [...(process.env.PATH || '').split(delimiter), ...SBIN_DIRS];
  const dir = dirs.find((d) => d && isExecutable(join(d, name)));
  return dir ? join(dir, name) : null;
}

/** nginx: $NGINX_BIN, else on PATH or in the sbin directories. */
const findNginx = () => findBinary('nginx', { envVar: 'NGINX_BIN' });
/** redis-server: $REDIS_SERVER, else on PATH or in the sbin directories. */
const findRedisServer = () => findBinary('redis-server', { envVar: 'REDIS_SERVER' });

module.exports = { findBinary, findNginx, findRedisServer, isExecutable };
