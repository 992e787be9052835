/**
 * The admin API the console's Admin pages use: members and invitations, API keys, the audit log, quotas and the
 * tenant's settings. Shapes mirror api/tenants, api/keys, api/audit, api/quota and api/routes/settings; the audit entry comes from lib/contracts by type.
 */
import type { AuditActorType, AuditEntry, AuditOutcome } from '../../../lib/contracts/audit';
import type { RetentionAges, RetentionKind } from '../../../lib/contracts/batch';
import { request, withQuery } from './request';
import type { Role } from './types';

export type { AuditActorType, AuditEntry, AuditOutcome } from '../../../lib/contracts/audit';
export type { RetentionAges, RetentionKind } from '../../../lib/contracts/batch';

/** Highest first, as the API orders them; nobody may give a role above their own. */
export const ROLES: readonly Role[] = ['admin', 'operator', 'viewer'];

/** The roles someone with `own` may hand out (403 `role_too_high` otherwise). */
export const assignableRoles = (own: Role | null): Role[] => (own ? ROLES.slice(ROLES.indexOf(own)) : []);

export interface Member {
  userId: string;
  email: string;
  displayName: string;
  role: Role;
  disabled: boolean;
  createdAt: string;
  lastLoginAt: string | null;
  addedByUserId: string | null;
  addedByKeyId: string | null;
}

export type InvitationStatus = 'pending' | 'accepted' | 'revoked' | 'expired';

export interface Invitation {
  id: string;
  email: string;
  role: Role;
  status: InvitationStatus;
  createdAt: string;
  expiresAt: string;
  acceptedAt: string | null;
  revokedAt: string | null;
  createdByUserId: string | null;
  createdByKeyId: string | null;
}

export type CreatedInvitation = Invitation & { token: string; acceptPath: string };

export type KeyStatus = 'active' | 'expired' | 'revoked';

export interface ApiKeyRecord {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  status: KeyStatus;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  createdByKeyId: string | null;
  createdByUserId: string | null;
}

/** The key itself is in this answer only. */
export type CreatedApiKey = ApiKeyRecord & { key: string };

export interface QuotaLimits {
  requestsPerMinute: number;
  runsPerMinute: number;
  concurrentRuns: number;
  maxDocuments: number;
  maxBytes: number;
  dailyTokens: number;
}
export type QuotaName = keyof QuotaLimits;

export interface QuotaUsage {
  tenantId: string;
  limits: QuotaLimits;
  defaults: QuotaLimits;
  usage: {
    requestsThisMinute: number;
    runsThisMinute: number;
    running: Record<string, number>;
    documents: number;
    bytes: number;
    tokensToday: number;
  };
}

/** A tenant's limits as a platform admin reads and sets them. */
export interface TenantQuotas {
  tenantId: string;
  limits: QuotaLimits;
  overrides: Partial<QuotaLimits>;
  defaults: QuotaLimits;
  updatedAt: string | null;
  updatedBy: string | null;
}

export type QuotaPatch = Partial<Record<QuotaName, number | null>>;

export const listMembers = () => request<{ members: Member[] }>('/v1/members');

export const addMember = (body: { email: string; role: Role; password?: string; displayName?: string }) =>
  request<Member>('/v1/members', { method: 'POST', body });

export const setMemberRole = (userId: string, role: Role) =>
  request<Member>(`/v1/members/${encodeURIComponent(userId)}`, { method: 'PATCH', body: { role } });

export const removeMember = (userId: string) =>
  request<unknown>(`/v1/members/${encodeURIComponent(userId)}`, { method: 'DELETE' });

export const listInvitations = () => request<{ invitations: Invitation[] }>('/v1/invitations');

export const invite = (body: { email: string; role: Role; expiresInDays?: number }) =>
  request<CreatedInvitation>('/v1/invitations', { method: 'POST', body });

export const revokeInvitation = (id: string) =>
  request<Invitation>(`/v1/invitations/${encodeURIComponent(id)}/revoke`, { method: 'POST' });

export const listKeys = () => request<{ keys: ApiKeyRecord[] }>('/v1/keys');

export const createKey = (body: { name: string; role: Role; expiresInDays?: number }) =>
  request<CreatedApiKey>('/v1/keys', { method: 'POST', body });

export const revokeKey = (id: string) =>
  request<ApiKeyRecord>(`/v1/keys/${encodeURIComponent(id)}/revoke`, { method: 'POST' });

export interface AuditFilter {
  actor?: string;
  actorType?: AuditActorType;
  action?: string;
  outcome?: AuditOutcome;
  target?: string;
  /** ISO instants. */
  from?: string;
  to?: string;
}

export const AUDIT_PAGE_SIZE = 50;

export const listAudit = (filter: AuditFilter, pageToken?: string, signal?: AbortSignal) =>
  request<{ entries: AuditEntry[]; nextPageToken: string | null }>('/v1/audit', {
    query: { ...filter, pageSize: AUDIT_PAGE_SIZE, pageToken },
    signal,
  });

/** The export streams JSON lines as an attachment; a plain link with the session cookie downloads it. */
export const auditExportHref = (filter: AuditFilter) => withQuery('/v1/audit/export', { ...filter });

export const getQuotas = () => request<QuotaUsage>('/v1/quotas');

export const getTenantQuotas = (tenantId: string) =>
  request<TenantQuotas>(`/v1/tenants/${encodeURIComponent(tenantId)}/quotas`);

export const setTenantQuotas = (tenantId: string, patch: QuotaPatch) =>
  request<TenantQuotas>(`/v1/tenants/${encodeURIComponent(tenantId)}/quotas`, { method: 'PUT', body: patch });

export interface TenantRecord {
  id: string;
  name: string;
  platform: boolean;
  createdAt: string;
  members?: number;
}

/** Every tenant (platform admin). */
export const listTenants = () => request<{ tenants: TenantRecord[] }>('/v1/tenants');

/** What a tenant's default model is for; a call that names no model takes the tenant's, else the platform's. */
export type ModelPurpose = 'answer' | 'judge' | 'agent' | 'embedding';

/** One purpose's default as the API reads it: the model in force, whose it is, and the platform's own. */
export interface ModelSetting {
  model: string;
  source: 'tenant' | 'platform';
  platform: string;
}

/** `GET /v1/settings` (any role). `retention` is absent from an API that does not have it yet. */
export interface TenantSettings {
  provider: 'local' | 'openai';
  models: Record<ModelPurpose, ModelSetting>;
  /** Days each kind is kept; null keeps it forever. */
  retention?: RetentionAges;
  updatedAt: string | null;
  updatedBy: string | null;
}

/** `PUT /v1/settings` (admin): only what is named changes; a null model returns to the platform default, a null retention keeps forever. */
export interface TenantSettingsPatch {
  models?: Partial<Record<ModelPurpose, string | null>>;
  retention?: Partial<Record<RetentionKind, number | null>>;
}

export const getSettings = () => request<TenantSettings>('/v1/settings');

/** 400 `model_not_available` ("models.<purpose>: why") for a model the platform does not serve. */
export const putSettings = (patch: TenantSettingsPatch) =>
  request<TenantSettings>('/v1/settings', { method: 'PUT', body: patch });
