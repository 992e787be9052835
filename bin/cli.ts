/**
 * BeyondCloud CLI, against a running API (`npm start`):
 *   npm run cli -- collections
 *   npm run cli -- collections create <name> [--chunk-size 400] [--chunk-overlap 60] [--no-combine-sections]
 *   npm run cli -- ingest <path|url>... --collection <name>     (folders are walked; one upload, one ingest run,
 *                                                                 a live progress bar)
 *   npm run cli -- documents --collection <name>
 *   npm run cli -- keys                                            (the tenant's API keys; admin keys only)
 *   npm run cli -- keys create <name> --role viewer [--expires-in-days 90]   (prints the new key once)
 *   npm run cli -- keys revoke <id>
 *   npm run cli -- keys rotate <id>                                (prints the new key once)
 *   npm run cli -- tenants                                         (platform admin: every tenant)
 *   npm run cli -- tenants create <name> [--admin-email e [--admin-password-stdin] [--admin-name n]]
 *                                   (an unknown admin email without a password is invited; the link is printed once)
 *   npm run cli -- users                                           (the tenant's members; admin)
 *   npm run cli -- users add <email> --role r [--password-stdin] [--name n]   (a new user needs the password)
 *   npm run cli -- users set-role <userId|email> <role>
 *   npm run cli -- users remove <userId|email>                     (also ends their sessions in the tenant)
 *   npm run cli -- users invite <email> --role r [--expires-in-days 7]        (prints the invitation link once)
 *   npm run cli -- usage [--range 24h|7d|30d | --from <iso> --to <iso>] [--json]   (tokens, cost, durations)
 *   npm run cli -- schedules [create|describe|update|pause|unpause|trigger|backfill|runs|delete] ...  (bin/schedules.ts)
 *   npm run cli -- sources list|add|sync|delete --collection <name> ...                      (bin/sources.ts)
 *   npm run cli -- datasets list|create|import|export|from-answers|show ...                  (bin/datasets.ts)
 *   npm run cli -- prompts list|show|add|label ...                                           (bin/prompts.ts)
 *   npm run cli -- evals [start|show|items|cancel] ... ; experiments [create|show] ...      (bin/evals.ts)
 *   npm run cli -- replays start|list|show ...                                               (bin/replays.ts)
 * BC_API_URL (default http://127.0.0.1:8080) and BC_API_KEY (an API key) say where and who. Passwords are read from
 * stdin (never an argument, which other users of the machine can see in the process list).
 */
import { randomUUID } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SingleBar } from 'cli-progress';
import { Command } from 'commander';
import { groupBySize, type IngestProgress } from '../lib/contracts';
import { registerUsageCommand } from './usage';
import { registerSchedulesCommand } from './schedules';
import { registerSourcesCommand } from './sources';
import { registerEvalsCommand } from './evals';
import { registerDatasetsCommand } from './datasets';
import { registerPromptsCommand } from './prompts';
import { registerReplaysCommand } from './replays';

const apiUrl = (process.env.BC_API_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
const apiKey = process.env.BC_API_KEY;

class CliError extends Error {}

async function api<T>(method: string, path: string, body?: unknown, form?: FormData): Promise<T> {
  if (!apiKey) throw new CliError('Set BC_API_KEY to an API key (npm start prints the admin key on first start).');
  let res: Response;
  try {
    res = await fetch(apiUrl + path, {
      method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: form ?? (body !== undefined ? JSON.stringify(body) : undefined),
    });
  } catch (e) {
    throw new CliError(`Cannot reach the API at ${apiUrl}: ${(e as Error).message}`);
  }
  const text = await res.text();
  const json = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    const err = (json as { error?: { code: string; message: string } } | undefined)?.error;
    throw new CliError(err ? `${err.message} (${err.code}, HTTP ${res.status})` : `HTTP ${res.status}`);
  }
  return json as T;
}

interface CollectionRow {
  id: string;
  name: string;
  embeddingModel: string;
  documentCount: number;
  chunkCount: number;
}

async function collectionByName(name: string): Promise<CollectionRow> {
  const { collections } = await api<{ collections: CollectionRow[] }>('GET', '/v1/collections');
  const c = collections.find((x) => x.name === name);
  if (!c) throw new CliError(`No collection named "${name}" (create it: npm run cli -- collections create ${name}).`);
  return c;
}

