/**
 * The Prometheus registry of one server (prom-client): never the global one, so several servers
 * in a process (tests, the single server) do not collide. Process metrics (CPU, memory, event
 * loop lag, GC, handles) use prom-client's default names, with no prefix.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricsOptions {
  /** prom-client's process metrics (process_*, nodejs_*) on this registry (default true). */
  defaultMetrics?: boolean;
  /** Labels added to every series of this registry (e.g. { service: 'finance' }). */
  defaultLabels?: Record<string, string>;
}

export function createMetricsRegistry(options: MetricsOptions = {}): Registry {
  const registry = new Registry();
  if (options.defaultLabels !== undefined) registry.setDefaultLabels(options.defaultLabels);
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  return registry;
}
