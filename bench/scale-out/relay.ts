import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP relay on a free loopback port: each new connection goes to the next of `targets()` (round robin, skipping
 * one that refuses), bytes piped both ways. What a Kubernetes Service does for the API replicas, and, with one
 * target, the network path to the database that the scale-out run cuts.
 */
export interface Relay {
  port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Drops every open connection and refuses new ones for `ms` (a network partition); resolves when it heals. */
  cut(ms: number): Promise<void>;
  close(): Promise<void>;
}

export async function startRelay(targets: () => number[]): Promise<Relay> {
  const open = new Set<Socket>();
  let next = 0;
  let accepted = 0;
  let cutUntil = 0;
  const server: Server = createServer((client) => {
    if (Date.now() < cutUntil) {
      client.destroy();
      return;
    }
    accepted++;
    open.add(client);
    client.once('close', () => open.delete(client));
    client.pause();
    const ports = targets();
    const tryTarget = (left: number) => {
      if (!ports.length || left === 0) {
        client.destroy();
        return;
      }
      const port = ports[next++ % ports.length]!;
      const upstream = connect(port, '127.0.0.1');
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        open.add(upstream);
        upstream.once('close', () => open.delete(upstream));
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        client.once('close', () => upstream.destroy());
        upstream.once('close', () => client.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
      upstream.once('error', () => {
        if (!connected) tryTarget(left - 1);
      });
    };
    tryTarget(ports.length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get accepted() {
      return accepted;
    },
    async cut(ms) {
      cutUntil = Date.now() + ms;
      for (const s of open) s.destroy();
      await new Promise((r) => setTimeout(r, ms));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
