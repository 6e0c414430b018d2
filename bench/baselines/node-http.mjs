/**
 * Baseline 1, the ceiling: bare node:http. POST /arc reads the whole body, JSON.parses it and
 * answers with JSON.stringify of a reply of the same size and shape as a real chat.start reply
 * (BENCH_REPLY: one reply captured from the single server at the start of the run, with this
 * request's id put in). No validation, no routing, no logging: what Node itself costs for the
 * same bytes in and out. GET /health answers 200.
 *
 * Env: PORT, HOST (default 127.0.0.1), BENCH_REPLY (JSON).
 */
import { createServer } from 'node:http';

const template = JSON.parse(process.env.BENCH_REPLY || '{"arc":"1.0","id":null,"result":{},"error":null}');
const HEALTH = JSON.stringify({ status: 'healthy', server: 'baseline-node-http' });

function reply(req) {
  return JSON.stringify({ ...template, id: req.id ?? null, targetAgent: req.requestAgent ?? template.targetAgent });
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(HEALTH) });
    res.end(HEALTH);
    return;
  }
  if (req.method !== 'POST' || req.url !== '/arc') {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let parsed;
    try {
      parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad json"}');
      return;
    }
    const body = reply(parsed);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});

server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT || 0), process.env.HOST || '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => server.close(() => process.exit(0)));
