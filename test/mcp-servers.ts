import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { freePort } from '../lib/process/ports';

const require = createRequire(import.meta.url);

/** The entry script of an npm MCP server package (run with this Node, not through npx). */
export const mcpServerScript = (pkg: 'server-everything' | 'server-filesystem' | 'server-memory') =>
  require.resolve(`@modelcontextprotocol/${pkg}/dist/index.js`);

/** `@modelcontextprotocol/server-everything` in its streamable HTTP mode, on a free port (or the one given). */
export async function startEverythingHttp(port?: number): Promise<{ url: string; process: ChildProcess }> {
  port ??= await freePort();
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
    child.once('exit', (code) => reject(new Error(`server-everything exited (${code}): ${output}`)));
  });
  return { url: `http://127.0.0.1:${port}/mcp`, process: child };
}
