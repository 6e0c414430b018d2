/**
 * `arc call <url> <agent> <method> [--params JSON|@file|@-]`: any method, the whole response
 * envelope on stdout (indented for people, one line with --json) — an error envelope too, with
 * its code and message on stderr and exit 1.
 */
import { ArcResponseError } from '@arc/core/client';
import type { Command } from 'commander';
import { parseParams, withClientOptions, withSession, type ClientFlags } from '../options';
import { EXIT, UsageError } from '../output';
import type { CommandContext } from '../program';

interface CallFlags extends ClientFlags {
  params?: string;
  id?: string;
}

export function callCommand(program: Command, { io, action }: CommandContext): void {
  withClientOptions(
    program
      .command('call')
      .description('send any ARC method and print the response envelope')
      .argument('<url>', 'the ARC endpoint, e.g. http://localhost:8000/arc')
      .argument('<agent>', 'the target agent, e.g. finance-agent')
      .argument('<method>', 'the method, e.g. task.info')
      .option('--params <json>', 'the params: a JSON object, @file, or @- for stdin (default {})')
      .option('--id <id>', 'the request id (default: a fresh uuid)'),
  )
    .addHelpText(
      'after',
      `
Example:
  $ arc call http://localhost:8000/arc finance-agent chat.start --params '{"initialMessage":{"role":"user","parts":[{"type":"TextPart","content":"Hello"}]}}'
  {
    "arc": "1.0",
    "id": "7d9c…",
    "responseAgent": "finance-agent",
    "targetAgent": "arc-cli",
    "result": { "type": "chat", "chat": { "chatId": "chat-…", "status": "ACTIVE", … } },
    "error": null
  }`,
    )
    .action(
      action(async (url: string, agent: string, method: string, flags: CallFlags) => {
        const params = await parseParams(flags.params, io);
        if (params.stream === true)
          throw new UsageError('params.stream=true asks for an event stream: use `arc chat` for streamed replies');
        return withSession(url, flags, io, async (s) => {
          const print = (envelope: unknown): void => (s.out.json ? s.out.doc(envelope) : s.out.line(JSON.stringify(envelope, null, 2)));
          try {
            print(await s.client.request(method, agent, params, { ...s.call, ...(flags.id !== undefined ? { id: flags.id } : {}) }));
            return EXIT.ok;
          } catch (err) {
            if (!(err instanceof ArcResponseError)) throw err;
            print(err.response);
            s.out.note(`${s.out.e.red('arc:')} ${err.code} ${err.message}${err.httpStatus === 200 ? '' : ` (HTTP ${err.httpStatus})`}`);
            return EXIT.arcError;
          }
        });
      }),
    );
}
