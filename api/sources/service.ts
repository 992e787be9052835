import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { workflowIds } from '../../lib/contracts';
import type { Config } from '../../lib/config';
import { CollectionEntity, SourceEntity, type Collection, type Source } from '../../lib/db/entities';
import type { Orm } from '../../lib/db/orm';
import { AppError, badRequest, notFound } from '../../lib/errors';
import {
  allowedFolder,
  emptySyncProgress,
  type SourceConfig,
  type SourceKind,
  type SourceSyncRecord,
} from '../../lib/sources';
import { syncSource } from '../../workflows/sync-source';
import type { QuotaService } from '../quota/service';
import { startRun } from '../runs/start';
import { isUuid } from '../schemas';

/** A source as the API answers it. */
export interface SourceView {
  id: string;
  collectionId: string;
  kind: SourceKind;
  name: string;
  config: SourceConfig;
  createdAt: Date;
  createdBy: string;
  /** Documents the collection has from this source. */
  documents: number;
  lastSync: Omit<SourceSyncRecord, 'planned' | 'updatedAt' | 'reason' | 'removedDocumentIds'> | null;
}

export type NewSource =
  | { kind: 'urls'; name?: string; urls: string[] }
  | { kind: 'sitemap'; name?: string; url: string }
  | { kind: 'folder'; name?: string; path: string };

export interface SourcePatch {
  name?: string;
  urls?: string[];
  url?: string;
  path?: string;
}

const syncRunning = (workflowId: string) =>
  new AppError({
    code: 'sync_running',
    message: 'A sync of this source is running; wait for it to finish.',
    status: 409,
    category: 'conflict',
    details: { workflowId },
  });

/** A collection's sources, one tenant at a time: attach, list, change, detach, and start a sync. */
export class SourcesService {
  constructor(
    private readonly temporal: Client,
    private readonly orm: Orm,
    private readonly config: Config,
    /** Admits each run start within the tenant's quotas. */
    private readonly runQuotas?: QuotaService,
  ) {}

  /** The tenant's collection; another tenant's id is "not found", like a missing one. */
  async collection(tenantId: string, id: string): Promise<Collection> {
    if (!isUuid(id)) throw notFound('Collection');
    const c = await this.orm.em.fork().findOne(CollectionEntity, { id, tenantId });
    if (!c) throw notFound('Collection');
    return c;
  }

  /** The collection's source; another tenant's or collection's id is "not found", like a missing one. */
  async own(c: Collection, sourceId: string): Promise<Source> {
    if (!isUuid(sourceId)) throw notFound('Source');
    const s = await this.orm.em
      .fork()
      .findOne(SourceEntity, { id: sourceId, tenantId: c.tenantId, collectionId: c.id });
    if (!s) throw notFound('Source');
    return s;
  }

  async list(c: Collection): Promise<{ sources: SourceView[] }> {
    const sources = await this.orm.em
      .fork()
      .find(SourceEntity, { tenantId: c.tenantId, collectionId: c.id }, { orderBy: { createdAt: 'asc' } });
    const counts = await this.documentCounts(
      c.tenantId,
      sources.map((s) => s.id),
    );
    return { sources: sources.map((s) => view(s, counts.get(s.id) ?? 0)) };
  }

  async view(s: Source): Promise<SourceView> {
    return view(s, (await this.documentCounts(s.tenantId, [s.id])).get(s.id) ?? 0);
  }

  async create(c: Collection, body: NewSource, createdBy: string): Promise<SourceView> {
    const config = await this.checkedConfig(body);
    const em = this.orm.em.fork();
    const s = em.create(SourceEntity, {
      id: randomUUID(),
      tenantId: c.tenantId,
      collectionId: c.id,
      kind: body.kind,
      name: body.name?.trim() || defaultName(body.kind, config),
      config,
      createdBy,
      lastSync: null,
    });
    await em.flush();
    return view(s, 0);
  }

  /** A new name or new locations of the same kind; the next sync adds and removes documents to match. */
  async update(s: Source, patch: SourcePatch): Promise<SourceView> {
    const key = { urls: 'urls', sitemap: 'url', folder: 'path' }[s.kind];
    const other = (['urls', 'url', 'path'] as const).find((k) => k !== key && patch[k] !== undefined);
    if (other)
      throw badRequest('source_kind_mismatch', `A ${s.kind} source has no ${other}; give ${key}.`, { path: [other] });
    const em = this.orm.em.fork();
    const current = await em.findOneOrFail(SourceEntity, { id: s.id, tenantId: s.tenantId });
    if (patch[key as keyof SourcePatch] !== undefined)
      current.config = await this.checkedConfig({ kind: s.kind, ...patch } as NewSource);
    if (patch.name !== undefined) current.name = patch.name.trim() || defaultName(current.kind, current.config);
    await em.flush();
    return this.view(current);
  }

