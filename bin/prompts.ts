/**
 * `npm run cli -- prompts ...`: the tenant's versioned prompts through /v1/prompts.
 *   prompts [list]                                          every prompt: versions, labels, the production version
 *   prompts show <name>                                     every version's text and labels
 *   prompts add <name> --file F [--note text] [--label L]... a new version from a file, optionally labelled
 *   prompts label <name> <label> <version|none>             point a label at a version, or remove it
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { table } from './usage';

type Api = <T>(method: string, path: string, body?: unknown) => Promise<T>;

interface VersionView {
  version: number;
  shipped: boolean;
  note: string | null;
  createdBy: string | null;
  createdAt: string | null;
  labels: string[];
  text?: string;
}

interface PromptView {
  name: string;
  purpose: string;
  production: number;
  labels: Array<{ label: string; version: number }>;
  versions: VersionView[];
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerPromptsCommand(program: Command, api: Api, fail: (message: string) => Error): void {
  const path = (name: string, rest = '') => `/v1/prompts/${encodeURIComponent(name)}${rest}`;
  const labelsOf = (p: PromptView) => p.labels.map((l) => `${l.label}=${l.version}`).join(', ') || '-';
  const list = async () => {
    const { prompts: rows } = await api<{ prompts: PromptView[] }>('GET', '/v1/prompts');
    console.log(
      table(
        ['name', 'production', 'versions', 'labels', 'purpose'],
        rows.map((p) => [p.name, String(p.production), String(p.versions.length), labelsOf(p), p.purpose]),
      ),
    );
  };

  const prompts = program.command('prompts').description("the tenant's versioned prompts").action(list);
  prompts.command('list').description('every prompt with its versions and labels').action(list);

  prompts
    .command('show <name>')
    .description('every version of a prompt, with its text and labels')
    .action(async (name: string) => {
      const p = await api<PromptView>('GET', path(name));
      console.log(`${p.name}: ${p.purpose}\n  production: version ${p.production}\n  labels:     ${labelsOf(p)}`);
      for (const v of p.versions) {
        const who = v.shipped ? 'shipped' : `${v.createdAt} by ${v.createdBy}`;
        const labels = v.labels.length ? ` [${v.labels.join(', ')}]` : '';
        console.log(`\n--- version ${v.version}${labels} (${who})${v.note ? `: ${v.note}` : ''}\n${v.text ?? ''}`);
      }
    });

  prompts
    .command('add <name>')
    .description('add a version of a prompt from a file')
    .requiredOption('--file <path>', 'the prompt text')
    .option('--note <text>', 'what changed')
    .option('--label <label>', 'a label to point at the new version (repeatable; production: admins)', collect)
    .action(async (name: string, o: { file: string; note?: string; label?: string[] }) => {
      const text = await readFile(o.file, 'utf8').catch((e: Error) => {
        throw fail(`Cannot read ${o.file}: ${e.message}`);
      });
      const v = await api<VersionView & { name: string }>('POST', path(name, '/versions'), {
        text,
        ...(o.note ? { note: o.note } : {}),
        ...(o.label?.length ? { labels: o.label } : {}),
      });
      console.log(`${v.name} version ${v.version}${v.labels.length ? ` [${v.labels.join(', ')}]` : ''}`);
    });

  prompts
    .command('label <name> <label> <version>')
    .description('point a label at a version (a number), or remove it (none)')
    .action(async (name: string, label: string, raw: string) => {
      const version = raw === 'none' ? null : Number(raw);
      if (version !== null && !(Number.isInteger(version) && version >= 1))
        throw fail(`"${raw}" is not a version: give a number from 1, or none to remove the label.`);
      const r = await api<{ name: string; label: string; version: number | null; previousVersion: number | null }>(
        'PUT',
        path(name, '/labels'),
        { label, version },
      );
      const before = r.previousVersion === null ? 'unset' : `version ${r.previousVersion}`;
      const after = r.version === null ? 'removed' : `version ${r.version}`;
      console.log(`${r.name} ${r.label}: ${before} → ${after}`);
    });
}
