/**
 * The `arc` command line as the e2e tests run it: `node packages/arc-cli/bin/arc.cjs …` as a
 * child process (the committed shim, as `npx arc` runs it), either to completion (`arc`) or kept
 * running and driven through stdin (`arcProcess`: interactive chat, webhook listen). Output is
 * waited for by content, never by sleeping.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '@arc/devkit';

export const ARC_BIN = join(ROOT, 'packages', 'arc-cli', 'bin', 'arc.cjs');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Written to stdin, which is then closed (default: stdin closed at once). */
  input?: string;
  env?: Record<string, string>;
  /** Killed (SIGKILL) after this long: a hang fails the test instead of the suite (default 20 s). */
  timeoutMs?: number;
}

/** The environment of a run: no token or colour settings of the developer's shell. */
function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of ['ARC_TOKEN', 'ARC_REQUEST_AGENT', 'ARC_WEBHOOK_SECRET', 'WEBHOOK_SECRET', 'FORCE_COLOR']) {
    if (!(name in extra)) delete env[name];
  }
  return env;
}

/** A running `arc`, its output so far, and waits for what it prints. */
export class ArcProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<CliResult>;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8').on('data', (s: string) => this.grew('stdout', s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => this.grew('stderr', s));
    this.exited = new Promise((resolve) =>
      child.on('close', (code, signal) => {
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
        this.notify();
      }),
    );
  }

  /** Resolves with the first match of `pattern` in the stream; rejects if the process ends first or after `ms`. */
  waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, ms = 15_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(`no ${pattern} on ${stream} within ${ms} ms`), ms);
      const fail = (why: string): void => {
        clearTimeout(timer);
        reject(new Error(`${why}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`));
      };
      const check = (): void => {
        const m = this[stream].match(pattern);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          fail(`arc ended (${this.child.exitCode ?? this.child.signalCode}) before ${pattern} on ${stream}`);
        } else {
          this.waiters.push(check);
        }
      };
      check();
    });
  }

  write(text: string): void {
    this.child.stdin.write(text);
  }

  private grew(stream: 'stdout' | 'stderr', text: string): void {
    this[stream] += text;
    this.notify();
  }

  private notify(): void {
    for (const check of this.waiters.splice(0)) check();
  }
}

/** Starts `arc args…` (or `command args…`, e.g. `script`), stdin a pipe left open. */
export function arcProcess(args: string[], options: { env?: Record<string, string>; command?: string } = {}): ArcProcess {
  const command = options.command ?? process.execPath;
  const argv = options.command === undefined ? [ARC_BIN, ...args] : args;
  const child = spawn(command, argv, { cwd: ROOT, env: cliEnv(options.env) });
  return new ArcProcess(child);
}

/** Runs `arc args…` to the end. */
export async function arc(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const p = arcProcess(args, { env: options.env });
  const timer = setTimeout(() => p.child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
  p.child.stdin.end(options.input ?? '');
  try {
    return await p.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Each line of `text` parsed as JSON (for --json output). */
export function jsonLines(text: string): any[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
}
