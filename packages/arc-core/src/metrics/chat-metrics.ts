/**
 * Chat metrics, as the router's ChatLifecycle observer (router/chat-lifecycle.ts):
 *
 *   arc_chats_opened_total{agent}   counter: chats this process started (chat.start answered)
 *   arc_chats_closed_total{agent}   counter: chats this process closed (chat.end answered)
 *   arc_active_chats{agent}         gauge: active chats in the chat store, read when scraped;
 *                                   only with a store that knows it cheaply (ChatStore.activeChats:
 *                                   the in-memory store). With Redis it is absent: sum
 *                                   opened − closed over the replicas instead (expired chats
 *                                   are in neither), or count the keys yourself; /metrics
 *                                   never scans Redis.
 *
 * A chat.start whose handler fails is created, then discarded: it is not counted as opened
 * (the open is undone), nor as closed. The counter never goes down: a scrape that falls while
 * such a handler runs may already include that chat, and the counter then waits until later
 * opens make up for it.
 *
 * Labels stay bounded: an agent is one mounted on this server (the lifecycle runs only after
 * routing found it). Same style as request-metrics.ts: plain numbers per agent, handed to
 * prom-client when /metrics is scraped.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ChatObserver } from '../router/chat-lifecycle';
import type { ChatStore } from '../state/chat-store';

interface AgentChats {
  readonly agent: string;
  opened: number;
  discarded: number;
  closed: number;
  openedFlushed: number;
  closedFlushed: number;
  /** Both series exist (from 0) once the agent has a chat, so rate() and opened − closed work. */
  listed: boolean;
}

export class ChatMetrics implements ChatObserver {
  private readonly opened: Counter<'agent'>;
  private readonly closed: Counter<'agent'>;
  private readonly agents = new Map<string, AgentChats>();

  constructor(registry: Registry, store: Pick<ChatStore, 'activeChats'>) {
    const flush = (): void => this.flush();
    this.opened = new Counter({
      name: 'arc_chats_opened_total',
      help: 'Chats started by this process (chat.start answered), by agent',
      labelNames: ['agent'] as const,
      registers: [registry],
      collect: flush,
    });
    this.closed = new Counter({
      name: 'arc_chats_closed_total',
      help: 'Chats closed by this process (chat.end answered), by agent',
      labelNames: ['agent'] as const,
      registers: [registry],
      collect: flush,
    });
    if (store.activeChats !== undefined) {
      const agents = this.agents;
      new Gauge({
        name: 'arc_active_chats',
        help: 'Active chats in the chat store, by agent',
        labelNames: ['agent'] as const,
        registers: [registry],
        collect() {
          for (const cells of agents.values()) this.set({ agent: cells.agent }, store.activeChats!(cells.agent));
        },
      });
    }
  }

  onChatOpened(agentId: string): void {
    this.cells(agentId).opened++;
  }

  onChatDiscarded(agentId: string): void {
    this.cells(agentId).discarded++;
  }

  onChatClosed(agentId: string): void {
    this.cells(agentId).closed++;
  }

  private cells(agentId: string): AgentChats {
    let cells = this.agents.get(agentId);
    if (cells === undefined) {
      cells = { agent: agentId, opened: 0, discarded: 0, closed: 0, openedFlushed: 0, closedFlushed: 0, listed: false };
      this.agents.set(agentId, cells);
    }
    return cells;
  }

  /** At scrape time (both counters call it; the second finds nothing new): what each agent gained. */
  private flush(): void {
    for (const cells of this.agents.values()) {
      if (!cells.listed) {
        this.opened.inc({ agent: cells.agent }, 0);
        this.closed.inc({ agent: cells.agent }, 0);
        cells.listed = true;
      }
      const opened = cells.opened - cells.discarded;
      if (opened > cells.openedFlushed) {
        this.opened.inc({ agent: cells.agent }, opened - cells.openedFlushed);
        cells.openedFlushed = opened;
      }
      if (cells.closed > cells.closedFlushed) {
        this.closed.inc({ agent: cells.agent }, cells.closed - cells.closedFlushed);
        cells.closedFlushed = cells.closed;
      }
    }
  }
}
