import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { LockMode } from '@mikro-orm/core';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { applicationFailure, FAILURES, type SyncProgress } from '../lib/contracts';
import { DocumentEntity, SourceEntity, type Document, type Source } from '../lib/db/entities';
import { AppError } from '../lib/errors';
import { FetchRefusedError, safeFetch } from '../lib/net/safe-fetch';
import { emptySyncProgress, listSource, SitemapError, type SourceSyncRecord } from '../lib/sources';
import { BlobTooLargeError } from '../lib/storage/blobs';
import { withHeartbeat } from './heartbeat';
import { createIngestActivities, FETCHABLE } from './ingest';
import type { ActivityDeps } from './index';

/** One sync run of one source: the workflow id is the run's identity across continue-as-new and retries. */
export interface SyncRef {
  tenantId: string;
  collectionId: string;
  sourceId: string;
  workflowId: string;
}

export type SyncOutcome = 'added' | 'changed' | 'unchanged' | 'failed';

export interface SyncDocumentResult {
  outcome: SyncOutcome;
  chunks: number;
  reason?: string;
}

/** What applying the listing did: documents removed, locations refused (another source's documents). */
export interface SyncPlan {
  total: number;
  removed: number;
  /** The removed documents' ids (up to MAX_REMOVED_IDS), whose citing answers are checked at the end. */
  removedIds: string[];
  failures: SyncProgress['failures'];
}

/**
 * A `running` sync that has not written for this long no longer holds its source (its worker or run was ended
 * without its finally). Every batch writes, so a live sync renews it well within.
 */
const LEASE_MS = 30 * 60_000;
/** How many removed documents a sync names for the stale-answer check (the count stays exact). */
const MAX_REMOVED_IDS = 10_000;
const SLICE = 1000;

// Failure types of the sync job, from the catalogue (lib/contracts/failures.ts, group `batch`).
const failure = (type: (typeof FAILURES.batch)[keyof typeof FAILURES.batch]['type'], message: string) =>
  applicationFailure(type, message);
const sourceMissing = () => failure(FAILURES.batch.sourceMissing.type, 'The source or its collection was deleted.');
const transient = (e: unknown) => e instanceof FetchRefusedError && ['timeout', 'unreachable'].includes(e.code);
const holdsSource = (last: SourceSyncRecord | null | undefined, workflowId: string, now = Date.now()) =>
  !!last &&
  last.workflowId !== workflowId &&
  last.status === 'running' &&
  now - Date.parse(last.updatedAt ?? last.startedAt) < LEASE_MS;

class NotARegularFile extends Error {
  constructor(path: string) {
    super(`${path} is no longer a regular file inside the folder.`);
  }
}

