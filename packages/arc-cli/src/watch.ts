/**
 * `arc task watch` (and `create --watch`, `send --watch`): follows a task with
 * client.task.waitFor, printing each status change, new message and new artifact as it is seen,
 * until the task is COMPLETED, FAILED or CANCELED — or INPUT_REQUIRED, since then it waits for
 * the caller (a hint says how to answer). On a TTY stderr carries a spinner line with the status
 * and the time elapsed; otherwise only plain lines are written. With --json each change is one
 * JSON line: {"type":"status"|"message"|"artifact"|"end", …}.
 *
 * Exit: 0 for COMPLETED and INPUT_REQUIRED, 1 for FAILED (the task's error on stderr) and
 * CANCELED, 3 when --max-wait ran out, 130 for Ctrl-C (the task itself goes on).
 */
import type { TaskStatus } from '@arc/core';
import type { TaskInfo } from '@arc/core/client';
import { artifactLines, indent, messageText, seconds, statusColour } from './format';
import type { Session } from './options';
import { EXIT, type Output } from './output';

export const INTERRUPTED = 130;
const TERMINAL: readonly TaskStatus[] = ['COMPLETED', 'FAILED', 'CANCELED'];
const UNTIL: readonly TaskStatus[] = [...TERMINAL, 'INPUT_REQUIRED'];
const FRAMES = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';

/** The spinner line on stderr (TTY only): redrawn every 100 ms, cleared around each printed line. */
class Spinner {
  private timer: NodeJS.Timeout | undefined;
  private frame = 0;
  private status = '';

  constructor(
    private readonly out: Output,
    private readonly startedAt: number,
  ) {
    if (out.io.stderr.isTTY !== true || out.json) return;
    this.timer = setInterval(() => this.draw(), 100);
    this.timer.unref();
  }

  set(status: string): void {
    this.status = status;
    this.draw();
  }

  /** Prints `text` on stdout without leaving a spinner fragment in the terminal. */
  print(text: string): void {
    this.clear();
    this.out.line(text);
    this.draw();
  }

  stop(): void {
    if (this.timer === undefined) return;
    this.clear();
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private clear(): void {
    if (this.timer !== undefined) this.out.io.stderr.write('\r\x1b[2K');
  }

  private draw(): void {
    if (this.timer === undefined) return;
    const glyph = FRAMES[this.frame++ % FRAMES.length];
    this.out.io.stderr.write(`\r\x1b[2K${this.out.e.cyan(glyph!)} ${this.status} ${this.out.e.dim(seconds(Date.now() - this.startedAt))}`);
  }
}

export interface WatchOptions {
  url: string;
  agent: string;
  taskId: string;
  maxWaitMs: number;
}

export async function watchTask(s: Session, o: WatchOptions): Promise<number> {
  const { out } = s;
  const { c } = out;
  const startedAt = Date.now();
  const spinner = new Spinner(out, startedAt);
  const stamp = (): string => c.dim(`[${seconds(Date.now() - startedAt)}]`);
  let seen: TaskInfo | undefined;
  const abort = new AbortController();
  const stopOnInterrupt = out.io.onInterrupt(() => abort.abort());

  const onProgress = (t: TaskInfo): void => {
    // The last progress message stays in task.info after the end; it is news only while the task runs.
    const note = TERMINAL.includes(t.status) ? undefined : t.statusMessage;
    if (seen?.status !== t.status || (note !== undefined && seen?.statusMessage !== note)) {
      spinner.set(`${t.status}${note ? ` · ${note}` : ''}`);
      if (out.json) out.doc({ type: 'status', taskId: t.taskId, status: t.status, ...(note !== undefined ? { statusMessage: note } : {}) });
      else spinner.print(`${stamp()} ${statusColour(c, t.status)}${note ? `  ${note}` : ''}`);
    }
    for (const m of (t.messages ?? []).slice(seen?.messages?.length ?? 0)) {
      if (out.json) out.doc({ type: 'message', taskId: t.taskId, message: m });
      else spinner.print(`${stamp()} ${c.bold(m.role)}: ${indent(messageText(m), '    ')}`);
    }
    for (const a of (t.artifacts ?? []).slice(seen?.artifacts?.length ?? 0)) {
      if (out.json) out.doc({ type: 'artifact', taskId: t.taskId, artifact: a });
      else spinner.print(`${stamp()} ${c.bold('artifact')} ${artifactLines(a).join('\n    ')}`);
    }
    seen = t;
  };

  let task: TaskInfo;
  try {
    task = await s.client.task.waitFor(o.agent, o.taskId, {
      until: UNTIL,
      timeoutMs: o.maxWaitMs,
      maxIntervalMs: 1000, // a person is watching: at most a second behind
      onProgress,
      signal: abort.signal,
      ...(s.call.traceId !== undefined ? { traceId: s.call.traceId } : {}),
    });
  } catch (err) {
    if (!abort.signal.aborted) throw err;
    spinner.stop();
    out.note(`stopped watching ${o.taskId} (${seen?.status ?? 'status unknown'}); the task goes on`);
    return INTERRUPTED;
  } finally {
    spinner.stop();
    stopOnInterrupt();
  }
  return finish(out, task, o, Date.now() - startedAt);
}

function finish(out: Output, task: TaskInfo, o: WatchOptions, elapsedMs: number): number {
  const { c, e } = out;
  if (out.json) out.doc({ type: 'end', task });
  else out.line(`${statusColour(c, task.status)} after ${seconds(elapsedMs)}`);
  switch (task.status) {
    case 'COMPLETED':
      return EXIT.ok;
    case 'INPUT_REQUIRED':
      out.note(`${e.yellow('the task needs input:')} ${task.requiredInput ?? '(no prompt given)'}`);
      out.note(`answer with: arc task send ${o.url} ${o.agent} ${o.taskId} "<your answer>" --watch`);
      return EXIT.ok;
    case 'FAILED':
      out.note(`${e.red('arc:')} task ${task.taskId} failed${task.error ? `: ${task.error.code} ${task.error.message}` : ''}`);
      return EXIT.arcError;
    default:
      out.note(`${e.red('arc:')} task ${task.taskId} was canceled${task.reason ? `: ${task.reason}` : ''}`);
      return EXIT.arcError;
  }
}
