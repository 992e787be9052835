import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261125000000_initial } from './Migration20261125000000_initial';
import { Migration20261125010000_ingest } from './Migration20261125010000_ingest';
import { Migration20261125020000_answers } from './Migration20261125020000_answers';
import { Migration20261125030000_mcp } from './Migration20261125030000_mcp';
import { Migration20261125040000_vector_indexes } from './Migration20261125040000_vector_indexes';
import { Migration20261125050000_combine_sections } from './Migration20261125050000_combine_sections';
import { Migration20261125060000_run_event_keys } from './Migration20261125060000_run_event_keys';
import { Migration20261125070000_tenant_secrets } from './Migration20261125070000_tenant_secrets';
import { Migration20261125080000_tenant_scoped_answer_ids } from './Migration20261125080000_tenant_scoped_answer_ids';
import { Migration20261125090000_api_key_expiry } from './Migration20261125090000_api_key_expiry';
import { Migration20261202100000_identity } from './Migration20261202100000_identity';
import { Migration20261202110000_audit } from './Migration20261202110000_audit';
import { Migration20261202120000_quotas } from './Migration20261202120000_quotas';
import { Migration20261202130000_tenant_settings } from './Migration20261202130000_tenant_settings';
import { Migration20261203100000_retention } from './Migration20261203100000_retention';
import { Migration20261203110000_sources } from './Migration20261203110000_sources';
import { Migration20261203120000_schedules } from './Migration20261203120000_schedules';
import { Migration20261203130000_answer_freshness } from './Migration20261203130000_answer_freshness';
import { Migration20261203135000_answer_origin } from './Migration20261203135000_answer_origin';
import { Migration20261203140000_prompts } from './Migration20261203140000_prompts';
import { Migration20261203150000_datasets } from './Migration20261203150000_datasets';
import { Migration20261203160000_evals } from './Migration20261203160000_evals';
import { Migration20261203170000_replays } from './Migration20261203170000_replays';
import { Migration20261204100000_saved_agents } from './Migration20261204100000_saved_agents';
import { Migration20261204110000_collection_text_indexes } from './Migration20261204110000_collection_text_indexes';
import { Migration20261204120000_collection_terms } from './Migration20261204120000_collection_terms';

/** Every migration, in order. Listed explicitly so they load the same from tsx, a bundle or a build. */
export const migrationsList: MigrationObject[] = [
  { name: 'Migration20261125000000_initial', class: Migration20261125000000_initial },
  { name: 'Migration20261125010000_ingest', class: Migration20261125010000_ingest },
  { name: 'Migration20261125020000_answers', class: Migration20261125020000_answers },
  { name: 'Migration20261125030000_mcp', class: Migration20261125030000_mcp },
  { name: 'Migration20261125040000_vector_indexes', class: Migration20261125040000_vector_indexes },
  { name: 'Migration20261125050000_combine_sections', class: Migration20261125050000_combine_sections },
  { name: 'Migration20261125060000_run_event_keys', class: Migration20261125060000_run_event_keys },
  { name: 'Migration20261125070000_tenant_secrets', class: Migration20261125070000_tenant_secrets },
  { name: 'Migration20261125080000_tenant_scoped_answer_ids', class: Migration20261125080000_tenant_scoped_answer_ids },
  { name: 'Migration20261125090000_api_key_expiry', class: Migration20261125090000_api_key_expiry },
  { name: 'Migration20261202100000_identity', class: Migration20261202100000_identity },
  { name: 'Migration20261202110000_audit', class: Migration20261202110000_audit },
  { name: 'Migration20261202120000_quotas', class: Migration20261202120000_quotas },
  { name: 'Migration20261202130000_tenant_settings', class: Migration20261202130000_tenant_settings },
  { name: 'Migration20261203100000_retention', class: Migration20261203100000_retention },
  { name: 'Migration20261203110000_sources', class: Migration20261203110000_sources },
  { name: 'Migration20261203120000_schedules', class: Migration20261203120000_schedules },
  { name: 'Migration20261203130000_answer_freshness', class: Migration20261203130000_answer_freshness },
  { name: 'Migration20261203135000_answer_origin', class: Migration20261203135000_answer_origin },
  { name: 'Migration20261203140000_prompts', class: Migration20261203140000_prompts },
  { name: 'Migration20261203150000_datasets', class: Migration20261203150000_datasets },
  { name: 'Migration20261203160000_evals', class: Migration20261203160000_evals },
  { name: 'Migration20261203170000_replays', class: Migration20261203170000_replays },
  { name: 'Migration20261204100000_saved_agents', class: Migration20261204100000_saved_agents },
  {
    name: 'Migration20261204110000_collection_text_indexes',
    class: Migration20261204110000_collection_text_indexes,
  },
  { name: 'Migration20261204120000_collection_terms', class: Migration20261204120000_collection_terms },
];
