/**
 * Baseline 2: a plain Express 5 app with express.json() - the framework the services are built
 * on, with nothing of ARC in it. POST /arc parses the body with express.json() and answers
 * res.json() of a reply of the same size and shape as a real chat.start reply (BENCH_REPLY, as
 * in node-http.mjs). Express defaults are kept (ETag, X-Powered-By). No logging.
 * GET /health answers 200.
 *
 * Env: PORT, HOST (default 127.0.0.1), BENCH_REPLY (JSON).
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// express is a dependency of @arc/core; resolve it from there.
const require = createRequire(fileURLToPath(new URL('../../packages/arc-core/package.json', import.meta.url)));
const express = require('express');

const template = JSON.parse(process.env.BENCH_REPLY || '{"arc":"1.0","id":null,"result":{},"error":null}');

const app = express();
app.get('/health', (_req, res) => {
  res.json({ status: 'healthy', server: 'baseline-express' });
});
app.post('/arc', express.json(), (req, res) => {
  const msg = req.body ?? {};
  res.json({ ...template, id: msg.id ?? null, targetAgent: msg.requestAgent ?? template.targetAgent });
});

const server = app.listen(Number(process.env.PORT || 0), process.env.HOST || '127.0.0.1');
server.keepAliveTimeout = 65_000;
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => server.close(() => process.exit(0)));
