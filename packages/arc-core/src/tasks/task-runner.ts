/**
 * Runs one task run from the queue: moves the task to WORKING (counting the attempt), calls the
 * agent's handler with a view of the task and a TaskContext, and stores what came of it:
 *
 *   returned              → COMPLETED (with the returned message / artifacts)
 *   ctx.requestInput()    → INPUT_REQUIRED (nothing held; task.send queues the next run)
 *   threw an ArcError     → FAILED with that error
 *   ran past timeoutMs    → FAILED with -42005
 *   canceled meanwhile    → stays CANCELED (the handler's signal aborted)
 *   worker shutting down  → rejected: the queue runs it again elsewhere (attempt + 1)
 *   threw anything else   → tried again while attempts remain, then FAILED with -42004
 *
 * A run for a task that is no longer SUBMITTED or WORKING (canceled, paused, done) does nothing.
 */
import { randomUUID } from 'node:crypto';
import { ArcError } from '../errors/arc-error';
import { ArcErrorCode } from '../errors/codes';
import type { Logger } from '../logging/logger';
import { agentText, normalizeMessage } from '../protocol/parts';
import type { Artifact, Message, Part } from '../protocol/types';
import type { TaskRecord } from '../state/task-store';
import { isoNow } from '../util/iso-now';
import { newArtifactId } from './ids';
import { InputRequired, type ArtifactInput, type TaskContext, type TaskHandler, type TaskOutcome, type TaskView } from './task-context';
import { abortReason, type TaskRun } from './task-queue';
import type { TaskRecords } from './task-records';

export interface TaskRunnerOptions {
  records: TaskRecords;
  logger: Logger;
  /** The task handler of an agent (undefined: the agent has none any more). */
  handlerOf: (agentId: string) => TaskHandler | undefined;
  /** Time one run may take (TASK_TIMEOUT_MS). */
  timeoutMs: number;
  /** Runs one task may start in all (TASK_MAX_ATTEMPTS). */
  maxAttempts: number;
  /** This server's id, recorded as the task's `runner` when a run starts here. */
  workerId: string;
}

/** Raised inside ctx methods once the run is over (canceled, timed out): the handler should stop. */
class RunEnded extends Error {}

export class TaskRunner {
  constructor(private readonly o: TaskRunnerOptions) {}

