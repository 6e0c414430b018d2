/**
 * `arc task create|info|send|cancel|watch <url> <agent> …`: the task methods (docs/tasks.md).
 * create, info and cancel print the task (--json: the response envelope); create --watch and
 * send --watch go on as `watch` does (watch.ts).
 */
import type { TaskPriority } from '@arc/core';
import type { Command } from 'commander';
import { statusColour, taskLines } from '../format';
import { parseDuration, parseJsonObject, withClientOptions, withSession, type ClientFlags, type Session } from '../options';
import { EXIT, UsageError } from '../output';
import type { CommandContext } from '../program';
import { watchTask } from '../watch';

interface WatchFlags extends ClientFlags {
  watch?: boolean;
  maxWait?: string;
}

/** The protocol's priorities (TASK_PRIORITIES of @arc/core, which this command does not load: startup time). */
export const TASK_PRIORITIES: readonly TaskPriority[] = ['LOW', 'NORMAL', 'HIGH', 'URGENT'];
const MAX_WAIT_HELP = 'longest wait for the end of the task (default 10m)';
const DEFAULT_MAX_WAIT = '10m';
const URL_ARG = ['<url>', 'the ARC endpoint, e.g. http://localhost:8000/arc'] as const;
const AGENT_ARG = ['<agent>', 'the agent that owns the task, e.g. finance-agent'] as const;
const TASK_ARG = ['<taskId>', 'the task id (task-…)'] as const;

function watchIfAsked(s: Session, flags: WatchFlags, url: string, agent: string, taskId: string): Promise<number> | number {
  if (!flags.watch) return EXIT.ok;
  return watchTask(s, { url, agent, taskId, maxWaitMs: parseDuration(flags.maxWait ?? DEFAULT_MAX_WAIT, '--max-wait') });
}

function checkPriority(value: string | undefined): TaskPriority | undefined {
  if (value === undefined) return undefined;
  const upper = value.toUpperCase();
  if (!(TASK_PRIORITIES as readonly string[]).includes(upper)) {
    throw new UsageError(`--priority must be one of ${TASK_PRIORITIES.join(', ')}, not "${value}"`);
  }
  return upper as TaskPriority;
}

