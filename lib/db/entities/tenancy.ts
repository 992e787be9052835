import { randomUUID } from 'node:crypto';
import { EntitySchema, type Opt } from '@mikro-orm/core';

export type Role = 'admin' | 'operator' | 'viewer';
/** Highest first: each role can do everything of the ones after it. */
export const ROLES = ['admin', 'operator', 'viewer'] as const satisfies readonly Role[];

export interface Tenant {
  id: string;
  name: string;
  /** The tenant made at first start: its admins administer the platform (create tenants, set quotas). */
  platform: Opt<boolean>;
  createdAt: Opt<Date>;
}

export const TenantEntity = new EntitySchema<Tenant>({
  name: 'Tenant',
  tableName: 'tenants',
  properties: {
    id: { type: 'uuid', primary: true, onCreate: () => randomUUID() },
    name: { type: 'text' },
    platform: { type: 'boolean', default: false },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
  },
});

export interface ApiKey {
  id: string;
  tenantId: string;
  name: string;
  /** The first characters of the key, shown in listings so a key can be recognised without revealing it. */
  prefix: string;
  /** sha256 of the whole key; the key itself is never stored. */
  keyHash: string;
  role: Role;
  createdAt: Opt<Date>;
  lastUsedAt?: Date | null;
  revokedAt?: Date | null;
  /** Past it the key is refused exactly like a revoked one; null never expires. */
  expiresAt?: Date | null;
  /** The key that created this one through the API; null for bootstrap and provisioned keys. */
  createdByKeyId?: string | null;
  /** The user whose console session created this key; null for keys made by a key, the bootstrap or the CLI. */
  createdByUserId?: string | null;
}

export const ApiKeyEntity = new EntitySchema<ApiKey>({
  name: 'ApiKey',
  tableName: 'api_keys',
  properties: {
    id: { type: 'uuid', primary: true, onCreate: () => randomUUID() },
    tenantId: { type: 'uuid' },
    name: { type: 'text' },
    prefix: { type: 'text' },
    keyHash: { type: 'text' },
    role: { type: 'text' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    lastUsedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    revokedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    expiresAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    createdByKeyId: { type: 'uuid', nullable: true },
    createdByUserId: { type: 'uuid', nullable: true },
  },
});

/** A person who signs in to the console; belongs to tenants through memberships. */
export interface User {
  id: string;
  /** Lower-cased; unique across the platform. */
  email: string;
  displayName: string;
  /** argon2id (PHC string); null for a user who only signs in through single sign-on. */
  passwordHash?: string | null;
  createdAt: Opt<Date>;
  passwordChangedAt?: Date | null;
  disabledAt?: Date | null;
  /** Brute-force protection: consecutive failed sign-ins, and the lock they caused. */
  failedLogins: Opt<number>;
  lockedUntil?: Date | null;
  lastLoginAt?: Date | null;
}

export const UserEntity = new EntitySchema<User>({
  name: 'User',
  tableName: 'users',
  properties: {
    id: { type: 'uuid', primary: true, onCreate: () => randomUUID() },
    email: { type: 'text', unique: true },
    displayName: { type: 'text' },
    passwordHash: { type: 'text', nullable: true },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    passwordChangedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    disabledAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    failedLogins: { type: 'integer', default: 0 },
    lockedUntil: { type: 'Date', columnType: 'timestamptz', nullable: true },
    lastLoginAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
  },
});

/** A user's identity at an OpenID provider (issuer + subject), linked on first single sign-on. */
export interface UserIdentity {
  id: string;
  userId: string;
  issuer: string;
  subject: string;
  createdAt: Opt<Date>;
  lastLoginAt?: Date | null;
}

export const UserIdentityEntity = new EntitySchema<UserIdentity>({
  name: 'UserIdentity',
  tableName: 'user_identities',
  properties: {
    id: { type: 'uuid', primary: true, onCreate: () => randomUUID() },
    userId: { type: 'uuid' },
    issuer: { type: 'text' },
    subject: { type: 'text' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    lastLoginAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
  },
});

/** A user's role in one tenant. */
export interface TenantMember {
  tenantId: string;
  userId: string;
  role: Role;
  createdAt: Opt<Date>;
  /** Who added the member: a user or a key (null for the bootstrap and the CLI). */
  addedByUserId?: string | null;
  addedByKeyId?: string | null;
}

export const TenantMemberEntity = new EntitySchema<TenantMember>({
  name: 'TenantMember',
  tableName: 'tenant_members',
  properties: {
    tenantId: { type: 'uuid', primary: true },
    userId: { type: 'uuid', primary: true },
    role: { type: 'text' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    addedByUserId: { type: 'uuid', nullable: true },
    addedByKeyId: { type: 'uuid', nullable: true },
  },
});

/** A console session: the cookie carries a random token, only its hash is stored; one tenant per session. */
export interface UserSession {
  id: string;
  tokenHash: string;
  /** Hash of the session's CSRF token, which cookie-authenticated writes must echo in a header. */
  csrfHash: string;
  userId: string;
  tenantId: string;
  createdAt: Opt<Date>;
  lastSeenAt: Opt<Date>;
  expiresAt: Date;
  revokedAt?: Date | null;
  /** `password` or `oidc`. */
  method: string;
  ip?: string | null;
  userAgent?: string | null;
}

export const UserSessionEntity = new EntitySchema<UserSession>({
  name: 'UserSession',
  tableName: 'user_sessions',
  properties: {
    id: { type: 'uuid', primary: true, onCreate: () => randomUUID() },
    tokenHash: { type: 'text', unique: true },
    csrfHash: { type: 'text' },
    userId: { type: 'uuid' },
    tenantId: { type: 'uuid' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    lastSeenAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    expiresAt: { type: 'Date', columnType: 'timestamptz' },
    revokedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    method: { type: 'text' },
    ip: { type: 'text', nullable: true },
    userAgent: { type: 'text', nullable: true },
  },
});

/** An invitation to join a tenant: a one-time token (hash stored) that the invitee redeems with a password. */
export interface Invitation {
  id: string;
  tenantId: string;
  email: string;
  role: Role;
  tokenHash: string;
  createdAt: Opt<Date>;
  expiresAt: Date;
  acceptedAt?: Date | null;
  revokedAt?: Date | null;
  createdByUserId?: string | null;
  createdByKeyId?: string | null;
}

export const InvitationEntity = new EntitySchema<Invitation>({
  name: 'Invitation',
  tableName: 'invitations',
  properties: {
    id: { type: 'uuid', primary: true, onCreate: () => randomUUID() },
    tenantId: { type: 'uuid' },
    email: { type: 'text' },
    role: { type: 'text' },
    tokenHash: { type: 'text', unique: true },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
    expiresAt: { type: 'Date', columnType: 'timestamptz' },
    acceptedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    revokedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    createdByUserId: { type: 'uuid', nullable: true },
    createdByKeyId: { type: 'uuid', nullable: true },
  },
});

export const identityEntities = [
  UserEntity,
  UserIdentityEntity,
  TenantMemberEntity,
  UserSessionEntity,
  InvitationEntity,
];
