/**
 * The `arc` process (bin/arc.cjs loads it): runs the command line on this process's streams and
 * exits with its code once stdout and stderr are flushed. Ctrl-C and SIGTERM go to the running
 * command when it listens for them (chat, task watch, webhook listen); otherwise they end the
 * process as usual.
 */
import type { CliIo } from './output';
import { run } from './program';

const io: CliIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  onInterrupt(handler) {
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    return () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
  },
};

// A reader that went away (`arc … | head`) ends the output, not with a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

function exit(code: number): void {
  process.exitCode = code;
  // Pending writes first: flushed on both streams, then nothing left to wait for (stdin, sockets).
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

run(process.argv.slice(2), io).then(exit, (err: unknown) => {
  process.stderr.write(`arc: unexpected error: ${err instanceof Error ? err.message : String(err)}\n`);
  exit(1);
});
