import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { PortTaken, saysPortInUse, startOnFreePort } from '../lib/process/ports';

const require = createRequire(import.meta.url);

/** The entry script of an npm MCP server package (run with this Node, not through npx). */
export const mcpServerScript = (pkg: 'server-everything' | 'server-filesystem' | 'server-memory') =>
  require.resolve(`@modelcontextprotocol/${pkg}/dist/index.js`);

/** `@modelcontextprotocol/server-everything` in its streamable HTTP mode, on a free port (or the one given). */
export function startEverythingHttp(port?: number): Promise<{ url: string; process: ChildProcess }> {
  // It reads its port from PORT and cannot report one the OS chose: a port taken in between is retried.
  return port === undefined ? startOnFreePort((p) => startEverythingOn(p)) : startEverythingOn(port);
}

async function startEverythingOn(port: number): Promise<{ url: string; process: ChildProcess }> {
  const child = spawn(process.execPath, [mcpServerScript('server-everything'), 'streamableHttp'], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer) => {
      output += b.toString();
      if (output.includes('listening on port')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) =>
      reject(
        saysPortInUse(output)
          ? new PortTaken(port, 'server-everything')
          : new Error(`server-everything exited (${code}): ${output}`),
      ),
    );
  });
  return { url: `http://127.0.0.1:${port}/mcp`, process: child };
}
