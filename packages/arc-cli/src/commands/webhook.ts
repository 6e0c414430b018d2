/**
 * `arc webhook listen [--port] [--host] [--secret]`: a local receiver for task webhooks
 * (ARC-PROTOCOL.md §9). Every POST, on any path, is checked with verifyWebhook (v2 signatures
 * with a timestamp, and the Python SDK's v1) and printed; a bad signature gets 401 and a line on
 * stderr. A delivery id seen before (deliveries are at least once) is answered 204 and not
 * printed again. Without a secret nothing can be verified: deliveries are printed marked
 * "unverified" (for development only). Runs until Ctrl-C (exit 0).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { WebhookNotification } from '@arc/core';
import type { Command } from 'commander';
import { withOutputOptions, type OutputFlags } from '../options';
import { CliFailure, EXIT, Output, UsageError, type CliIo } from '../output';
import type { CommandContext } from '../program';

interface ListenFlags extends OutputFlags {
  port: string;
  host: string;
  secret?: string;
  v1: boolean;
}

const BODY_LIMIT = 1024 * 1024;
const SEEN_LIMIT = 10_000;

export function parsePort(text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new UsageError(`--port must be a port number (0-65535; 0: any free port), not "${text}"`);
  return port;
}

type Check = { valid: true; scheme: string; payload: WebhookNotification } | { valid: false; reason: string };

type Core = typeof import('@arc/core');

function check(core: Core, raw: Buffer, req: IncomingMessage, secret: string | undefined, allowV1: boolean): Check {
  if (secret !== undefined) return core.verifyWebhook(raw, req.headers, secret, { allowV1 });
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return { valid: false, reason: 'the body is not JSON' };
  }
  const parsed = core.parseWebhookNotification(body);
  return parsed.ok ? { valid: true, scheme: 'unverified', payload: parsed.notification } : { valid: false, reason: parsed.reason };
}

function answer(res: ServerResponse, status: number, body?: object): void {
  if (body === undefined) res.writeHead(status).end();
  else res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

async function listen(io: CliIo, flags: ListenFlags): Promise<number> {
  const out = new Output(io, { json: flags.json === true, verbose: flags.verbose === true });
  const port = parsePort(flags.port);
  const secret = flags.secret ?? (io.env.ARC_WEBHOOK_SECRET || io.env.WEBHOOK_SECRET || undefined);
  const seen = new Set<string>();
  const { c, e } = out;
  // The protocol core (verifyWebhook) loads here only: the other commands start without it.
  const core = await import('@arc/core');

  const deliver = (req: IncomingMessage, res: ServerResponse, raw: Buffer): void => {
    const delivery = typeof req.headers['x-arc-delivery'] === 'string' ? req.headers['x-arc-delivery'] : undefined;
    out.trace(`< ${req.method} ${req.url} ${JSON.stringify(req.headers)}`);
    out.trace(`< ${raw.toString('utf8')}`);
    const result = check(core, raw, req, secret, flags.v1);
    if (!result.valid) {
      out.note(
        `${e.red('arc:')} rejected delivery ${delivery ?? '(no X-ARC-Delivery)'} from ${req.socket.remoteAddress}: ${result.reason}`,
      );
      answer(res, secret !== undefined ? 401 : 400, { error: result.reason });
      return;
    }
    if (delivery !== undefined) {
      if (seen.has(delivery)) {
        out.note(e.dim(`duplicate delivery ${delivery} ignored`));
        answer(res, 204);
        return;
      }
      if (seen.size >= SEEN_LIMIT) seen.clear();
      seen.add(delivery);
    }
    const p = result.payload;
    if (out.json) {
      out.doc({ deliveryId: delivery, scheme: result.scheme, ...p });
    } else {
      const status = typeof p.data.status === 'string' ? ` ${p.data.status}` : '';
      const text = typeof p.data.messageContent === 'string' ? p.data.messageContent : p.data.message;
      const message = typeof text === 'string' ? `  ${text}` : '';
      const tag = result.scheme === 'unverified' ? c.yellow('unverified') : `signed ${result.scheme}`;
      out.line(
        `${c.dim(p.timestamp)} ${c.bold(p.event)} ${p.taskId}${status}${message} ${c.dim(`(${tag}${p.subscriptionId ? `, ${p.subscriptionId}` : ''})`)}`,
      );
    }
    answer(res, 204);
  };

  const server = createServer((req, res) => {
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      answer(res, 405, { error: 'webhook deliveries are POST requests' });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT) {
        answer(res, 413, { error: `body larger than ${BODY_LIMIT} bytes` });
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => deliver(req, res, Buffer.concat(chunks)));
    req.on('error', () => res.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new CliFailure(`cannot listen on ${flags.host}:${port}: ${err.code ?? err.message}`, EXIT.network)),
    );
    server.listen(port, flags.host, resolve);
  });
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  const host = flags.host.includes(':') ? `[${flags.host}]` : flags.host;
  out.note(
    `listening on http://${host}:${bound}/ ` +
      (secret !== undefined ? `(signatures checked${flags.v1 ? '' : ', v2 only'})` : e.yellow('(no secret: deliveries are NOT verified)')),
  );
  await new Promise<void>((resolve) => {
    const stop = io.onInterrupt(() => {
      stop();
      server.close(() => resolve());
      server.closeAllConnections();
    });
  });
  return EXIT.ok;
}

export function webhookCommand(program: Command, { io, action }: CommandContext): void {
  const webhook = program.command('webhook').description('receive task webhooks');
  withOutputOptions(
    webhook
      .command('listen')
      .description('run a local receiver that verifies and prints each webhook delivery')
      .option('--port <port>', 'port to listen on (0: any free one)', '9090')
      .option('--host <host>', 'address to listen on', '127.0.0.1')
      .option('--secret <secret>', 'the webhook secret (default: $ARC_WEBHOOK_SECRET, else $WEBHOOK_SECRET)')
      .option('--no-v1', 'refuse deliveries signed only with the Python SDK v1 scheme (no replay protection)'),
  )
    .addHelpText(
      'after',
      `
Subscribe a task to it with task.subscribe (the server needs WEBHOOK_ALLOW_PRIVATE_NETWORKS=true or
WEBHOOK_ALLOWED_HOSTS=127.0.0.1 to call a local address).

Example:
  $ arc webhook listen --port 9090 --secret "$WEBHOOK_SECRET"
  listening on http://127.0.0.1:9090/ (signatures checked)
  2026-12-01T12:29:42.591000Z TASK_COMPLETED task-4f0c2b7e9a1d3c5b COMPLETED (signed v2, sub-1a2b3c4d)`,
    )
    .action(action((flags: ListenFlags) => listen(io, flags)));
}
