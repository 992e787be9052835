import { request } from './request';
import type { Me } from './types';

/** The tenant, role and key behind a bearer key; with `apiKey`, checks that key rather than the session's. */
export function getMe(apiKey?: string): Promise<Me> {
  return request<Me>('/v1/system/me', apiKey === undefined ? {} : { apiKey });
}