  /** Detaches the source: its documents and their chunks are deleted with it (the foreign keys cascade). */
  async delete(s: Source): Promise<void> {
    await this.orm.em.fork().nativeDelete(SourceEntity, { id: s.id, tenantId: s.tenantId });
  }

  /**
   * Starts a sync run (kind batch, within the tenant's quotas). One sync per source at a time: while one is running
   * this answers 409 sync_running. The new run is recorded on the source with a compare-and-set first, so of two
   * requests racing only one starts; the workflow checks the same record before it changes anything.
   */
  async sync(s: Source, actor: string): Promise<{ workflowId: string }> {
    const previous = s.lastSync ?? null;
    if (previous?.status === 'running' && (await this.isRunning(previous.workflowId)))
      throw syncRunning(previous.workflowId);
    const workflowId = workflowIds.batch(s.tenantId, `sync-${s.id}-${randomUUID()}`);
    const now = new Date().toISOString();
    const record: SourceSyncRecord = {
      workflowId,
      status: 'running',
      startedAt: now,
      finishedAt: null,
      updatedAt: now,
      ...emptySyncProgress(),
    };
    if (!(await this.swapLastSync(s, previous, record))) throw syncRunning(workflowId);
    try {
      await startRun(
        this.temporal,
        this.config.temporal.taskQueue,
        syncSource,
        {
          workflowId,
          args: [{ tenantId: s.tenantId, collectionId: s.collectionId, sourceId: s.id, actor, name: `sync ${s.name}` }],
          tenantId: s.tenantId,
          kind: 'batch',
          collectionId: s.collectionId,
        },
        this.runQuotas,
      );
    } catch (e) {
      await this.swapLastSync(s, record, previous);
      throw e;
    }
    return { workflowId };
  }

  /** Sets the source's last sync to `next` if it still is `expected` (compared by workflow id). */
  private async swapLastSync(
    s: Source,
    expected: SourceSyncRecord | null,
    next: SourceSyncRecord | null,
  ): Promise<boolean> {
    const changed = await this.orm.em.getConnection().execute(
      `update sources set last_sync = cast(? as jsonb)
          where id = ? and tenant_id = ? and (last_sync->>'workflowId') is not distinct from ?`,
      [next === null ? null : JSON.stringify(next), s.id, s.tenantId, expected?.workflowId ?? null],
      'run',
    );
    return (changed as { affectedRows?: number }).affectedRows === 1;
  }

  private async isRunning(workflowId: string): Promise<boolean> {
    try {
      const description = await this.temporal.workflow.getHandle(workflowId).describe();
      return description.status.name === 'RUNNING' || description.status.name === 'CONTINUED_AS_NEW';
    } catch (e) {
      if ((e as Error).name === 'WorkflowNotFoundError') return false;
      throw e;
    }
  }

  private async documentCounts(tenantId: string, ids: string[]): Promise<Map<string, number>> {
    if (!ids.length) return new Map();
    const rows = (await this.orm.em
      .getConnection()
      .getKnex()('documents')
      .select('source_id')
      .count({ n: '*' })
      .where({ tenant_id: tenantId })
      .whereIn('source_id', ids)
      .groupBy('source_id')) as Array<{ source_id: string; n: string | number }>;
    return new Map(rows.map((r) => [r.source_id, Number(r.n)]));
  }

  /** The stored config of a new or changed source; a folder must lie inside INGEST_FOLDER_ROOTS. */
  private async checkedConfig(body: NewSource): Promise<SourceConfig> {
    switch (body.kind) {
      case 'urls':
        return { urls: [...new Set(body.urls)] };
      case 'sitemap':
        return { url: body.url };
      case 'folder':
        return { path: await allowedFolder(body.path, this.config.ingest.folderRoots) };
    }
  }
}

function defaultName(kind: SourceKind, config: SourceConfig): string {
  const c = config as { urls?: string[]; url?: string; path?: string };
  if (kind === 'urls') return `${c.urls!.length} URL${c.urls!.length === 1 ? '' : 's'} (${new URL(c.urls![0]!).host})`;
  return (c.url ?? c.path)!.slice(0, 200);
}

function view(s: Source, documents: number): SourceView {
  const last = s.lastSync;
  return {
    id: s.id,
    collectionId: s.collectionId,
    kind: s.kind,
    name: s.name,
    config: s.config,
    createdAt: s.createdAt,
    createdBy: s.createdBy,
    documents,
    lastSync: last
      ? {
          workflowId: last.workflowId,
          status: last.status,
          startedAt: last.startedAt,
          finishedAt: last.finishedAt ?? null,
          added: last.added,
          changed: last.changed,
          unchanged: last.unchanged,
          removed: last.removed,
          failed: last.failed,
          failures: last.failures,
        }
      : null,
  };
}
