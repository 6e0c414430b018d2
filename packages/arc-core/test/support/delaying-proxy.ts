/**
 * A TCP proxy in front of a real server that holds every answer back for `delayMs`, so a test
 * can act (e.g. disconnect a client) while the service is waiting on that server. Each request
 * that reaches the server is announced through `nextRequest()`.
 */
import net from 'node:net';

export interface DelayingProxy {
  url: string;
  port: number;
  /** Resolves when the next chunk from a client reaches the upstream. */
  nextRequest(): Promise<void>;
  close(): Promise<void>;
}

export async function delayingProxy(upstreamPort: number, delayMs: number, upstreamHost = '127.0.0.1'): Promise<DelayingProxy> {
  const sockets = new Set<net.Socket>();
  let waiters: (() => void)[] = [];
  const server = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, upstreamHost);
    sockets.add(client).add(upstream);
    client.on('data', (chunk) => {
      upstream.write(chunk);
      const ready = waiters;
      waiters = [];
      for (const w of ready) w();
    });
    upstream.on('data', (chunk) => {
      setTimeout(() => {
        if (!client.destroyed) client.write(chunk);
      }, delayMs);
    });
    const closeBoth = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', closeBoth).on('error', closeBoth);
    // The upstream's last answers are still on their way: close after them, not before.
    upstream.on('close', () => setTimeout(closeBoth, delayMs)).on('error', closeBoth);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    nextRequest: () => new Promise<void>((resolve) => waiters.push(resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
