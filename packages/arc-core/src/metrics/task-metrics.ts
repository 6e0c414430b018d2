/**
 * Task and webhook metrics, as the router's task observer (tasks/task-records.ts,
 * webhooks/dispatcher.ts):
 *
 *   arc_task_transitions_total{agent,status}   counter: statuses tasks entered in this process
 *                                              (SUBMITTED at task.create, then each change,
 *                                              whether task.* requests or the runner made it)
 *   arc_webhook_deliveries_total{outcome}      counter: per delivery, how it left the outbox
 *                                              (delivered, gone: the receiver answered 410,
 *                                              given-up: still failing after the retry window),
 *                                              and attempt-failed per attempt that did not deliver
 *
 * Labels stay bounded: an agent is one with a task handler mounted on this server (the queue
 * serves only those), a status one of the six in tasks/transitions.ts, an outcome one of four.
 * Same style as request-metrics.ts: plain numbers, handed to prom-client when scraped.
 */
import { Counter, type Registry } from 'prom-client';
import type { TaskStatus } from '../protocol/types';
import type { TaskObserver } from '../tasks/task-service';
import { TASK_STATUSES } from '../tasks/transitions';
import type { WebhookOutcome } from '../webhooks/dispatcher';

const WEBHOOK_OUTCOMES: readonly WebhookOutcome[] = ['delivered', 'gone', 'given-up', 'attempt-failed'];

interface Cell {
  count: number;
  flushed: number;
}

export class TaskMetrics implements TaskObserver {
  private readonly transitions: Counter<'agent' | 'status'>;
  private readonly deliveries: Counter<'outcome'>;
  /** Agent → status → cell; every status of an agent gets a cell (and a series) with its first task. */
  private readonly agents = new Map<string, Map<TaskStatus, Cell>>();
  private readonly outcomes = new Map<WebhookOutcome, Cell>(WEBHOOK_OUTCOMES.map((o) => [o, { count: 0, flushed: -1 }]));

  constructor(registry: Registry) {
    this.transitions = new Counter({
      name: 'arc_task_transitions_total',
      help: 'Statuses tasks entered in this process (SUBMITTED at creation, then each change), by agent and status',
      labelNames: ['agent', 'status'] as const,
      registers: [registry],
      collect: () => this.flushTransitions(),
    });
    this.deliveries = new Counter({
      name: 'arc_webhook_deliveries_total',
      help: 'Webhook deliveries by how they left the outbox (delivered, gone, given-up), and attempts that failed (attempt-failed)',
      labelNames: ['outcome'] as const,
      registers: [registry],
      collect: () => this.flushDeliveries(),
    });
  }

  onTaskStatus(agentId: string, status: TaskStatus): void {
    const cell = (this.agents.get(agentId) ?? this.newAgent(agentId)).get(status);
    if (cell !== undefined) cell.count++;
  }

  onWebhookOutcome(outcome: WebhookOutcome): void {
    const cell = this.outcomes.get(outcome);
    if (cell !== undefined) cell.count++;
  }

  private newAgent(agentId: string): Map<TaskStatus, Cell> {
    const byStatus = new Map<TaskStatus, Cell>(TASK_STATUSES.map((s) => [s, { count: 0, flushed: -1 }]));
    this.agents.set(agentId, byStatus);
    return byStatus;
  }

  /** At scrape time: what each cell gained; a cell never flushed (flushed −1) creates its series at 0. */
  private flushTransitions(): void {
    for (const [agent, byStatus] of this.agents) {
      for (const [status, cell] of byStatus) {
        if (cell.count === cell.flushed) continue;
        this.transitions.inc({ agent, status }, cell.count - Math.max(cell.flushed, 0));
        cell.flushed = cell.count;
      }
    }
  }

  private flushDeliveries(): void {
    for (const [outcome, cell] of this.outcomes) {
      if (cell.count === cell.flushed) continue;
      this.deliveries.inc({ outcome }, cell.count - Math.max(cell.flushed, 0));
      cell.flushed = cell.count;
    }
  }
}
