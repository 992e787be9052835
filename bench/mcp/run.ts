/**
 * MCP tool-call overhead: what a tool call costs through the agent workflow against the same call made directly
 * with the SDK's client, same server, one run.
 *
 *   npm run bench:mcp                        # N=50 calls per agent run, 3 repetitions
 *   BENCH_N=100 BENCH_REPEAT=5 npm run bench:mcp
 *
 * Starts its own Temporal dev server, embedded Postgres (PGlite) and `@modelcontextprotocol/server-everything` in
 * streamable HTTP mode, registers it and approves its `echo` tool, and runs an in-process worker on the main and
 * tools task queues. The "model" is the scripted OpenAI-compatible test server (no hosted LLM). Per repetition:
 *   direct        N sequential `callTool(echo)` on one open client session (the baseline)
 *   direct+check  the same, each preceded by `listTools` (what the per-call pin check costs without Temporal)
 *   agent(N)      one agent run whose first model turn asks for N echo calls, then a final answer
 *   agent(1)      the same with one call
 * Marginal cost of one call through the workflow = (agent(N) - agent(1)) / (N - 1): activity dispatch on the tools
 * queue, the pin check (live listTools), the ledger rows, the call, the run event, the workflow task. Prints a table
 * and, last, one line `RESULT {json}`. Exits non-zero on any failure; everything it started is stopped on every path.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { availableParallelism, cpus } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createTenantWithKey } from '../../api/auth/api-keys';
import { AGENT_DEFAULTS, taskQueues, type AgentRunInput, type AgentRunResult } from '../../lib/contracts';
import { loadConfig } from '../../lib/config';
import { McpServerEntity, McpToolEntity } from '../../lib/db/entities';
import { startEmbeddedPostgres } from '../../lib/db/embedded';
import { createOrm, migrate } from '../../lib/db/orm';
import { createLlmGateway } from '../../lib/llm';
import { connectMcp } from '../../lib/mcp/connect';
import { McpClientPool } from '../../lib/mcp/pool';
import { approveTool, discoverTools } from '../../lib/mcp/registry';
import { freePort } from '../../lib/process/ports';
import { createTenantSecrets } from '../../lib/secrets/tenant';
import { BlobStore } from '../../lib/storage/blobs';
import { acquireTemporalCli, TEMPORAL_CLI_VERSION } from '../../lib/temporal/cli';
import { startDevServer, type DevServer } from '../../lib/temporal/dev-server';
import { startEverythingHttp } from '../../test/mcp-servers';
import { startOpenAiServer } from '../../test/openai-server';
import { createWorker } from '../../workers/worker';
import { benchLifecycle, runMain } from '../lib/lifecycle';
import { intFromEnv, median } from '../lib/env';

const round = (x: number, digits = 3) => Number(x.toFixed(digits));

async function main(): Promise<void> {
  const n = intFromEnv('BENCH_N', 50, 2, 500);
  const repeat = intFromEnv('BENCH_REPEAT', 3, 1, 20);
  const timeoutS = intFromEnv('BENCH_TIMEOUT_S', 300 + repeat * n * 2, 10, 24 * 3600);
  Runtime.install({ logger: new DefaultLogger('WARN') });

  let temporal: DevServer | undefined;
  let everything: ChildProcess | undefined;
  const { cleanups, cleanup, bounded, dispose } = benchLifecycle({
    timeoutS,
    graceS: 60,
    onHardStop: () => {
      temporal?.process.kill('SIGKILL');
      everything?.kill('SIGKILL');
    },
    onSignal: () => temporal?.process.kill('SIGTERM'),
  });

  try {
    const base = loadConfig({ ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'silent' });
    const cliPath = await bounded(
      acquireTemporalCli({
        explicitPath: base.temporal.cliPath,
        cacheDir: base.temporal.cliCacheDir,
        log: (l) => console.error(l),
      }),
    );
    console.error('starting Temporal, Postgres (PGlite), the scripted model and server-everything ...');
    const [t, pg, llm, mcpPort] = await bounded(
      Promise.all([
        startDevServer({ cliPath, port: 0, uiPort: null }),
        startEmbeddedPostgres({ port: 0 }),
        startOpenAiServer(),
        freePort(),
      ]),
    );
    temporal = t;
    cleanups.push(
      () => t.stop(),
      () => pg.stop(),
      () => llm.close(),
    );
    everything = (await bounded(startEverythingHttp(mcpPort))).process;
    const ev = everything;
    cleanups.push(async () => void ev.kill('SIGTERM'));

    const config = loadConfig({
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      OPENAI_BASE_URL: `${llm.url}/v1`,
      OPENAI_API_KEY: 'sk-bench',
      TEMPORAL_TASK_QUEUE: `bench-mcp-${randomUUID()}`,
    });
    const orm = await bounded(createOrm(pg.url, 4));
    cleanups.push(() => orm.close());
    await bounded(migrate(orm));
    const tenant = await createTenantWithKey(orm, { tenantName: 'bench', keyName: 'bench', role: 'admin' });
    const secrets = createTenantSecrets({ orm, config });
    const url = `http://127.0.0.1:${mcpPort}/mcp`;

    const em = orm.em.fork();
    const server = em.create(McpServerEntity, {
      tenantId: tenant.tenantId,
      name: 'everything',
      transport: 'http',
      url,
      headers: {},
    });
    await em.flush();
    await bounded(discoverTools(orm, server, { stdioAllowList: new Map(), secrets }));
    const echo = await orm.em.fork().findOneOrFail(McpToolEntity, { serverId: server.id, name: 'echo' });
    const approved = await approveTool(orm, tenant.tenantId, server.id, 'echo', {
      definitionHash: echo.definitionHash,
      sensitive: false,
      by: 'bench',
    });
    if (!approved.ok) throw new Error(`could not approve echo: ${approved.reason}`);

    const nativeConnection = await bounded(NativeConnection.connect({ address: t.address }));
    cleanups.push(() => nativeConnection.close());
    const connection = await bounded(Connection.connect({ address: t.address }));
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: 'default' });
    const pool = new McpClientPool({ config: config.mcp, secrets });
    cleanups.push(() => pool.close());
    const deps = {
      orm,
      llm: createLlmGateway({ config, orm }),
      blobs: new BlobStore(config.ingest.blobDir),
      config,
      mcp: pool,
    };
    const queues = taskQueues(config.temporal.taskQueue);
    console.error('bundling the workflows and starting the workers ...');
    const mainWorker = await bounded(
      createWorker({ connection: nativeConnection, namespace: 'default', taskQueue: queues.main, deps }),
    );
    const toolsWorker = await bounded(
      createWorker({
        connection: nativeConnection,
        namespace: 'default',
        taskQueue: queues.tools,
        deps,
        activitiesOnly: true,
      }),
    );

    const direct = await bounded(connectMcp({ transport: 'http', url, headers: {} }));
    cleanups.push(() => direct.close());

    const timeDirect = async (withCheck: boolean) => {
      const started = performance.now();
      for (let i = 0; i < n; i++) {
        if (withCheck) await direct.listTools();
        const r = await direct.callTool({ name: 'echo', arguments: { message: `m${i}` } });
        if (!JSON.stringify(r.content).includes(`Echo: m${i}`))
          throw new Error(`direct: unexpected answer ${JSON.stringify(r.content)}`);
      }
      return performance.now() - started;
    };
    const timeAgent = async (calls: number) => {
      llm.chat.enqueue(
        {
          reply: {
            toolCalls: Array.from({ length: calls }, (_, i) => ({
              name: 'everything__echo',
              arguments: { message: `m${i}` },
            })),
          },
        },
        { reply: { content: 'done' } },
      );
      const input: AgentRunInput = {
        tenantId: tenant.tenantId,
        goal: 'Echo.',
        tools: ['everything/echo'],
        budgets: { ...AGENT_DEFAULTS.budgets },
        approvalTimeoutMs: 60_000,
        turnsPerRun: 10,
      };
      const started = performance.now();
      const r = await client.workflow.execute<(i: AgentRunInput) => Promise<AgentRunResult>>('agent', {
        taskQueue: queues.main,
        workflowId: `agent:${tenant.tenantId}:${randomUUID()}`,
        args: [input],
        workflowExecutionTimeout: '10 minutes',
      });
      const ms = performance.now() - started;
      if (r.status !== 'completed' || r.trace.length !== calls || r.trace.some((c) => c.outcome !== 'ok'))
        throw new Error(`agent(${calls}): ${JSON.stringify(r).slice(0, 500)}`);
      return ms;
    };

    const runs = {
      direct: [] as number[],
      directChecked: [] as number[],
      agentN: [] as number[],
      agent1: [] as number[],
    };
    await Promise.all([
      mainWorker.runUntil(
        toolsWorker.runUntil(
          bounded(
            (async () => {
              console.error(`warm-up (N=${n}) ...`);
              await timeDirect(false);
              await timeAgent(1);
              await timeAgent(n);
              for (let r = 0; r < repeat; r++) {
                console.error(`repetition ${r + 1}/${repeat} ...`);
                runs.direct.push(await timeDirect(false));
                runs.directChecked.push(await timeDirect(true));
                runs.agentN.push(await timeAgent(n));
                runs.agent1.push(await timeAgent(1));
              }
            })(),
          ),
        ),
      ),
    ]);

    const perCallDirect = median(runs.direct) / n;
    const perCallChecked = median(runs.directChecked) / n;
    const perCallWorkflow = (median(runs.agentN) - median(runs.agent1)) / (n - 1);
    const fmt = (x: number) => x.toFixed(2).padStart(9);
    console.log('');
    console.log(
      `MCP tool-call overhead: server-everything echo over streamable HTTP, N=${n} calls per run, ${repeat} repetitions, medians`,
    );
    console.log(
      `node ${process.version}, ${availableParallelism()} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), Temporal CLI ${TEMPORAL_CLI_VERSION} dev server, PGlite`,
    );
    console.log('');
    console.log('mode                          per call ms   ratio vs direct');
    console.log(`direct callTool                ${fmt(perCallDirect)}   1.0x`);
    console.log(
      `direct listTools + callTool    ${fmt(perCallChecked)}   ${(perCallChecked / perCallDirect).toFixed(1)}x`,
    );
    console.log(
      `through the agent workflow     ${fmt(perCallWorkflow)}   ${(perCallWorkflow / perCallDirect).toFixed(1)}x`,
    );
    console.log('');
    console.log(
      `agent(${n}) ${median(runs.agentN).toFixed(0)} ms, agent(1) ${median(runs.agent1).toFixed(0)} ms per run (two model turns each, scripted)`,
    );
    console.log('');
    console.log(
      'RESULT ' +
        JSON.stringify({
          benchmark: 'mcp',
          date: new Date().toISOString(),
          n,
          repeat,
          runsMs: Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, v.map((x) => round(x, 1))])),
          perCallMs: {
            direct: round(perCallDirect),
            directWithListTools: round(perCallChecked),
            workflow: round(perCallWorkflow),
          },
          ratioVsDirect: {
            directWithListTools: round(perCallChecked / perCallDirect, 2),
            workflow: round(perCallWorkflow / perCallDirect, 2),
          },
        }),
    );
  } finally {
    dispose();
    await cleanup();
  }
}

runMain(main);
