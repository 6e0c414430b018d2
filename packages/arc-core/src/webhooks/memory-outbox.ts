/**
 * The in-process outbox (no Redis): a FIFO and a timer per subscription. Deliveries do not
 * survive the process, as everything else of the single server's in-memory state.
 */
import {
  DEFAULT_RETRY_POLICY,
  retryDelay,
  type Deliverer,
  type Delivery,
  type DeliveryDone,
  type Outbox,
  type RetryPolicy,
} from './outbox';

interface Lane {
  queue: Delivery[];
  busy: boolean;
  attempts: number;
  timer: NodeJS.Timeout | undefined;
}

export class MemoryOutbox implements Outbox {
  private readonly lanes = new Map<string, Lane>();
  private deliver: Deliverer | undefined;
  private done: DeliveryDone | undefined;
  private closed = false;

  constructor(private readonly policy: RetryPolicy = DEFAULT_RETRY_POLICY) {}

  start(deliver: Deliverer, done: DeliveryDone): void {
    this.deliver = deliver;
    this.done = done;
    for (const id of this.lanes.keys()) this.next(id);
  }

  async push(delivery: Delivery): Promise<void> {
    let lane = this.lanes.get(delivery.subscriptionId);
    if (!lane) {
      lane = { queue: [], busy: false, attempts: 0, timer: undefined };
      this.lanes.set(delivery.subscriptionId, lane);
    }
    lane.queue.push(delivery);
    this.next(delivery.subscriptionId);
  }

  async drop(subscriptionId: string): Promise<void> {
    const lane = this.lanes.get(subscriptionId);
    if (!lane) return;
    clearTimeout(lane.timer);
    lane.queue.length = lane.busy ? 1 : 0; // the head in flight finishes on its own
    if (!lane.busy) this.lanes.delete(subscriptionId);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const lane of this.lanes.values()) clearTimeout(lane.timer);
  }

  /** Deliveries waiting, all subscriptions together (for tests and metrics). */
  get pending(): number {
    let n = 0;
    for (const lane of this.lanes.values()) n += lane.queue.length;
    return n;
  }

  private next(subscriptionId: string): void {
    const lane = this.lanes.get(subscriptionId);
    const deliver = this.deliver;
    if (!lane || !deliver || lane.busy || lane.timer || this.closed) return;
    const head = lane.queue[0];
    if (!head) {
      this.lanes.delete(subscriptionId);
      return;
    }
    lane.busy = true;
    lane.attempts++;
    const attempts = lane.attempts;
    void deliver(head, attempts).then(async (result) => {
      lane.busy = false;
      let final: 'delivered' | 'gone' | 'given-up' | undefined;
      if (result.outcome === 'delivered' || result.outcome === 'gone') final = result.outcome;
      else if (Date.now() - head.queuedAt >= this.policy.windowMs) final = 'given-up';
      if (final) {
        if (lane.queue[0] === head) lane.queue.shift();
        lane.attempts = 0;
        await this.done?.(head, final, attempts).catch(() => undefined);
        this.next(subscriptionId);
        return;
      }
      lane.timer = setTimeout(
        () => {
          lane.timer = undefined;
          this.next(subscriptionId);
        },
        retryDelay(this.policy, attempts),
      );
      lane.timer.unref();
    });
  }
}
