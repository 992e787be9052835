export * from './limits';
export * from './errors';
export { KeyedMutex } from './keyed-mutex';
export { QuotaStore, type RunWindow, type StoredOverrides } from './store';
export { Quotas } from './quotas';
