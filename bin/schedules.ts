/**
 * `npm run cli -- schedules ...`: the tenant's schedules (Temporal Schedules of batch jobs) through /v1/schedules.
 *   schedules                                          list, with the spec in words, state, next and last run
 *   schedules create <name> --job retention|sync [--collection <name> --source <id>] [--every 2s]... [--cron "0 2 * * *"]...
 *             [--timezone Europe/Berlin] [--jitter 30s] [--overlap skip] [--catchup-window 1m] [--pause-on-failure]
 *             [--keep answers=30,spans=7] [--paused [--note text]] [--description text]
 *   schedules describe|runs|delete <id|name>
 *   schedules update <id|name> [--rename n] [--every ...] [--cron ...] [--timezone ...] [--jitter ...] [--overlap ...]
 *   schedules pause|unpause <id|name> [--note text]
 *   schedules trigger <id|name> [--overlap allow_all]
 *   schedules backfill <id|name> --start <iso> --end <iso> [--overlap allow_all]
 */
import type { Command } from 'commander';
import { table } from './usage';

type Api = <T>(method: string, path: string, body?: unknown) => Promise<T>;

interface ScheduleView {
  id: string;
  temporalScheduleId: string;
  name: string;
  description: string;
  job: { type: string; collectionId?: string; sourceId?: string; ages?: Record<string, number | null> };
  spec: Record<string, unknown>;
  policy: { overlap: string; catchupWindow: string; pauseOnFailure: boolean };
  state: { paused: boolean; note: string | null };
  preview: string;
  createdBy: string;
  createdAt: string;
  nextRuns: string[];
  recentRuns: Array<{ workflowId: string; scheduledAt: string; status: string | null }>;
  running: string[];
  counts: { taken: number; skippedOverlap: number; missedCatchup: number };
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

function keepOption(text: string): Record<string, number | null> {
  const ages: Record<string, number | null> = {};
  for (const part of text.split(',').filter(Boolean)) {
    const [kind, days] = part.split('=');
    ages[kind!.trim()] = days === 'forever' ? null : Number(days);
  }
  return ages;
}

interface SpecOptions {
  every?: string[];
  cron?: string[];
  timezone?: string;
  jitter?: string;
}

const specOf = (o: SpecOptions) => ({
  ...(o.cron?.length ? { cron: o.cron } : {}),
  ...(o.every?.length ? { intervals: o.every.map((every) => ({ every })) } : {}),
  ...(o.timezone ? { timezone: o.timezone } : {}),
  ...(o.jitter ? { jitter: o.jitter } : {}),
});

export function registerSchedulesCommand(program: Command, api: Api, fail: (message: string) => Error): void {
  const byIdOrName = async (ref: string): Promise<ScheduleView> => {
    const { schedules } = await api<{ schedules: ScheduleView[] }>('GET', '/v1/schedules');
    const found = schedules.find((s) => s.id === ref || s.name === ref);
    if (!found) throw fail(`No schedule "${ref}" (list them: npm run cli -- schedules).`);
    return found;
  };
  const path = (s: ScheduleView, rest = '') => `/v1/schedules/${s.id}${rest}`;
  const last = (s: ScheduleView) => s.recentRuns[0];
  const describe = (s: ScheduleView) =>
    [
      `${s.name}  (${s.id}; Temporal: ${s.temporalScheduleId})`,
      s.description && `  ${s.description}`,
      `  job:      ${s.job.type}${s.job.sourceId ? ` source ${s.job.sourceId} of collection ${s.job.collectionId}` : ''}`,
      `  when:     ${s.preview}`,
      `  policy:   overlap ${s.policy.overlap}, catch-up window ${s.policy.catchupWindow}${s.policy.pauseOnFailure ? ', pause on failure' : ''}`,
      `  state:    ${s.state.paused ? 'paused' : 'active'}${s.state.note ? ` — ${s.state.note}` : ''}`,
      `  runs:     ${s.counts.taken} started, ${s.counts.skippedOverlap} skipped (overlap), ${s.counts.missedCatchup} missed (catch-up), ${s.running.length} running`,
      `  next:     ${s.nextRuns.join(', ') || '-'}`,
      ...s.recentRuns.map((r) => `  recent:   ${r.scheduledAt}  ${r.status ?? 'starting'}  ${r.workflowId}`),
      `  created:  ${s.createdAt} by ${s.createdBy}`,
    ]
      .filter(Boolean)
      .join('\n');

  const schedules = program
    .command('schedules')
    .description("the tenant's schedules of batch jobs")
    .action(async () => {
      const { schedules: rows } = await api<{ schedules: ScheduleView[] }>('GET', '/v1/schedules');
      if (!rows.length) return console.log('no schedules');
      console.log(
        table(
          ['name', 'job', 'when', 'state', 'next run', 'last run', 'id'],
          rows.map((s) => [
            s.name,
            s.job.type,
            s.preview,
            s.state.paused ? 'paused' : 'active',
            s.nextRuns[0] ?? '-',
            last(s) ? `${last(s)!.scheduledAt} ${last(s)!.status ?? 'starting'}` : '-',
            s.id,
          ]),
        ),
      );
    });

  schedules
    .command('create <name>')
    .description('create a schedule: at least one --every or --cron')
    .requiredOption('--job <job>', 'retention or sync')
    .option('--collection <name>', 'sync: the collection (by name)')
    .option('--source <id>', 'sync: the source id')
    .option('--every <duration>', 'an interval such as 2s, 15m, 1h, 1d (repeatable)', collect)
    .option('--cron <expression>', 'a 5-field cron expression (repeatable)', collect)
    .option('--timezone <zone>', 'IANA time zone of the cron expressions (default UTC)')
    .option('--jitter <duration>', 'start each run up to this much later, at random')
    .option('--overlap <policy>', 'skip, buffer_one, buffer_all, cancel_other, terminate_other, allow_all')
    .option('--catchup-window <duration>', 'how late a missed run may still start (default 1m)')
    .option('--pause-on-failure', 'pause the schedule when a run fails')
    .option('--keep <ages>', 'retention: days per kind, e.g. answers=30,spans=7,audit=forever')
    .option('--paused', 'create it paused')
    .option('--note <text>', 'a note on its state')
    .option('--description <text>', 'what it is for')
    .action(
      async (
        name: string,
        o: SpecOptions & {
          job: string;
          collection?: string;
          source?: string;
          overlap?: string;
          catchupWindow?: string;
          pauseOnFailure?: boolean;
          keep?: string;
          paused?: boolean;
          note?: string;
          description?: string;
        },
      ) => {
        let job: Record<string, unknown>;
        if (o.job === 'retention') job = { type: 'retention', ...(o.keep ? { ages: keepOption(o.keep) } : {}) };
        else if (o.job === 'sync') {
          if (!o.collection || !o.source) throw fail('A sync job needs --collection <name> and --source <id>.');
          const { collections } = await api<{ collections: Array<{ id: string; name: string }> }>(
            'GET',
            '/v1/collections',
          );
          const c = collections.find((x) => x.name === o.collection || x.id === o.collection);
          if (!c) throw fail(`No collection named "${o.collection}".`);
          job = { type: 'syncSource', collectionId: c.id, sourceId: o.source };
        } else throw fail('--job is retention or sync.');
        const policy = {
          ...(o.overlap ? { overlap: o.overlap } : {}),
          ...(o.catchupWindow ? { catchupWindow: o.catchupWindow } : {}),
          ...(o.pauseOnFailure ? { pauseOnFailure: true } : {}),
        };
        const created = await api<ScheduleView>('POST', '/v1/schedules', {
          name,
          ...(o.description ? { description: o.description } : {}),
          job,
          spec: specOf(o),
          policy,
          ...(o.paused ? { paused: true } : {}),
          ...(o.note ? { note: o.note } : {}),
        });
        console.log(describe(created));
      },
    );

  schedules.command('describe <schedule>').action(async (ref: string) => {
    console.log(describe(await api<ScheduleView>('GET', path(await byIdOrName(ref)))));
  });

  schedules
    .command('update <schedule>')
    .description('change a schedule (a new --every/--cron replaces the whole spec)')
    .option('--rename <name>', 'a new name')
    .option('--description <text>', 'what it is for')
    .option('--every <duration>', 'an interval (repeatable)', collect)
    .option('--cron <expression>', 'a cron expression (repeatable)', collect)
    .option('--timezone <zone>', 'IANA time zone')
    .option('--jitter <duration>', 'random delay up to this')
    .option('--overlap <policy>', 'overlap policy')
    .option('--catchup-window <duration>', 'catch-up window')
    .action(
      async (
        ref: string,
        o: SpecOptions & { rename?: string; description?: string; overlap?: string; catchupWindow?: string },
      ) => {
        const s = await byIdOrName(ref);
        const specChanged = Boolean(o.every?.length || o.cron?.length || o.timezone || o.jitter);
        const spec = specChanged
          ? {
              ...(o.every?.length || o.cron?.length ? {} : { cron: s.spec.cron, intervals: s.spec.intervals }),
              ...specOf(o),
              ...(o.timezone ? {} : { timezone: s.spec.timezone }),
            }
          : undefined;
        const policy =
          o.overlap || o.catchupWindow
            ? {
                ...(o.overlap ? { overlap: o.overlap } : {}),
                ...(o.catchupWindow ? { catchupWindow: o.catchupWindow } : {}),
              }
            : undefined;
        const updated = await api<ScheduleView>('PATCH', path(s), {
          ...(o.rename ? { name: o.rename } : {}),
          ...(o.description !== undefined ? { description: o.description } : {}),
          ...(spec ? { spec } : {}),
          ...(policy ? { policy } : {}),
        });
        console.log(describe(updated));
      },
    );

  for (const verb of ['pause', 'unpause'] as const) {
    schedules
      .command(`${verb} <schedule>`)
      .option('--note <text>', 'why')
      .action(async (ref: string, o: { note?: string }) => {
        const s = await byIdOrName(ref);
        console.log(describe(await api<ScheduleView>('POST', path(s, `/${verb}`), o.note ? { note: o.note } : {})));
      });
  }

  schedules
    .command('trigger <schedule>')
    .description("start the schedule's job now")
    .option('--overlap <policy>', 'the overlap policy for this run')
    .action(async (ref: string, o: { overlap?: string }) => {
      const s = await byIdOrName(ref);
      await api('POST', path(s, '/trigger'), o.overlap ? { overlap: o.overlap } : {});
      console.log(`triggered ${s.name}`);
    });

  schedules
    .command('backfill <schedule>')
    .description('start the runs the schedule would have started between two times')
    .requiredOption('--start <iso>', 'start of the range')
    .requiredOption('--end <iso>', 'end of the range')
    .option('--overlap <policy>', 'the overlap policy for these runs')
    .action(async (ref: string, o: { start: string; end: string; overlap?: string }) => {
      const s = await byIdOrName(ref);
      await api('POST', path(s, '/backfill'), o);
      console.log(`backfilling ${s.name} from ${o.start} to ${o.end}`);
    });

  schedules.command('runs <schedule>').action(async (ref: string) => {
    const s = await byIdOrName(ref);
    const { runs } = await api<{ runs: Array<{ workflowId: string; status: string; startTime: string }> }>(
      'GET',
      path(s, '/runs?pageSize=50'),
    );
    console.log(
      runs.length
        ? table(
            ['started', 'status', 'run'],
            runs.map((r) => [r.startTime, r.status, r.workflowId]),
          )
        : 'no runs yet',
    );
  });

  schedules.command('delete <schedule>').action(async (ref: string) => {
    const s = await byIdOrName(ref);
    await api('DELETE', path(s));
    console.log(`deleted ${s.name} (its runs stay)`);
  });
}
