import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

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
export function startOnFreePort<T>(start: (port: number) => Promise<T>, attempts = 5, host = '127.0.0.1'): Promise<T> {
  return retrying(
    async () => start(await freePort(host)),
    attempts,
    (e) => e instanceof PortTaken,
  );
}

/**
 * Runs `attempt` until it succeeds, while it fails with an error `retryable` accepts, at most `attempts` times,
 * `delayMs` apart.
 */
export async function retrying<T>(
  attempt: () => Promise<T>,
  attempts: number,
  retryable: (error: unknown) => boolean,
  onRetry?: (error: unknown) => void,
  delayMs = 0,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      if (!retryable(e) || n >= attempts) throw e;
      onRetry?.(e);
      if (delayMs) await sleep(delayMs);
    }
  }
}

/** Whether a server's output says its port was in use. */
export const saysPortInUse = (output: string) => /address already in use|EADDRINUSE/i.test(output);