  /** The queue's processor. */
  readonly process = async (run: TaskRun, queueSignal: AbortSignal): Promise<void> => {
    const { records } = this.o;
    const now = isoNow();
    const started = await records.update(run.agentId, run.taskId, (t) => {
      if (t.status !== 'SUBMITTED' && t.status !== 'WORKING') return undefined; // paused, canceled or done
      t.status = 'WORKING';
      t.startedAt ??= now;
      t.attempt += 1;
      t.runner = this.o.workerId;
      return t;
    });
    if (!started.changed) return;
    let task = started.task;
    if (started.previous.status === 'SUBMITTED') records.emit(task, 'TASK_STARTED', { previousStatus: 'SUBMITTED' });
    if (task.attempt > this.o.maxAttempts) {
      await this.fail(
        task,
        new ArcError(ArcErrorCode.TaskExecution, `Task gave up after ${this.o.maxAttempts} attempts`, { attempts: this.o.maxAttempts }),
      );
      return;
    }
    const handler = this.o.handlerOf(run.agentId);
    if (!handler) {
      await this.fail(task, new ArcError(ArcErrorCode.TaskExecution, `Agent ${run.agentId} does not handle tasks here`, {}));
      return;
    }

    const controller = new AbortController();
    const onQueueAbort = (): void => controller.abort(queueSignal.reason);
    if (queueSignal.aborted) onQueueAbort();
    else queueSignal.addEventListener('abort', onQueueAbort, { once: true });
    const timer = setTimeout(() => controller.abort('timeout'), this.o.timeoutMs);
    const ended = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(new RunEnded(String(controller.signal.reason))), { once: true });
    });
    ended.catch(() => undefined);
    const ctx = new RunContext(task, controller.signal, records, this.o.logger);
    try {
      const outcome = await Promise.race([Promise.resolve().then(() => handler(view(task), ctx)), ended]);
      task = await this.complete(task, outcome);
    } catch (err) {
      const reason = abortReason(controller.signal);
      if (reason === 'canceled') return; // the task is CANCELED already
      if (reason === 'shutdown') throw err; // run again, on another worker
      if (reason === 'timeout') {
        await this.fail(
          task,
          new ArcError(ArcErrorCode.TaskTimeout, `Task ${task.taskId} ran longer than ${this.o.timeoutMs} ms`, {
            timeoutMs: this.o.timeoutMs,
          }),
        );
      } else if (err instanceof InputRequired) {
        await this.pause(task, err.prompt);
      } else if (err instanceof ArcError) {
        await this.fail(task, err);
      } else if (err instanceof RunEnded) {
        return; // the task left WORKING under the handler (e.g. canceled): nothing to record
      } else {
        const errorId = randomUUID();
        this.o.logger.error('task handler failed', {
          errorId,
          taskId: task.taskId,
          agent: task.agentId,
          attempt: task.attempt,
          err: err instanceof Error ? (err.stack ?? err.message) : String(err),
        });
        if (task.attempt < this.o.maxAttempts) throw err; // the queue tries again
        await this.fail(task, new ArcError(ArcErrorCode.TaskExecution, 'Task execution failed', { errorId, attempts: task.attempt }));
      }
    } finally {
      clearTimeout(timer);
      queueSignal.removeEventListener('abort', onQueueAbort);
      controller.abort('timeout'); // ends ctx for a handler that lingers (a no-op when already aborted)
    }
  };

  private async complete(task: TaskRecord, outcome: TaskOutcome): Promise<TaskRecord> {
    const { message, artifacts } = splitOutcome(outcome, task.agentId);
    const now = isoNow();
    const { records } = this.o;
    const done = await records.update(task.agentId, task.taskId, (t) => {
      if (t.status !== 'WORKING') return undefined; // canceled meanwhile: keep that
      if (message) t.messages.push(message);
      t.artifacts.push(...artifacts);
      t.status = 'COMPLETED';
      t.completedAt = now;
      return t;
    });
    if (!done.changed) return done.task;
    if (message) records.emit(done.task, 'NEW_MESSAGE', { messageContent: textOf(message) });
    for (const artifact of artifacts) records.emit(done.task, 'NEW_ARTIFACT', { artifact });
    records.emit(done.task, 'TASK_COMPLETED', { previousStatus: 'WORKING' });
    return done.task;
  }

  private async pause(task: TaskRecord, prompt: string): Promise<void> {
    const now = isoNow();
    const { records } = this.o;
    const paused = await records.update(task.agentId, task.taskId, (t) => {
      if (t.status !== 'WORKING') return undefined;
      t.status = 'INPUT_REQUIRED';
      t.requiredInput = prompt;
      t.pausedAt = now;
      t.messages.push(agentText(prompt));
      return t;
    });
    if (paused.changed) records.emit(paused.task, 'TASK_PAUSED', { previousStatus: 'WORKING' });
  }

  private async fail(task: TaskRecord, error: ArcError): Promise<void> {
    const now = isoNow();
    const { records } = this.o;
    const failed = await records.update(task.agentId, task.taskId, (t) => {
      if (t.status !== 'WORKING' && t.status !== 'SUBMITTED') return undefined;
      t.status = 'FAILED';
      t.failedAt = now;
      t.error = error.toJSON();
      return t;
    });
    if (failed.changed) records.emit(failed.task, 'TASK_FAILED', { previousStatus: failed.previous.status });
  }
}

/** The handler's TaskContext for one run. */
class RunContext implements TaskContext {
  readonly taskId: string;
  readonly agentId: string;
  readonly attempt: number;
  readonly traceId: string | undefined;
  readonly logger: Logger;

