// A webhook receiver in 20 lines: verifies each delivery (both signature schemes), drops
// duplicates (delivery is at least once), prints the event. Usage:
//   WEBHOOK_SECRET=… PORT=9090 node examples/webhook-receiver.mjs
import http from 'node:http';
import { verifyWebhook } from '@arc/core';

const seen = new Set(); // X-ARC-Delivery ids already handled
http
  .createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const check = verifyWebhook(Buffer.concat(chunks), req.headers, process.env.WEBHOOK_SECRET);
      if (!check.valid) return res.writeHead(401).end(check.reason);
      const id = req.headers['x-arc-delivery'];
      if (!seen.has(id)) {
        seen.add(id);
        const { taskId, event, data } = check.payload;
        console.log(`${taskId}: ${event} (${data.status}) ${data.message ?? ''}`);
      }
      res.writeHead(204).end();
    });
  })
  .listen(Number(process.env.PORT ?? 9090), () => console.log(`listening on ${process.env.PORT ?? 9090}`));
