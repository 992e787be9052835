import { describe, expect, it } from 'vitest';
import { MIN_REDACTED_LENGTH, REDACTED, SecretRegistry } from './index';

describe('SecretRegistry', () => {
  it('replaces every occurrence of a registered value', () => {
    const r = new SecretRegistry();
    r.add('hunter22');
    expect(r.redact('pw=hunter22 again hunter22.')).toBe(`pw=${REDACTED} again ${REDACTED}.`);
    expect(r.redact('nothing here')).toBe('nothing here');
  });

  it(`ignores values shorter than ${MIN_REDACTED_LENGTH} characters`, () => {
    const r = new SecretRegistry();
    r.add('admin');
    r.add('');
    expect(r.size).toBe(0);
    expect(r.redact('admin logged in')).toBe('admin logged in');
    r.add('admin1');
    expect(r.redact('admin1 logged in')).toBe(`${REDACTED} logged in`);
  });

  it('treats regular expression characters literally and prefers the longest value', () => {
    const r = new SecretRegistry();
    r.add('a.b*c+d');
    r.add('a.b*c+d(e)[f]$1');
    expect(r.redact('x a.b*c+d(e)[f]$1 y a.b*c+d z aXb*c+d')).toBe(`x ${REDACTED} y ${REDACTED} z aXb*c+d`);
  });

  it('also redacts the JSON-escaped and URL-encoded forms', () => {
    const r = new SecretRegistry();
    const value = 'p"a\\ss w/rd\n';
    r.add(value);
    const line = JSON.stringify({ msg: 'connecting', password: value });
    expect(line).not.toContain(value);
    expect(r.redact(line)).toBe(JSON.stringify({ msg: 'connecting', password: REDACTED }));
    expect(r.redact(`postgres://u:${encodeURIComponent(value)}@h/db`)).toBe(`postgres://u:${REDACTED}@h/db`);
  });

  it('can be cleared', () => {
    const r = new SecretRegistry();
    r.add('secret-1');
    r.clear();
    expect(r.redact('secret-1')).toBe('secret-1');
  });
});
