/**
 * What an agent's task handler gets: the task as it stands (a read-only view) and a context to
 * report on it. The handler does the work; the core runs the lifecycle:
 *
 *   agent.onTask(async (task, ctx) => {
 *     await ctx.progress('Collecting invoices');            // STATUS_CHANGE, status WORKING
 *     if (!invoiceNumber(task.messages)) ctx.requestInput('Which invoice number?');  // → INPUT_REQUIRED
 *     await ctx.artifact({ name: 'summary', parts: ['…'] });  // NEW_ARTIFACT
 *     return 'Summary ready';                                // → COMPLETED, with this agent message
 *   });
 *
 * Returning completes the task; throwing an ArcError fails it with that error; `requestInput`
 * parks it in INPUT_REQUIRED without holding anything: when task.send brings the answer the
 * handler runs again (on any replica) with the new message in `task.messages`. `ctx.signal`
 * aborts on cancel, on the time limit and when the worker shuts down.
 */
import type { Logger } from '../logging/logger';
import type { Artifact, Message, Part, TaskPriority, TaskStatus } from '../protocol/types';

export interface TaskView {
  readonly taskId: string;
  readonly agentId: string;
  /** Who created the task. */
  readonly requestAgent: string;
  readonly status: TaskStatus;
  readonly priority: TaskPriority;
  readonly createdAt: string;
  /** Every message so far: the initial one, the agent's, and those task.send added. */
  readonly messages: readonly Message[];
  readonly artifacts: readonly Artifact[];
  readonly metadata: Readonly<Record<string, unknown>> | undefined;
  /** 1 on the first run; more when the run is tried again after a crash or an error. */
  readonly attempt: number;
}

/** An artifact to add: parts may be plain strings (text parts). */
export interface ArtifactInput {
  name: string;
  parts: ReadonlyArray<Part | string>;
  description?: string;
  version?: string;
  metadata?: Record<string, unknown>;
}

/** What a task handler may return: nothing, a final agent message, and/or artifacts. */
export type TaskOutcome = void | undefined | string | Message | { message?: string | Message; artifacts?: ArtifactInput[] };

export interface TaskContext {
  readonly taskId: string;
  readonly agentId: string;
  readonly attempt: number;
  readonly traceId: string | undefined;
  /** Aborted on task.cancel, when the run's time is up, and when the worker shuts down. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /** Reports progress: the task stays WORKING, subscribers get STATUS_CHANGE with this message. */
  progress(message: string): Promise<void>;
  /** Adds an agent message to the task (NEW_MESSAGE). */
  message(message: string | Message): Promise<void>;
  /** Adds an artifact (NEW_ARTIFACT); resolves with it as stored (artifactId, createdAt). */
  artifact(artifact: ArtifactInput): Promise<Artifact>;
  /** The task's messages now (task.send may have added some since the run started). */
  messages(): Promise<Message[]>;
  /** Asks the caller for input: ends this run, the task waits in INPUT_REQUIRED (TASK_PAUSED). */
  requestInput(prompt: string): never;
}

export type TaskHandler = (task: TaskView, ctx: TaskContext) => TaskOutcome | Promise<TaskOutcome>;

/** Thrown by ctx.requestInput; the runner turns it into INPUT_REQUIRED. */
export class InputRequired extends Error {
  constructor(readonly prompt: string) {
    super(`input required: ${prompt}`);
    this.name = 'InputRequired';
  }
}
