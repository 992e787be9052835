import { createServer } from 'node:net';

/** A port free on loopback right now (the OS picks it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Thrown by a start function when the port it was given was taken before its server bound it. */
export class PortTaken extends Error {
  constructor(
    readonly port: number,
    what: string,
  ) {
    super(`${what}: port ${port} was taken before it could be bound`);
    this.name = 'PortTaken';
  }
}

/**
 * For servers that cannot bind port 0 themselves (the Temporal CLI, OpenBao, npm MCP servers): picks a free port and
 * starts, and when the port was taken in between (the start throws PortTaken), tries again with another one.
 */
export async function startOnFreePort<T>(
  start: (port: number) => Promise<T>,
  attempts = 5,
  host = '127.0.0.1',
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freePort(host));
    } catch (e) {
      if (!(e instanceof PortTaken) || attempt >= attempts) throw e;
    }
  }
}

/** Whether a server's output says its port was in use. */
export const saysPortInUse = (output: string) => /address already in use|EADDRINUSE/i.test(output);
