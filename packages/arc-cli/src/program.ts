/**
 * The `arc` command line: commander setup and `run(argv, io)`, which resolves with the exit code
 * instead of exiting, so tests can drive it in-process (bin.ts is the process around it).
 */
import { Command, CommanderError } from 'commander';
import { agentsCommand } from './commands/agents';
import { callCommand } from './commands/call';
import { chatCommand } from './commands/chat';
import { taskCommand } from './commands/task';
import { webhookCommand } from './commands/webhook';
import type { OutputFlags } from './options';
import { EXIT, Output, type CliIo } from './output';

/** What a command module gets: the io, and `action` to wrap its handler (exit code and errors). */
export interface CommandContext {
  io: CliIo;
  /** The handler resolves with the exit code; what it throws is reported (output.ts) and gives the code. */
  action<A extends unknown[]>(fn: (...args: A) => Promise<number>): (...args: A) => Promise<void>;
}

const VERSION = '0.1.0';

export function buildProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('arc')
    .description('A command line for ARC agents: discover them, chat, call any method, follow tasks, receive webhooks.')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
    })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  $ arc agents http://localhost:8000/arc
  $ arc chat http://localhost:8000/arc finance-agent
  $ arc call http://localhost:8000/arc finance-agent task.info --params '{"taskId":"task-…"}'
  $ arc task create http://localhost:8000/arc finance-agent "Invoice summary for INV-12345" --watch
  $ arc webhook listen --port 9090 --secret "$WEBHOOK_SECRET"

Exit codes: 0 success, 1 ARC error, 2 usage error, 3 no answer (network error or timeout).
Environment: ARC_TOKEN (bearer token), ARC_REQUEST_AGENT, ARC_WEBHOOK_SECRET, NO_COLOR.`,
    );

  const ctx: CommandContext = {
    io,
    action:
      (fn) =>
      async (...args) => {
        try {
          setExitCode(await fn(...args));
        } catch (err) {
          // commander passes the command last; its options say whether to answer in JSON.
          const cmd = args[args.length - 1] as Command;
          const flags = (cmd instanceof Command ? cmd.opts() : {}) as OutputFlags;
          setExitCode(new Output(io, { json: flags.json === true, verbose: flags.verbose === true }).fail(err));
        }
      },
  };
  agentsCommand(program, ctx);
  chatCommand(program, ctx);
  callCommand(program, ctx);
  taskCommand(program, ctx);
  webhookCommand(program, ctx);
  return program;
}

/** Runs `arc` with `argv` (the arguments after the program name); resolves with the exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    // --help and --version end with 0; any other commander error is a usage error (already printed).
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    return new Output(io, { json: false, verbose: false }).fail(err);
  }
  return exitCode;
}
