/**
 * The connections of one ArcClient: an http and an https Agent of its own, shared by its axios
 * calls and its streams, so that calls in a row reuse a connection (`keepAlive`, the default)
 * and client.close() can end them all.
 */
import http from 'node:http';
import https from 'node:https';

/**
 * How long an idle connection is kept: below the 5 s keep-alive timeout of Node's and Express's
 * servers, so that the server does not close a connection just as a request goes out on it (a
 * server's `Keep-Alive: timeout=n` hint shortens it further).
 */
const IDLE_SOCKET_MS = 4000;

export interface ClientAgents {
  http: http.Agent;
  https: https.Agent;
}

export function clientAgents(keepAlive: boolean): ClientAgents {
  const options = keepAlive ? { keepAlive: true, timeout: IDLE_SOCKET_MS, scheduling: 'lifo' as const } : { keepAlive: false };
  return { http: new http.Agent(options), https: new https.Agent(options) };
}

/** Ends every connection of the agents, idle or in use. */
export function destroyAgents(agents: ClientAgents): void {
  agents.http.destroy();
  agents.https.destroy();
}