  constructor(
    task: TaskRecord,
    readonly signal: AbortSignal,
    private readonly records: TaskRecords,
    logger: Logger,
  ) {
    this.taskId = task.taskId;
    this.agentId = task.agentId;
    this.attempt = task.attempt;
    this.traceId = task.traceId;
    this.logger = logger.child({ taskId: task.taskId, agent: task.agentId, attempt: task.attempt, traceId: task.traceId });
  }

  async progress(message: string): Promise<void> {
    const task = await this.change((t) => {
      t.statusMessage = message;
    });
    this.records.emit(task, 'STATUS_CHANGE', { progress: message, previousStatus: 'WORKING' });
  }

  async message(message: string | Message): Promise<void> {
    const m =
      typeof message === 'string' ? agentText(message) : (normalizeMessage({ ...message, role: message.role ?? 'agent' }) as Message);
    const task = await this.change((t) => {
      t.messages.push(m);
    });
    this.records.emit(task, 'NEW_MESSAGE', { messageContent: textOf(m) });
  }

  async artifact(input: ArtifactInput): Promise<Artifact> {
    const artifact = toArtifact(input, this.agentId);
    const task = await this.change((t) => {
      t.artifacts.push(artifact);
    });
    this.records.emit(task, 'NEW_ARTIFACT', { artifact });
    return artifact;
  }

  async messages(): Promise<Message[]> {
    this.assertLive();
    return (await this.records.get(this.agentId, this.taskId)).messages;
  }

  requestInput(prompt: string): never {
    throw new InputRequired(prompt);
  }

  /** A change to the task while it is WORKING; once the run is over (or the task left WORKING) the handler is told to stop. */
  private async change(apply: (t: TaskRecord) => void): Promise<TaskRecord> {
    this.assertLive();
    const out = await this.records.update(this.agentId, this.taskId, (t) => {
      if (t.status !== 'WORKING') return undefined;
      apply(t);
      return t;
    });
    if (!out.changed) throw new RunEnded(`task ${this.taskId} is ${out.task.status}`);
    return out.task;
  }

  private assertLive(): void {
    if (this.signal.aborted) throw new RunEnded(`the run of task ${this.taskId} is over (${String(this.signal.reason)})`);
  }
}

function view(t: TaskRecord): TaskView {
  return {
    taskId: t.taskId,
    agentId: t.agentId,
    requestAgent: t.requestAgent,
    status: t.status,
    priority: t.priority,
    createdAt: t.createdAt,
    messages: t.messages,
    artifacts: t.artifacts,
    metadata: t.metadata,
    attempt: t.attempt,
  };
}

function splitOutcome(outcome: TaskOutcome, agentId: string): { message: Message | undefined; artifacts: Artifact[] } {
  if (outcome === undefined || outcome === null) return { message: undefined, artifacts: [] };
  if (typeof outcome === 'string') return { message: agentText(outcome), artifacts: [] };
  if ('parts' in outcome && Array.isArray(outcome.parts))
    return { message: normalizeMessage({ ...(outcome as Message) }) as Message, artifacts: [] };
  const o = outcome as { message?: string | Message; artifacts?: ArtifactInput[] };
  const message =
    o.message === undefined
      ? undefined
      : typeof o.message === 'string'
        ? agentText(o.message)
        : (normalizeMessage({ ...o.message }) as Message);
  return { message, artifacts: (o.artifacts ?? []).map((a) => toArtifact(a, agentId)) };
}

function toArtifact(input: ArtifactInput, agentId: string): Artifact {
  const parts: Part[] = input.parts.map((p) => (typeof p === 'string' ? { type: 'TextPart', content: p } : p));
  normalizeMessage({ parts });
  const artifact: Artifact = { artifactId: newArtifactId(), name: input.name, parts, createdAt: isoNow(), createdBy: agentId };
  if (input.description !== undefined) artifact.description = input.description;
  if (input.version !== undefined) artifact.version = input.version;
  if (input.metadata !== undefined) artifact.metadata = input.metadata;
  return artifact;
}

function textOf(message: Message): string {
  return message.parts.map((p) => (p.type === 'TextPart' ? p.content : '')).join('');
}
