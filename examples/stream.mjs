// A streamed conversation using the TypeScript client (built to dist by `npm start` /
// `npm run build`): the reply is printed as it arrives. Usage:
//   node examples/stream.mjs [http://localhost:8000/arc] [agent] [message]
// Ctrl-C cuts the stream (the agent's handler sees the abort). With auth on (docs/security.md),
// ARC_TOKEN is sent as its bearer token.
import { ArcClient, ArcResponseError } from '@arc/core/client';

const url = process.argv[2] ?? process.env.ARC_URL ?? 'http://localhost:8000/arc';
const agent = process.argv[3] ?? 'supervisor';
const text = process.argv[4] ?? 'I have a question about an invoice';
const client = new ArcClient(url, { requestAgent: 'stream-example', token: process.env.ARC_TOKEN || undefined });
const controller = new AbortController();
process.once('SIGINT', () => controller.abort(new Error('interrupted')));

try {
  const stream = await client.chat.startStream(agent, text, { signal: controller.signal });
  process.stdout.write(`${agent}: `);
  for await (const e of stream) {
    if (e.type === 'stream') process.stdout.write(e.text);
    else if (e.type === 'error') process.stdout.write(`\n[stream error ${e.error.code}: ${e.error.message}]`);
  }
  console.log(`\n(chat ${stream.chatId}: ${stream.status})`);

  // The chat goes on; collect() reads a stream to its end at once.
  const next = await client.chat.messageStream(agent, stream.chatId, 'Invoice number INV-12345', { signal: controller.signal });
  const { text: reply } = await next.collect();
  console.log(`${agent}: ${reply}`);
  await client.chat.end(agent, stream.chatId, 'resolved');
} catch (err) {
  if (!(err instanceof ArcResponseError)) throw err;
  console.error(`ARC error ${err.code}: ${err.message}`);
  process.exitCode = 1;
} finally {
  client.close();
}
