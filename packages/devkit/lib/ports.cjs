'use strict';
const { readFileSync } = require('node:fs');
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

/** /proc/net/tcp states of a connection its owner still holds open: ESTABLISHED, CLOSE_WAIT. */
const OPEN_STATES = new Set(['01', '08']);

/**
 * How many IPv4 TCP connections to `address` ("127.0.0.1:port") some process on this machine
 * still holds open (Linux, /proc/net/tcp): established ones, and those whose peer has closed but
 * whose owner has not yet noticed (CLOSE_WAIT). A kept-alive connection nginx holds to a replica
 * that was killed stays CLOSE_WAIT until nginx's event loop has seen the close; until then nginx
 * may still write a request on it.
 */
function openConnectionsTo(address) {
  const [host, port] = address.split(':');
  const octets = host.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !(o >= 0 && o <= 255)) || !(Number(port) > 0)) {
    throw new Error(`openConnectionsTo: "${address}" is not an IPv4 address:port`);
  }
  const hex = (n, width) => n.toString(16).toUpperCase().padStart(width, '0');
  // /proc/net/tcp writes the address as the 32-bit value in host (little-endian) order.
  const remote = `${octets
    .reverse()
    .map((o) => hex(o, 2))
    .join('')}:${hex(Number(port), 4)}`;
  let count = 0;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[2] === remote && OPEN_STATES.has(fields[3])) count++;
  }
  return count;
}

/**
 * Resolves once no process holds a connection to `address` open (see openConnectionsTo): after a
 * replica was killed, the moment the gateway has closed every kept-alive connection to it, so a
 * request sent from then on cannot be written to it. Rejects after `timeoutMs`, naming how many
 * are left.
 */
async function noOpenConnectionsTo(address, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = openConnectionsTo(address);
    if (open === 0) return;
    if (Date.now() > deadline) throw new Error(`${open} connection(s) to ${address} still open after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

module.exports = { freePort, openConnectionsTo, noOpenConnectionsTo };
