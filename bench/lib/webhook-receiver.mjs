/**
 * The task rows' webhook receiver, in the load generator's process (one per process, started
 * by the first task job and kept: a late delivery meant for an earlier job still gets its 204
 * rather than being retried for minutes). It listens on 127.0.0.1, on a port the OS picks, and
 * checks every delivery with @arc/core's verifyWebhook (the built dist, loaded only when a task
 * row runs) and the run's secret, over the raw body: 204 when it verifies, else 401.
 *
 * The job running sets `receiver.secret` and `receiver.job` = { refused(reason), delivery(check,
 * atMs, wallMs) } (null between jobs): `check` is verifyWebhook's answer ({ scheme, payload }),
 * `atMs` performance.now() and `wallMs` Date.now() when the body had arrived.
 */
import http from 'node:http';

let receiver;

/** Resolves the process's receiver { url, secret, job }, starting it the first time. */
export function startReceiver() {
  receiver ??= (async () => {
    const { verifyWebhook } = await import('@arc/core');
    const r = { url: '', secret: '', job: null };
    const server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const atMs = performance.now();
        const wallMs = Date.now();
        const check = verifyWebhook(Buffer.concat(chunks), req.headers, r.secret);
        res.writeHead(check.valid ? 204 : 401).end();
        if (!check.valid) r.job?.refused(check.reason);
        else r.job?.delivery(check, atMs, wallMs);
      });
    });
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    r.url = `http://127.0.0.1:${server.address().port}/hook`;
    return r;
  })();
  return receiver;
}
