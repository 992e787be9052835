import { answerEntities } from './answers';
import { ChunkEntity, CollectionEntity, DocumentEntity } from './knowledge';
import { SystemProbeEntity } from './system';
import { LlmCallEntity, SpanEntity } from './telemetry';
import { ApiKeyEntity, identityEntities, TenantEntity } from './tenancy';
import { mcpEntities } from './mcp';
import { TenantSecretEntity } from './secrets';
import { auditEntities } from './audit';
import { quotaEntities } from './quotas';
import { settingsEntities } from './settings';
import { sourceEntities } from './sources';
import { scheduleEntities } from './schedules';
import { promptEntities } from './prompts';
import { datasetEntities } from './datasets';
import { evalEntities } from './evals';
import { replayEntities } from './replays';
import { agentEntities } from './agents';

export * from './answers';
export * from './knowledge';
export * from './system';
export * from './telemetry';
export * from './tenancy';
export * from './mcp';
export * from './secrets';
export * from './audit';
export * from './quotas';
export * from './settings';
export * from './sources';
export * from './schedules';
export * from './prompts';
export * from './datasets';
export * from './evals';
export * from './replays';
export * from './agents';

export const entities = [
  TenantEntity,
  ApiKeyEntity,
  CollectionEntity,
  DocumentEntity,
  ChunkEntity,
  LlmCallEntity,
  SpanEntity,
  SystemProbeEntity,
  ...answerEntities,
  ...mcpEntities,
  TenantSecretEntity,
  ...identityEntities,
  ...auditEntities,
  ...quotaEntities,
  ...settingsEntities,
  ...sourceEntities,
  ...scheduleEntities,
  ...promptEntities,
  ...datasetEntities,
  ...evalEntities,
  ...replayEntities,
  ...agentEntities,
];
