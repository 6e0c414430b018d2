/**
 * Turns task lifecycle events into webhook deliveries (ARC-PROTOCOL.md §9): for every active
 * subscription of the task that wants the event, the SDK's flat body, queued in the outbox
 * behind the subscription's earlier events, sent signed (both schemes) with the SSRF guard at
 * connect time, retried with backoff until delivered, refused for good (410: the subscription is
 * deactivated) or too old. Each attempt is logged and counted in the subscription's
 * `deliveries`, which task.info shows.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logging/logger';
import type { TaskRecord, TaskStore } from '../state/task-store';
import { isoNow } from '../util/iso-now';
import { subscribed, type TaskEventRecord, type TaskEventSink } from '../tasks/events';
import type { AttemptResult, Delivery, Outbox } from './outbox';
import { serializeWebhookBody } from './payload';
import { sendWebhook, type SendWebhookOptions } from './sender';
import { webhookHeaders } from './signature';
import type { HostResolver, WebhookNetworkPolicy } from './ssrf';

export interface WebhookDispatcherOptions {
  outbox: Outbox;
  /** Where the subscriptions' delivery counters and `active` flags are kept. */
  store: TaskStore;
  logger: Logger;
  /** WEBHOOK_SECRET; without one deliveries go unsigned (and a warning is logged once). */
  secret?: string;
  policy: WebhookNetworkPolicy;
  /** Per attempt (WEBHOOK_TIMEOUT_MS, default 10 s). */
  timeoutMs?: number;
  /** Tests inject a resolver; default the system's. */
  resolve?: HostResolver;
  /** Tests may replace the HTTP sender. */
  send?: (options: SendWebhookOptions) => Promise<AttemptResult>;
}

/**
 * What became of webhooks (metrics/task-metrics.ts): once per delivery, how it left the outbox
 * (delivered, gone: 410, given-up: too old), and 'attempt-failed' for each attempt that did not
 * deliver (retried later, or given up). Only adds to numbers.
 */
export type WebhookOutcome = 'delivered' | 'gone' | 'given-up' | 'attempt-failed';

export interface WebhookObserver {
  onWebhookOutcome(outcome: WebhookOutcome): void;
}

export class WebhookDispatcher implements TaskEventSink {
  /** Set by TaskService.observe (metrics). */
  observer: WebhookObserver | undefined = undefined;
  private readonly send: (options: SendWebhookOptions) => Promise<AttemptResult>;
  private started = false;

  constructor(private readonly o: WebhookDispatcherOptions) {
    this.send = o.send ?? sendWebhook;
    if (!o.secret) o.logger.warn('webhooks: WEBHOOK_SECRET is not set; deliveries are not signed');
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.o.outbox.start(this.attempt, this.finished);
  }

  async emit(task: TaskRecord, e: TaskEventRecord): Promise<void> {
    for (const sub of task.subscriptions) {
      if (!sub.active || !subscribed(sub.events, e.event)) continue;
      const fields = {
        requestAgent: task.agentId,
        taskId: task.taskId,
        event: e.event,
        timestamp: e.timestamp,
        data: e.data,
        subscriptionId: sub.subscriptionId,
        ...(e.traceId === undefined ? {} : { traceId: e.traceId }),
      };
      const delivery: Delivery = {
        deliveryId: randomUUID(),
        agentId: task.agentId,
        taskId: task.taskId,
        subscriptionId: sub.subscriptionId,
        callbackUrl: sub.callbackUrl,
        event: e.event,
        body: serializeWebhookBody(fields),
        queuedAt: Date.now(),
      };
      await this.o.outbox.push(delivery);
    }
  }

  close(): Promise<void> {
    return this.o.outbox.close();
  }

  private readonly attempt = async (d: Delivery, attempt: number): Promise<AttemptResult> => {
    const headers = webhookHeaders({
      body: d.body,
      secret: this.o.secret,
      event: d.event,
      deliveryId: d.deliveryId,
      subscriptionId: d.subscriptionId,
    });
    let result: AttemptResult;
    try {
      result = await this.send({
        url: d.callbackUrl,
        body: d.body,
        headers,
        timeoutMs: this.o.timeoutMs,
        policy: this.o.policy,
        resolve: this.o.resolve,
      });
    } catch (err) {
      result = { outcome: 'retry', status: 0, error: err instanceof Error ? err.message : String(err) };
    }
    const meta = {
      taskId: d.taskId,
      agent: d.agentId,
      subscriptionId: d.subscriptionId,
      deliveryId: d.deliveryId,
      event: d.event,
      attempt,
      status: result.status,
    };
    if (result.outcome === 'retry') {
      this.o.logger.warn('webhook attempt failed', { ...meta, err: result.error });
      this.observer?.onWebhookOutcome('attempt-failed');
    } else {
      this.o.logger.info('webhook delivered', { ...meta, outcome: result.outcome });
    }
    const at = isoNow();
    await this.stats(d, (s) => {
      s.attempts += 1;
      s.lastStatus = result.status;
      s.lastAttemptAt = at;
      if (result.error !== undefined) s.lastError = result.error.slice(0, 200);
      else delete s.lastError;
    });
    return result;
  };

  private readonly finished = async (d: Delivery, final: 'delivered' | 'gone' | 'given-up', attempts: number): Promise<void> => {
    this.observer?.onWebhookOutcome(final);
    if (final === 'given-up') {
      this.o.logger.error('webhook given up', {
        taskId: d.taskId,
        subscriptionId: d.subscriptionId,
        deliveryId: d.deliveryId,
        event: d.event,
        attempts,
      });
    }
    await this.stats(d, (s, sub) => {
      if (final === 'delivered') s.delivered += 1;
      else if (final === 'given-up') s.failed += 1;
      else sub.active = false; // 410 Gone: the receiver wants no more
    });
    if (final === 'gone') await this.o.outbox.drop(d.subscriptionId);
  };

  private async stats(
    d: Delivery,
    change: (s: TaskRecord['subscriptions'][number]['deliveries'], sub: TaskRecord['subscriptions'][number]) => void,
  ): Promise<void> {
    try {
      await this.o.store.update(d.agentId, d.taskId, (t) => {
        const sub = t.subscriptions.find((s) => s.subscriptionId === d.subscriptionId);
        if (!sub) return undefined;
        change(sub.deliveries, sub);
        return t;
      });
    } catch (err) {
      this.o.logger.warn('webhook counters not saved', { taskId: d.taskId, err: err instanceof Error ? err.message : String(err) });
    }
  }
}
