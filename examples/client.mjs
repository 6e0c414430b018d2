// A conversation with the finance agent using the TypeScript client (built to dist by
// `npm start` / `npm run build`). Usage: node examples/client.mjs [http://localhost:8000/arc]
// With auth on (docs/security.md), ARC_TOKEN is sent as its bearer token.
import { ArcClient, ArcResponseError } from '@arc/core/client';

const url = process.argv[2] ?? process.env.ARC_URL ?? 'http://localhost:8000/arc';
const client = new ArcClient(url, { requestAgent: 'quickstart-client', token: process.env.ARC_TOKEN || undefined });

const start = await client.chat.start('finance-agent', 'I need help with an invoice');
const chatId = start.result.chat.chatId;
console.log(`finance-agent: ${start.result.chat.message.parts[0].content}`);

const reply = await client.chat.message('finance-agent', chatId, 'Invoice number INV-12345');
console.log(`finance-agent: ${reply.result.chat.message.parts[0].content}`);

await client.chat.end('finance-agent', chatId, 'resolved');
try {
  await client.chat.message('finance-agent', chatId, 'one more thing');
} catch (err) {
  if (!(err instanceof ArcResponseError)) throw err;
  console.log(`after chat.end: ARC error ${err.code} (${err.message})`);
}
