import { describe, expect, it } from 'vitest';
import { createSSRApp, h } from 'vue';
import { renderToString } from 'vue/server-renderer';
import { RUN_KINDS, RUN_STATUSES } from '../../../lib/contracts/runs';
import RunFilters from './run-filters.vue';

describe('run filters', () => {
  it('offers every run kind of the contracts, in their order, llm and search included', async () => {
    const html = await renderToString(createSSRApp({ render: () => h(RunFilters, { filters: {} }) }));
    const kindSelect = /<select id="filter-kind"[^>]*>([\s\S]*?)<\/select>/.exec(html)?.[1] ?? '';
    const offered = [...kindSelect.matchAll(/<option value="([^"]*)"/g)].map((m) => m[1]).filter(Boolean);
    expect(offered).toEqual([...RUN_KINDS]);
    expect(offered).toEqual(
      expect.arrayContaining(['llm', 'search', 'system', 'ingest', 'answer', 'grounding', 'agent']),
    );
  });

  it('offers every run status of the contracts', async () => {
    const html = await renderToString(createSSRApp({ render: () => h(RunFilters, { filters: {} }) }));
    const statusSelect = /<select id="filter-status"[^>]*>([\s\S]*?)<\/select>/.exec(html)?.[1] ?? '';
    expect([...statusSelect.matchAll(/<option value="([^"]*)"/g)].map((m) => m[1]).filter(Boolean)).toEqual([
      ...RUN_STATUSES,
    ]);
  });

  it('shows the kind of the filters it is given as selected', async () => {
    const html = await renderToString(createSSRApp({ render: () => h(RunFilters, { filters: { kind: 'search' } }) }));
    expect(html).toMatch(/<option value="search"[^>]*selected/);
  });
});