/** Activities of the `syncSource` job (workflows/sync-source.ts). Documents are indexed by the ingest activities. */
export function createSyncSourceActivities(deps: ActivityDeps) {
  const { orm, blobs, config } = deps;
  const ingest = createIngestActivities(deps);

  async function loadSource(ref: SyncRef): Promise<Source> {
    const source = await orm.em
      .fork()
      .findOne(SourceEntity, { id: ref.sourceId, tenantId: ref.tenantId, collectionId: ref.collectionId });
    if (!source) throw sourceMissing();
    return source;
  }

  /** Ends the document's part in this sync as failed; a document that was ready keeps its chunks. */
  async function finishFailed(ref: SyncRef, doc: Document, reason: string): Promise<SyncDocumentResult> {
    const current = await orm.em.fork().findOne(DocumentEntity, { id: doc.id, tenantId: ref.tenantId });
    await orm.em.fork().nativeUpdate(
      DocumentEntity,
      { id: doc.id, tenantId: ref.tenantId },
      {
        syncRun: ref.workflowId,
        syncOutcome: 'failed',
        syncDone: true,
        error: reason.slice(0, 2000),
        status: current?.status === 'ready' ? 'ready' : 'failed',
      },
    );
    return { outcome: 'failed', chunks: 0, reason };
  }

  /** The location's bytes in the blob store, or 'unchanged' when its validators say so without reading it. */
  async function acquire(
    ref: SyncRef,
    doc: Document,
    resumed: boolean,
  ): Promise<
    | 'unchanged'
    | { sha256: string; sizeBytes: number; mimeType: string | null; lastModified: string | null; etag: string | null }
  > {
    if (doc.sourceKind === 'folder') {
      // The path was listed under an allowed root as a real path: a file or folder swapped for a symbolic link
      // since then does not resolve to itself any more, and is not read.
      if ((await realpath(doc.source)) !== doc.source || !(await lstat(doc.source)).isFile())
        throw new NotARegularFile(doc.source);
      const st = await stat(doc.source);
      const lastModified = st.mtime.toISOString();
      if (!resumed && doc.status === 'ready' && doc.lastModified === lastModified && Number(doc.sizeBytes) === st.size)
        return 'unchanged';
      const blob = await blobs.put(ref.tenantId, createReadStream(doc.source), config.ingest.maxFileBytes);
      return { sha256: blob.sha256, sizeBytes: blob.size, mimeType: doc.mimeType ?? null, lastModified, etag: null };
    }
    // A conditional GET with the validators of the indexed copy: 304 says "unchanged" without a body. A server
    // without validators sends the page, and its content hash decides.
    const current = !resumed && doc.status === 'ready' && (doc.etag || doc.lastModified);
    const res = await safeFetch(doc.source, {
      maxBytes: config.ingest.fetch.maxBytes,
      timeoutMs: config.ingest.fetch.timeoutMs,
      allowHosts: config.ingest.fetch.allowHosts,
      allowedContentTypes: FETCHABLE,
      signal: Context.current().cancellationSignal,
      ...(current ? { conditional: { etag: doc.etag, lastModified: doc.lastModified } } : {}),
    });
    if (res.notModified) return 'unchanged';
    const blob = await blobs.putBuffer(ref.tenantId, res.bytes);
    return {
      sha256: blob.sha256,
      sizeBytes: res.bytes.length,
      mimeType: res.contentType,
      lastModified: res.lastModified,
      etag: res.etag,
    };
  }

  return {
    /**
     * Lists the source and applies the listing once per sync: documents of locations that vanished are deleted
     * (their chunks with them), new locations become pending documents (a document of the collection at that
     * location that no source owns is adopted). Refuses while another sync holds the source. A retry of a sync that
     * already planned returns the recorded plan, so removals are counted once.
     */
    planSourceSync(ref: SyncRef): Promise<SyncPlan> {
      return withHeartbeat(async () => {
        const source = await loadSource(ref);
        const last = source.lastSync;
        if (last?.workflowId === ref.workflowId && last.planned)
          return {
            total: 0,
            removed: last.removed,
            removedIds: last.removedDocumentIds ?? [],
            failures: last.failures,
          };
        if (holdsSource(last, ref.workflowId))
          throw failure(FAILURES.batch.syncRunning.type, `${last!.workflowId} is syncing the source.`);

        let locations: string[];
        try {
          locations = await listSource(source, config, Context.current().cancellationSignal);
        } catch (e) {
          if (transient(e)) throw e;
          if (e instanceof FetchRefusedError || e instanceof SitemapError || e instanceof AppError)
            throw failure(FAILURES.batch.sourceUnreadable.type, `The source could not be listed: ${e.message}`);
          throw e;
        }

        const kind = source.kind === 'folder' ? 'folder' : 'url';
        return orm.em.fork().transactional(async (em) => {
          const locked = await em.findOne(
            SourceEntity,
            { id: source.id, tenantId: ref.tenantId },
            { lockMode: LockMode.PESSIMISTIC_WRITE },
          );
          if (!locked) throw sourceMissing();
          if (holdsSource(locked.lastSync, ref.workflowId))
            throw failure(FAILURES.batch.syncRunning.type, `${locked.lastSync!.workflowId} is syncing the source.`);

          const mine = await em.find(
            DocumentEntity,
            { tenantId: ref.tenantId, sourceId: source.id },
            { fields: ['id', 'sourceLocation'] },
          );
          const wanted = new Set(locations);
          const gone = mine.filter((d) => !wanted.has(d.sourceLocation ?? '')).map((d) => d.id);
          let removed = 0;
          for (let i = 0; i < gone.length; i += SLICE)
            removed += await em.nativeDelete(DocumentEntity, {
              tenantId: ref.tenantId,
              id: { $in: gone.slice(i, i + SLICE) },
            });

          const have = new Set(mine.map((d) => d.sourceLocation));
          const fresh = locations.filter((l) => !have.has(l));
          const failures: SyncPlan['failures'] = [];
          for (let i = 0; i < fresh.length; i += SLICE) {
            const slice = fresh.slice(i, i + SLICE);
            const taken = await em.find(
              DocumentEntity,
              { tenantId: ref.tenantId, collectionId: ref.collectionId, source: { $in: slice } },
              { fields: ['id', 'source', 'sourceId'] },
            );
            const takenSources = new Set(taken.map((d) => d.source));
            for (const d of taken) {
              if (d.sourceId) {
                failures.push({ location: d.source, reason: 'The collection has this document from another source.' });
              } else {
                await em.nativeUpdate(
                  DocumentEntity,
                  { id: d.id, tenantId: ref.tenantId },
                  { sourceId: source.id, sourceLocation: d.source },
                );
              }
            }
            for (const location of slice.filter((l) => !takenSources.has(l)))
              em.create(DocumentEntity, {
                id: randomUUID(),
                tenantId: ref.tenantId,
                collectionId: ref.collectionId,
                sourceKind: kind,
                source: location,
                title: kind === 'folder' ? basename(location) : null,
                metadata: {},
                sourceId: source.id,
                sourceLocation: location,
              });
            await em.flush();
          }

          const now = new Date().toISOString();
          locked.lastSync = {
            startedAt: last?.workflowId === ref.workflowId ? last.startedAt : now,
            ...emptySyncProgress(),
            workflowId: ref.workflowId,
            status: 'running',
            finishedAt: null,
            removed,
            removedDocumentIds: gone.slice(0, MAX_REMOVED_IDS),
            failed: failures.length,
            failures: failures.slice(-50),
            planned: true,
            updatedAt: now,
          };
          await em.flush();
          return { total: locations.length, removed, removedIds: gone.slice(0, MAX_REMOVED_IDS), failures };
        });
      });
    },

    /** The documents this sync found changed (the answers citing them are checked again at the end). */
    async changedSourceDocuments(ref: SyncRef): Promise<string[]> {
      const docs = await orm.em
        .fork()
        .find(
          DocumentEntity,
          { tenantId: ref.tenantId, sourceId: ref.sourceId, syncRun: ref.workflowId, syncOutcome: 'changed' },
          { fields: ['id'], limit: MAX_REMOVED_IDS },
        );
      return docs.map((d) => d.id);
    },

    /** The next documents of the source this sync has not finished, in location order; renews the sync's lease. */
    async nextSourceBatch(ref: SyncRef & { limit: number }): Promise<Array<{ documentId: string; location: string }>> {
      const em = orm.em.fork();
      await em.getConnection().execute(
        `update sources set last_sync = jsonb_set(last_sync, '{updatedAt}', to_jsonb(?::text))
            where id = ? and tenant_id = ? and last_sync->>'workflowId' = ?`,
        [new Date().toISOString(), ref.sourceId, ref.tenantId, ref.workflowId],
      );
      const docs = await em.find(
        DocumentEntity,
        {
          tenantId: ref.tenantId,
          sourceId: ref.sourceId,
          $or: [{ syncRun: null }, { syncRun: { $ne: ref.workflowId } }, { syncDone: false }],
        },
        { fields: ['id', 'sourceLocation'], orderBy: { sourceLocation: 'asc' }, limit: ref.limit },
      );
      return docs.map((d) => ({ documentId: d.id, location: d.sourceLocation ?? '' }));
    },

    /**
     * One location: fetch it (a file's size and mtime can say "unchanged" without reading it), compare its content
     * hash with what is indexed, and index a new or changed document through the ingest activities. The outcome is
     * recorded on the document before indexing, so a retry after a crash reports the same outcome and an attempt
     * after the sync finished with the document repeats nothing.
     */
    syncSourceDocument(ref: SyncRef & { documentId: string }): Promise<SyncDocumentResult> {
      return withHeartbeat(async () => {
        const em = orm.em.fork();
        const doc = await em.findOne(DocumentEntity, {
          id: ref.documentId,
          tenantId: ref.tenantId,
          sourceId: ref.sourceId,
        });
        if (!doc) return { outcome: 'failed', chunks: 0, reason: 'The document was deleted during the sync.' };
        if (doc.syncRun === ref.workflowId && doc.syncDone) {
          const outcome = doc.syncOutcome ?? 'unchanged';
          return outcome === 'failed'
            ? { outcome, chunks: 0, reason: doc.error ?? 'failed' }
            : { outcome, chunks: doc.chunkCount };
        }
        const resumed =
          doc.syncRun === ref.workflowId && (doc.syncOutcome === 'added' || doc.syncOutcome === 'changed')
            ? doc.syncOutcome
            : null;

        let fetched: Awaited<ReturnType<typeof acquire>>;
        try {
          fetched = await acquire(ref, doc, resumed !== null);
        } catch (e) {
          if (transient(e)) throw e;
          if (e instanceof FetchRefusedError) return finishFailed(ref, doc, `The URL was not fetched: ${e.message}`);
          if (e instanceof BlobTooLargeError) return finishFailed(ref, doc, `The file is too large: ${e.message}`);
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') return finishFailed(ref, doc, 'The file is gone.');
          if (e instanceof NotARegularFile) return finishFailed(ref, doc, e.message);
          throw e;
        }
        const outcome: SyncOutcome =
          fetched === 'unchanged'
            ? 'unchanged'
            : (resumed ??
              (!doc.indexedAt || !doc.contentHash
                ? 'added'
                : doc.status === 'ready' && doc.contentHash === fetched.sha256
                  ? 'unchanged'
                  : 'changed'));
        const validators = fetched === 'unchanged' ? {} : { lastModified: fetched.lastModified, etag: fetched.etag };
        if (outcome === 'unchanged') {
          await em.nativeUpdate(
            DocumentEntity,
            { id: doc.id, tenantId: ref.tenantId },
            { ...validators, syncRun: ref.workflowId, syncOutcome: 'unchanged', syncDone: true, error: null },
          );
          return { outcome, chunks: doc.chunkCount };
        }
        const bytes = fetched as Exclude<typeof fetched, 'unchanged'>;
        await em.nativeUpdate(
          DocumentEntity,
          { id: doc.id, tenantId: ref.tenantId },
          {
            ...validators,
            blobSha256: bytes.sha256,
            sizeBytes: bytes.sizeBytes,
            mimeType: bytes.mimeType,
            status: 'processing',
            error: null,
            syncRun: ref.workflowId,
            syncOutcome: outcome,
            syncDone: false,
          },
        );
        Context.current().heartbeat({ stage: 'acquired' });
        let chunks: number;
        try {
          ({ chunks } = await ingest.indexDocument({
            tenantId: ref.tenantId,
            collectionId: ref.collectionId,
            documentId: doc.id,
          }));
        } catch (e) {
          if (e instanceof ApplicationFailure && e.nonRetryable) return finishFailed(ref, doc, e.message);
          throw e;
        }
        await em.nativeUpdate(DocumentEntity, { id: doc.id, tenantId: ref.tenantId }, { syncDone: true });
        return { outcome, chunks };
      });
    },

    /** A document whose attempts ran out: failed in this sync, with the reason. */
    async markSourceDocumentFailed(ref: SyncRef & { documentId: string }, reason: string): Promise<SyncDocumentResult> {
      const doc = await orm.em.fork().findOne(DocumentEntity, { id: ref.documentId, tenantId: ref.tenantId });
      if (!doc) return { outcome: 'failed', chunks: 0, reason };
      return finishFailed(ref, doc, reason);
    },

    /**
     * The sync's counts on the source (`lastSync`), while it runs and when it ends; only the sync that holds the
     * record writes it. Returns the chunks the source's documents have now.
     */
    async recordSourceSync(
      ref: SyncRef & { status: SourceSyncRecord['status']; progress: SyncProgress; reason?: string },
    ): Promise<{ chunks: number }> {
      const em = orm.em.fork();
      const source = await em.findOne(SourceEntity, { id: ref.sourceId, tenantId: ref.tenantId });
      if (source?.lastSync?.workflowId === ref.workflowId) {
        const now = new Date().toISOString();
        source.lastSync = {
          ...source.lastSync,
          ...ref.progress,
          status: ref.status,
          updatedAt: now,
          finishedAt: ref.status === 'running' ? null : now,
          ...(ref.reason ? { reason: ref.reason.slice(0, 2000) } : {}),
        };
        await em.flush();
      }
      const [row] = (await em
        .getConnection()
        .execute(
          `select coalesce(sum(chunk_count), 0)::int as chunks from documents where tenant_id = ? and source_id = ?`,
          [ref.tenantId, ref.sourceId],
        )) as Array<{ chunks: number }>;
      return { chunks: row?.chunks ?? 0 };
    },
  };
}
