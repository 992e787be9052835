import type { LocationQuery, LocationQueryRaw } from 'vue-router';
import type { RunFilters } from '../api/types';

const FILTER_NAMES = ['kind', 'status', 'from', 'to', 'q'] as const;

/** The runs page keeps its filters in the URL query, so a filtered view can be shared and survives reload. */
export function filtersFromQuery(query: LocationQuery): RunFilters {
  const filters: RunFilters = {};
  for (const name of FILTER_NAMES) {
    const raw = query[name];
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (typeof value === 'string' && value.trim() !== '') filters[name] = value.trim();
  }
  return filters;
}

export function filtersToQuery(filters: RunFilters): LocationQueryRaw {
  const query: LocationQueryRaw = {};
  for (const name of FILTER_NAMES) {
    const value = filters[name];
    if (value) query[name] = value;
  }
  return query;
}

export function hasFilters(filters: RunFilters): boolean {
  return FILTER_NAMES.some((name) => Boolean(filters[name]));
}

export function sameFilters(a: RunFilters, b: RunFilters): boolean {
  return FILTER_NAMES.every((name) => (a[name] ?? '') === (b[name] ?? ''));
}

export function runLink(workflowId: string): string {
  return `/runs/${encodeURIComponent(workflowId)}`;
}

/** Only same-origin app paths are followed after sign-in; anything else would be an open redirect. */
export function safeRedirect(value: unknown): string | null {
  const path = Array.isArray(value) ? value[0] : value;
  if (typeof path !== 'string' || !path.startsWith('/') || path.startsWith('//') || path.startsWith('/\\')) return null;
  if (path.startsWith('/sign-in')) return null;
  return path;
}
