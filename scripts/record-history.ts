/**
 * Saves a finished workflow's history for the replay tests, with the Temporal CLI's own JSON export:
 *   TEMPORAL_ADDRESS=127.0.0.1:7233 npm run record:history -- <workflowId> test/histories/<name>.json
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { loadConfig } from '../lib/config';
import { acquireTemporalCli } from '../lib/temporal/cli';

const [workflowId, out] = process.argv.slice(2);
if (!workflowId || !out) {
  console.error('usage: npm run record:history -- <workflowId> <out.json>');
  process.exit(2);
}
const config = loadConfig();
const cli = await acquireTemporalCli({
  explicitPath: config.temporal.cliPath,
  cacheDir: config.temporal.cliCacheDir,
  log: console.log,
});
const address = config.temporal.address ?? `127.0.0.1:${config.temporal.devPort}`;
const { stdout } = await promisify(execFile)(
  cli,
  [
    'workflow',
    'show',
    '--workflow-id',
    workflowId,
    '--address',
    address,
    '--namespace',
    config.temporal.namespace,
    '--output',
    'json',
  ],
  { maxBuffer: 64 * 1024 * 1024 },
);
const history = JSON.parse(stdout) as { events?: unknown[] };
const events = history.events ?? [];
// The workflow id is kept beside the events: workflows that derive ids from it (child workflows) replay only with it.
await writeFile(out, JSON.stringify({ workflowId, ...history }, null, 2) + '\n');
console.log(`history of ${workflowId} (${events.length} events) written to ${out}`);
