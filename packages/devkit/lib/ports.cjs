'use strict';
const { createServer } = require('node:net');

/**
 * A TCP port that was free a moment ago: bound on `host` with port 0 (the OS picks), then
 * released. Nothing listens on it afterwards, which also makes it a "refused" address.
 */
function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

module.exports = { freePort };