export function taskCommand(program: Command, { io, action }: CommandContext): void {
  const task = program
    .command('task')
    .description('create, inspect, answer, cancel and watch tasks')
    .addHelpText(
      'after',
      `
Example:
  $ arc task create http://localhost:8000/arc finance-agent "Invoice summary for INV-12345" --watch`,
    );

  withClientOptions(
    task
      .command('create')
      .description('create a task (task.create) and print its id')
      .argument(...URL_ARG)
      .argument('<agent>', 'the agent to do it, e.g. finance-agent')
      .argument('<message>', 'what to do (the initial message)')
      .option('--priority <priority>', `${TASK_PRIORITIES.join(', ')} (default NORMAL)`)
      .option('--metadata <json>', 'metadata, a JSON object')
      .option('--watch', 'then watch it until it ends')
      .option('--max-wait <duration>', `with --watch: ${MAX_WAIT_HELP}`),
  )
    .addHelpText(
      'after',
      `
Example:
  $ arc task create http://localhost:8000/arc finance-agent "Invoice summary for INV-12345"
  task-4f0c2b7e9a1d3c5b  SUBMITTED  priority NORMAL`,
    )
    .action(
      action(async (url: string, agent: string, message: string, flags: WatchFlags & { priority?: string; metadata?: string }) => {
        const priority = checkPriority(flags.priority);
        const metadata = flags.metadata === undefined ? undefined : parseJsonObject(flags.metadata, '--metadata');
        if (flags.maxWait !== undefined) parseDuration(flags.maxWait, '--max-wait');
        return withSession(url, flags, io, async (s) => {
          const reply = await s.client.task.create(agent, message, {
            ...s.call,
            ...(priority !== undefined ? { priority } : {}),
            ...(metadata !== undefined ? { metadata } : {}),
          });
          const t = reply.result.task;
          if (s.out.json) s.out.doc(reply);
          else s.out.line(`${s.out.c.bold(t.taskId)}  ${statusColour(s.out.c, t.status)}${t.priority ? `  priority ${t.priority}` : ''}`);
          return watchIfAsked(s, flags, url, agent, t.taskId);
        });
      }),
    );

  withClientOptions(
    task
      .command('info')
      .description('show a task (task.info): status, messages, artifacts')
      .argument(...URL_ARG)
      .argument(...AGENT_ARG)
      .argument(...TASK_ARG)
      .option('--no-messages', 'leave out the messages')
      .option('--no-artifacts', 'leave out the artifacts'),
  )
    .addHelpText(
      'after',
      `
Example:
  $ arc task info http://localhost:8000/arc finance-agent task-4f0c2b7e9a1d3c5b
  task-4f0c2b7e9a1d3c5b  COMPLETED  priority NORMAL
  …`,
    )
    .action(
      action((url: string, agent: string, taskId: string, flags: ClientFlags & { messages: boolean; artifacts: boolean }) =>
        withSession(url, flags, io, async (s) => {
          const reply = await s.client.task.info(agent, taskId, {
            ...s.call,
            includeMessages: flags.messages,
            includeArtifacts: flags.artifacts,
          });
          if (s.out.json) s.out.doc(reply);
          else for (const line of taskLines(reply.result.task, s.out.c)) s.out.line(line);
          return EXIT.ok;
        }),
      ),
    );

  withClientOptions(
    task
      .command('send')
      .description('add a message to a task (task.send); answers a task that needs input')
      .argument(...URL_ARG)
      .argument(...AGENT_ARG)
      .argument(...TASK_ARG)
      .argument('<message>', 'the message')
      .option('--watch', 'then watch the task until it ends')
      .option('--max-wait <duration>', `with --watch: ${MAX_WAIT_HELP}`),
  )
    .addHelpText(
      'after',
      `
Example:
  $ arc task send http://localhost:8000/arc finance-agent task-4f0c2b7e9a1d3c5b "INV-12345" --watch`,
    )
    .action(
      action(async (url: string, agent: string, taskId: string, message: string, flags: WatchFlags) => {
        if (flags.maxWait !== undefined) parseDuration(flags.maxWait, '--max-wait');
        return withSession(url, flags, io, async (s) => {
          const reply = await s.client.task.send(agent, taskId, message, s.call);
          if (s.out.json) s.out.doc(reply);
          else s.out.line(reply.result.message ?? `message sent to ${taskId}`);
          return watchIfAsked(s, flags, url, agent, taskId);
        });
      }),
    );

  withClientOptions(
    task
      .command('cancel')
      .description('cancel a task (task.cancel)')
      .argument(...URL_ARG)
      .argument(...AGENT_ARG)
      .argument(...TASK_ARG)
      .option('--reason <text>', 'why (kept with the task)'),
  )
    .addHelpText(
      'after',
      `
Example:
  $ arc task cancel http://localhost:8000/arc finance-agent task-4f0c2b7e9a1d3c5b --reason "not needed"
  task-4f0c2b7e9a1d3c5b  CANCELED  not needed`,
    )
    .action(
      action((url: string, agent: string, taskId: string, flags: ClientFlags & { reason?: string }) =>
        withSession(url, flags, io, async (s) => {
          const reply = await s.client.task.cancel(agent, taskId, flags.reason, s.call);
          const t = reply.result.task;
          if (s.out.json) s.out.doc(reply);
          else s.out.line(`${s.out.c.bold(t.taskId)}  ${statusColour(s.out.c, t.status)}${t.reason ? `  ${t.reason}` : ''}`);
          return EXIT.ok;
        }),
      ),
    );

  withClientOptions(
    task
      .command('watch')
      .description('follow a task live (status, messages, artifacts) until it ends or needs input')
      .argument(...URL_ARG)
      .argument(...AGENT_ARG)
      .argument(...TASK_ARG)
      .option('--max-wait <duration>', MAX_WAIT_HELP),
  )
    .addHelpText(
      'after',
      `
Exit codes: 0 COMPLETED (or INPUT_REQUIRED: the task waits for task send), 1 FAILED or CANCELED,
3 no end within --max-wait, 130 Ctrl-C (the task goes on).

Example:
  $ arc task watch http://localhost:8000/arc finance-agent task-4f0c2b7e9a1d3c5b
  [0.0s] WORKING  Collecting invoice INV-12345
  [0.0s] user: Invoice summary for INV-12345
  [1.6s] COMPLETED
  [1.6s] agent: Invoice summary for INV-12345 is ready: total 2755.08 EUR.
  [1.6s] artifact invoice-summary — Summary of invoice INV-12345
  COMPLETED after 1.6s`,
    )
    .action(
      action((url: string, agent: string, taskId: string, flags: WatchFlags) => {
        const maxWaitMs = parseDuration(flags.maxWait ?? DEFAULT_MAX_WAIT, '--max-wait');
        return withSession(url, flags, io, (s) => watchTask(s, { url, agent, taskId, maxWaitMs }));
      }),
    );
}
