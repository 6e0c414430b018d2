/**
 * The images' HEALTHCHECK (slim images have no curl): GET /health on the service's own port,
 * healthy only on 200 with {"status":"healthy"}. A draining service answers 503 -> unhealthy.
 */
'use strict';
const host = !process.env.HOST || process.env.HOST === '0.0.0.0' || process.env.HOST === '::' ? '127.0.0.1' : process.env.HOST;
const url = `http://${host.includes(':') ? `[${host}]` : host}:${process.env.PORT || 8000}/health`;

fetch(url, { signal: AbortSignal.timeout(2500) })
  .then(async (res) => {
    const body = await res.json().catch(() => ({}));
    if (res.status === 200 && body.status === 'healthy') process.exit(0);
    console.error(`${url}: HTTP ${res.status} ${JSON.stringify(body)}`);
    process.exit(1);
  })
  .catch((err) => {
    console.error(`${url}: ${err.message}`);
    process.exit(1);
  });