async function walk(path: string): Promise<string[]> {
  const s = await stat(path);
  if (s.isFile()) return [path];
  const out: string[] = [];
  for (const entry of (await readdir(path, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    out.push(...(await walk(join(path, entry.name))));
  }
  return out;
}

type Progress = IngestProgress;

async function follow(workflowId: string, bar: SingleBar): Promise<Progress> {
  for (;;) {
    const run = await api<{ status: string; progress: Progress | null }>(
      'GET',
      `/v1/ingests/${encodeURIComponent(workflowId)}`,
    );
    if (run.progress) {
      bar.setTotal(run.progress.total);
      bar.update(run.progress.done, { chunks: run.progress.chunks, failed: run.progress.failed });
    }
    if (run.status !== 'running' && run.status !== 'continued_as_new') {
      if (!run.progress) throw new CliError(`The ingest run ended ${run.status}.`);
      return run.progress;
    }
    await sleep(500);
  }
}

const program = new Command('beyondcloud').description('BeyondCloud command line');

const collections = program
  .command('collections')
  .description('list collections')
  .action(async () => {
    const { collections: rows } = await api<{ collections: CollectionRow[] }>('GET', '/v1/collections');
    if (!rows.length) console.log('No collections yet.');
    for (const c of rows)
      console.log(`${c.name}\t${c.documentCount} documents\t${c.chunkCount} chunks\t${c.embeddingModel}\t${c.id}`);
  });
collections
  .command('create <name>')
  .option('--chunk-size <tokens>', 'chunk size in tokens', (v) => Number(v))
  .option('--chunk-overlap <tokens>', 'overlap in tokens', (v) => Number(v))
  .option('--embedding-model <model>')
  .option('--no-combine-sections', 'one chunk or more per section, never several short sections in one chunk')
  .action(
    async (
      name: string,
      o: { chunkSize?: number; chunkOverlap?: number; embeddingModel?: string; combineSections: boolean },
    ) => {
      const c = await api<{ id: string }>('POST', '/v1/collections', {
        name,
        chunkSize: o.chunkSize,
        chunkOverlap: o.chunkOverlap,
        embeddingModel: o.embeddingModel,
        combineSections: o.combineSections,
      });
      console.log(`created ${name} (${c.id})`);
    },
  );

/** Files per upload request, and bytes (a larger file goes alone): well inside the API's request limits. */
const REQUEST_FILES = 50;
const REQUEST_BYTES = 16 * 1024 * 1024;
const REQUEST_URLS = 1000;

/** Files in request-sized groups, in order. */
async function requestGroups(files: string[]): Promise<string[][]> {
  const sizes = await Promise.all(files.map(async (f) => (await stat(f)).size));
  return groupBySize(sizes, { maxItems: REQUEST_FILES, maxSize: REQUEST_BYTES }).map((g) => g.map((i) => files[i]!));
}

program
  .command('ingest <sources...>')
  .description('upload files and folders, or register URLs, as one upload ingested by one run, and follow it')
  .requiredOption('-c, --collection <name>')
  .action(async (sources: string[], o: { collection: string }) => {
    const c = await collectionByName(o.collection);
    const urls = sources.filter((s) => /^https?:\/\//i.test(s));
    const files = (await Promise.all(sources.filter((s) => !urls.includes(s)).map(walk))).flat();
    if (!files.length && !urls.length) throw new CliError('Nothing to ingest.');
    // Every request carries the upload's id; its one run starts once everything is sent (a folder of any size).
    const upload = randomUUID();
    const sending = new SingleBar({ format: '{bar} {value}/{total} files sent', hideCursor: true });
    if (files.length) sending.start(files.length, 0);
    for (const group of await requestGroups(files)) {
      const form = new FormData();
      for (const f of group) form.append('file', new Blob([await readFile(f)]), basename(f));
      await api('POST', `/v1/collections/${c.id}/documents?upload=${upload}`, undefined, form);
      sending.increment(group.length);
    }
    if (files.length) sending.stop();
    for (let i = 0; i < urls.length; i += REQUEST_URLS)
      await api('POST', `/v1/collections/${c.id}/urls`, { urls: urls.slice(i, i + REQUEST_URLS), upload });
    const { workflowId } = await api<{ workflowId: string }>(
      'POST',
      `/v1/collections/${c.id}/uploads/${upload}/ingest`,
      {},
    );
    const bar = new SingleBar({
      format: '{bar} {value}/{total} documents | {chunks} chunks | {failed} failed',
      hideCursor: true,
    });
    bar.start(1, 0, { chunks: 0, failed: 0 });
    const p = await follow(workflowId, bar);
    bar.stop();
    console.log(
      `${p.done} documents: ${p.done - p.failed - p.skipped} stored, ${p.skipped} unchanged, ${p.failed} failed; ${p.chunks} chunks`,
    );
    if (p.failures.length) {
      const { documents } = await api<{ documents: Array<{ id: string; source: string }> }>(
        'GET',
        `/v1/collections/${c.id}/documents`,
      );
      const names = new Map(documents.map((d) => [d.id, d.source]));
      for (const f of p.failures) console.log(`  failed: ${names.get(f.documentId) ?? f.documentId}: ${f.reason}`);
    }
    console.log(`run: ${workflowId}`);
  });

program
  .command('documents')
  .requiredOption('-c, --collection <name>')
  .action(async (o: { collection: string }) => {
    const c = await collectionByName(o.collection);
    const { documents } = await api<{
      documents: Array<{ source: string; status: string; chunkCount: number; error: string | null }>;
    }>('GET', `/v1/collections/${c.id}/documents`);
    for (const d of documents)
      console.log(`${d.status}\t${d.chunkCount} chunks\t${d.source}${d.error ? `\t${d.error}` : ''}`);
  });

interface KeyRow {
  id: string;
  name: string;
  role: string;
  prefix: string;
  status: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
}

const keyLine = (k: KeyRow) =>
  [
    k.id,
    k.name,
    k.role,
    `${k.prefix}…`,
    k.status,
    `expires ${k.expiresAt ?? 'never'}`,
    `last used ${k.lastUsedAt ?? 'never'}`,
  ].join('\t');

/** The new key goes to stdout alone on its line, so `| tail -1` or a script can take it. */
const printNewKey = (k: KeyRow & { key: string }) => {
  console.error(`${k.name} (${k.role}, ${k.id}): shown this once, store it now`);
  console.log(k.key);
};

const keys = program
  .command('keys')
  .description("list the tenant's API keys")
  .action(async () => {
    const { keys: rows } = await api<{ keys: KeyRow[] }>('GET', '/v1/keys');
    for (const k of rows) console.log(keyLine(k));
  });
keys
  .command('create <name>')
  .requiredOption('--role <role>', 'admin, operator or viewer')
  .option('--expires-in-days <days>', 'the key stops working after this many days', (v) => Number(v))
  .action(async (name: string, o: { role: string; expiresInDays?: number }) => {
    printNewKey(
      await api<KeyRow & { key: string }>('POST', '/v1/keys', { name, role: o.role, expiresInDays: o.expiresInDays }),
    );
  });
keys.command('revoke <id>').action(async (id: string) => {
  console.log(keyLine(await api<KeyRow>('POST', `/v1/keys/${encodeURIComponent(id)}/revoke`)));
});
keys
  .command('rotate <id>')
  .description('a new key with the same name, role and expiry; the old one is revoked')
  .action(async (id: string) => {
    printNewKey(await api<KeyRow & { key: string }>('POST', `/v1/keys/${encodeURIComponent(id)}/rotate`));
  });

/** The first line of stdin, for a password piped or typed in. */
async function readStdinLine(what: string): Promise<string> {
  if (process.stdin.isTTY) console.error(`${what}:`);
  let data = '';
  for await (const chunk of process.stdin) {
    data += String(chunk);
    if (data.includes('\n')) break;
  }
  const line = data.split(/\r?\n/)[0] ?? '';
  if (!line) throw new CliError(`No ${what.toLowerCase()} on stdin.`);
  return line;
}

interface TenantRow {
  id: string;
  name: string;
  platform: boolean;
  createdAt: string;
  members?: number;
}

interface MemberRow {
  userId: string;
  email: string;
  displayName: string;
  role: string;
  disabled: boolean;
  lastLoginAt: string | null;
}

interface InvitationRow {
  id: string;
  email: string;
  role: string;
  expiresAt: string;
  token: string;
  acceptPath: string;
}

const tenantLine = (t: TenantRow) =>
  [t.id, t.name, t.platform ? 'platform' : 'tenant', `${t.members ?? 0} members`, `created ${t.createdAt}`].join('\t');

const memberLine = (m: MemberRow) =>
  [
    m.userId,
    m.email,
    m.role,
    m.displayName,
    m.disabled ? 'disabled' : 'active',
    `last sign-in ${m.lastLoginAt ?? 'never'}`,
  ].join('\t');

/** The invitation link goes to stdout alone on its line, like a new key. */
const printInvitation = (i: InvitationRow) => {
  console.error(`invited ${i.email} as ${i.role} (${i.id}), until ${i.expiresAt}: the link is shown this once`);
  console.log(`${apiUrl}${i.acceptPath}`);
};

/** A member by user id or email, as the tenant's member list has them. */
async function memberId(idOrEmail: string): Promise<string> {
  if (!idOrEmail.includes('@')) return idOrEmail;
  const { members } = await api<{ members: MemberRow[] }>('GET', '/v1/members');
  const m = members.find((x) => x.email === idOrEmail.trim().toLowerCase());
  if (!m) throw new CliError(`No member of the tenant has the email ${idOrEmail}.`);
  return m.userId;
}

const listTenants = async () => {
  const { tenants: rows } = await api<{ tenants: TenantRow[] }>('GET', '/v1/tenants');
  for (const t of rows) console.log(tenantLine(t));
};
const tenants = program.command('tenants').description('list tenants (platform admin)').action(listTenants);
tenants.command('list').description('list tenants (platform admin)').action(listTenants);
tenants
  .command('create <name>')
  .description('create a tenant (platform admin), optionally with its first admin')
  .option('--admin-email <email>', 'the first admin: an existing user, a new one (with a password) or an invitee')
  .option('--admin-password-stdin', "read the new admin's password from stdin")
  .option('--admin-name <name>', "the new admin's display name")
  .action(async (name: string, o: { adminEmail?: string; adminPasswordStdin?: boolean; adminName?: string }) => {
    if (!o.adminEmail && (o.adminPasswordStdin || o.adminName))
      throw new CliError('--admin-password-stdin and --admin-name need --admin-email.');
    const password = o.adminPasswordStdin ? await readStdinLine('Password') : undefined;
    const created = await api<{
      tenant: TenantRow;
      admin: { id: string; email: string } | null;
      invitation: InvitationRow | null;
    }>('POST', '/v1/tenants', {
      name,
      admin: o.adminEmail ? { email: o.adminEmail, password, displayName: o.adminName } : undefined,
    });
    console.log(tenantLine(created.tenant));
    if (created.admin) console.error(`admin: ${created.admin.email} (${created.admin.id})`);
    if (created.invitation) printInvitation(created.invitation);
  });

const listMembers = async () => {
  const { members } = await api<{ members: MemberRow[] }>('GET', '/v1/members');
  for (const m of members) console.log(memberLine(m));
};
const users = program.command('users').description("list the tenant's members (admin)").action(listMembers);
users.command('list').description("list the tenant's members (admin)").action(listMembers);
users
  .command('add <email>')
  .description('add an existing user to the tenant, or create one with --password-stdin')
  .requiredOption('--role <role>', 'admin, operator or viewer')
  .option('--password-stdin', "read the new user's password from stdin")
  .option('--name <name>', "the new user's display name")
  .action(async (email: string, o: { role: string; passwordStdin?: boolean; name?: string }) => {
    const password = o.passwordStdin ? await readStdinLine('Password') : undefined;
    console.log(
      memberLine(await api<MemberRow>('POST', '/v1/members', { email, role: o.role, password, displayName: o.name })),
    );
  });
users
  .command('set-role <user> <role>')
  .description("change a member's role (user id or email)")
  .action(async (user: string, role: string) => {
    const id = await memberId(user);
    console.log(memberLine(await api<MemberRow>('PATCH', `/v1/members/${encodeURIComponent(id)}`, { role })));
  });
users
  .command('remove <user>')
  .description('remove a member from the tenant (user id or email)')
  .action(async (user: string) => {
    const id = await memberId(user);
    const { removed, revokedSessions } = await api<{ removed: MemberRow; revokedSessions: number }>(
      'DELETE',
      `/v1/members/${encodeURIComponent(id)}`,
    );
    console.log(`removed ${removed.email} (${removed.userId}); ${revokedSessions} session(s) ended`);
  });
users
  .command('invite <email>')
  .description('invite someone to the tenant; prints the invitation link once')
  .requiredOption('--role <role>', 'admin, operator or viewer')
  .option('--expires-in-days <days>', 'the link stops working after this many days (default 7)', (v) => Number(v))
  .action(async (email: string, o: { role: string; expiresInDays?: number }) => {
    printInvitation(
      await api<InvitationRow>('POST', '/v1/invitations', { email, role: o.role, expiresInDays: o.expiresInDays }),
    );
  });

registerUsageCommand(program, api, (message) => new CliError(message));
registerSchedulesCommand(program, api, (message) => new CliError(message));
registerSourcesCommand(program, api, (message) => new CliError(message));
registerDatasetsCommand(program, api, (message) => new CliError(message));
registerPromptsCommand(program, api, (message) => new CliError(message));
registerEvalsCommand(program, api, (message) => new CliError(message));
registerReplaysCommand(program, api, (message) => new CliError(message));

program.parseAsync().catch((e: unknown) => {
  console.error(`error: ${e instanceof CliError ? e.message : (e as Error).stack}`);
  process.exit(1);
});
