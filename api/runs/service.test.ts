import { describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors';
import { decodePageToken, encodePageToken } from './service';

describe('runs page tokens', () => {
  const temporalToken = Buffer.from('{"CloseTime":"0001-01-01T00:00:00Z","RunID":"r"}');

  it('round-trip the bytes Temporal handed out', () => {
    const token = encodePageToken('tenant-a', temporalToken);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodePageToken('tenant-a', token)).toEqual(temporalToken);
  });

  it.each([
    ['garbage', Buffer.from('garbage, not a token').toString('base64url')],
    ['too short', 'AAAA'],
    ['empty after decoding', '-'],
    ['a raw Temporal token without the check', temporalToken.toString('base64url')],
    ['a token of another tenant', encodePageToken('tenant-b', temporalToken)],
    ['a tampered token', encodePageToken('tenant-a', temporalToken).replace(/^./, (c) => (c === 'e' ? 'f' : 'e'))],
  ])('refuse %s with 400 invalid_page_token', (_what, token) => {
    const err = (() => {
      try {
        decodePageToken('tenant-a', token);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status: 400, code: 'invalid_page_token' });
  });
});
