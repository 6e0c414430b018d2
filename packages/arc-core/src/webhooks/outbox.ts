/**
 * Where webhook deliveries wait. One FIFO per subscription (a subscription belongs to one task,
 * so events reach a receiver in the order they happened); the head is attempted until it is
 * delivered, refused for good (410), or too old, then the next one. Implementations:
 * MemoryOutbox (this process) and the Redis/BullMQ outbox (@arc/core/redis: durable, shared by
 * the replicas; a replica dying mid-delivery loses nothing).
 */
import type { TaskEvent } from '../protocol/types';
import type { DeliveryOutcome } from './sender';

/** One event for one subscription, ready to send. */
export interface Delivery {
  /** X-ARC-Delivery: one id per event and subscription, the same on every retry. */
  deliveryId: string;
  agentId: string;
  taskId: string;
  subscriptionId: string;
  callbackUrl: string;
  event: TaskEvent;
  /** The exact body (serializeWebhookBody), signed at each attempt. */
  body: string;
  /** Epoch ms when the event was queued (retries stop after the retry window). */
  queuedAt: number;
}

/** What one attempt of the head delivery came to, as the deliverer reports it. */
export interface AttemptResult {
  outcome: DeliveryOutcome;
  status: number;
  error?: string;
}

/** Makes one attempt; never throws. */
export type Deliverer = (delivery: Delivery, attempt: number) => Promise<AttemptResult>;

/** Called when a delivery leaves the outbox: delivered, gone (410), or given up. */
export type DeliveryDone = (delivery: Delivery, final: 'delivered' | 'gone' | 'given-up', attempts: number) => Promise<void>;

export interface RetryPolicy {
  /** First retry delay; doubles each time, with jitter (WEBHOOK_RETRY_BASE_MS, default 1000). */
  baseDelayMs: number;
  /** Longest delay between two attempts (default 60 s). */
  maxDelayMs: number;
  /** A delivery not done this long after its event is given up (WEBHOOK_RETRY_WINDOW_SECONDS, default 15 min). */
  windowMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({ baseDelayMs: 1000, maxDelayMs: 60_000, windowMs: 15 * 60_000 });

/** Delay before attempt n+1 after n failed attempts: exponential, capped, "equal jitter". */
export function retryDelay(policy: RetryPolicy, failedAttempts: number, random = Math.random): number {
  const base = Math.min(policy.baseDelayMs * 2 ** (failedAttempts - 1), policy.maxDelayMs);
  return Math.round(base / 2 + random() * (base / 2));
}

export interface Outbox {
  /** Starts delivering with `deliver`; `done` is told when a delivery leaves the outbox. */
  start(deliver: Deliverer, done: DeliveryDone): void;
  /** Queues a delivery behind the earlier ones of its subscription. */
  push(delivery: Delivery): Promise<void>;
  /** Drops what waits for a subscription (after a 410). */
  drop(subscriptionId: string): Promise<void>;
  close(): Promise<void>;
}
