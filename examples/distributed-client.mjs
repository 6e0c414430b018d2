#!/usr/bin/env node
/**
 * The guide's distributed client flow: one ARC client per agent, each talking to its own
 * service through the nginx gateway (POST /arc/<service>), printing every reply.
 *
 *   npm run cluster                       # terminal 1: the local cluster on :8080
 *   npm run example:distributed           # terminal 2
 *   ARC_BASE_URL=http://localhost:80 npm run example:distributed   # against docker compose
 *   npm run example:distributed -- http://localhost:8080           # or the base URL as argument
 *
 * nginx picks a replica per request (no sticky sessions). With the shared chat store (docker
 * compose, or `npm run cluster -- --redis`) any finance replica continues any chat; without it
 * (plain `npm run cluster`) a follow-up that lands on another finance replica gets -43001.
 */
import { ArcClient, ArcResponseError } from '@arc/core/client';

const baseUrl = (process.argv[2] || process.env.ARC_BASE_URL || 'http://localhost:8080').replace(/\/+$/, '');

const conversations = [
  { route: 'finance', agent: 'finance-agent', start: 'I need help with an invoice', followUp: 'Invoice number INV-12345' },
  { route: 'hr', agent: 'hr-agent', start: 'I have a question about my salary', followUp: 'My employee ID is EMP-42' },
  { route: 'support', agent: 'support-agent', start: 'Hello, I need some help', followUp: 'My login does not work' },
];

const textOf = (envelope) => envelope.result.chat.message?.parts.map((p) => p.content).join('') ?? '';

let failed = false;
for (const { route, agent, start, followUp } of conversations) {
  // One client per agent, as in the guide: the gateway routes by path, the body by targetAgent.
  const client = new ArcClient(`${baseUrl}/arc/${route}`, {
    requestAgent: 'distributed-example',
    token: process.env.ARC_TOKEN || undefined,
  });
  try {
    const started = await client.chat.start(agent, start);
    const { chatId } = started.result.chat;
    console.log(`[${agent}] you:   ${start}`);
    console.log(`[${agent}] agent: ${textOf(started)}   (chat ${chatId})`);
    try {
      const reply = await client.chat.message(agent, chatId, followUp);
      console.log(`[${agent}] you:   ${followUp}`);
      console.log(`[${agent}] agent: ${textOf(reply)}`);
      const ended = await client.chat.end(agent, chatId, 'example done');
      console.log(`[${agent}] chat ${chatId} ${ended.result.chat.status.toLowerCase()}`);
    } catch (err) {
      // Only without the shared chat store: the chat lives in the memory of the replica that
      // started it, and nginx sent this request to another one.
      if (!(err instanceof ArcResponseError) || err.code !== -43001) throw err;
      console.log(
        `[${agent}] (-43001: this request reached another ${route} replica, which does not know chat ${chatId};` +
          ' chats are per replica without Redis: `npm run cluster -- --redis`, or docker compose, shares them)',
      );
    }
  } catch (err) {
    failed = true;
    const code = err instanceof ArcResponseError ? ` ${err.code}` : '';
    console.error(`[${agent}] failed${code}: ${err.message}`);
  }
}
if (failed) {
  console.error(`\nIs the gateway up at ${baseUrl}? Start it with \`npm run cluster\` or \`docker compose up -d\`.`);
  process.exit(1);
}
