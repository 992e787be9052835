/**
 * SSRF-guarded HTTP(S) GET for fetching documents from user-supplied URLs (document ingestion, agent tools).
 *
 * The guard, per hop (the first request and every redirect):
 *  1. Parse with WHATWG URL (which normalises `http://2130706433/`, `http://0x7f.1/` etc. to dotted quads), allow only
 *     http:/https:, refuse credentials in the URL.
 *  2. Resolve the host ourselves (all A/AAAA records) and refuse if ANY address is forbidden (see isForbiddenAddress)
 *     or the name is a well-known internal/metadata name — unless the operator allowed it through `allowHosts`.
 *  3. Connect to exactly the addresses that were checked: node:http(s) gets a `lookup` that answers with the pinned
 *     addresses, so a second DNS answer (DNS rebinding) can never be used. Host header and TLS SNI stay the original
 *     host name.
 * Redirects are followed by hand (never by the HTTP client), sizes are capped on the decompressed bytes, and one
 * deadline covers all hops.
 */
import { promises as dnsPromises } from 'node:dns';
import { parseAllowList } from './address';
import { mediaType, readBody, sendRequest } from './request';
import { resolveAndCheck } from './resolve';
import { FetchRefusedError, type SafeFetchOptions, type SafeFetchResult } from './types';

export { isForbiddenAddress } from './address';
export { FetchRefusedError, type FetchRefusedCode, type SafeFetchOptions, type SafeFetchResult } from './types';

const DEFAULT_MAX_REDIRECTS = 5;
const DEFAULT_USER_AGENT = 'BeyondCloud-Fetcher/1.0 (+https://github.com/beyondcloud)';
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

// ---------------------------------------------------------------------------------------------------------------
// Per-hop checks

/** The URL for messages and errors, without credentials. */
function redact(url: URL): string {
  if (!url.username && !url.password) return url.href;
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}

function checkUrl(raw: string | URL): URL {
  let url: URL;
  try {
    url = typeof raw === 'string' ? new URL(raw) : raw;
  } catch (e) {
    // Everything up to the last @ of the authority is userinfo (a password may hold an @ too).
    throw new FetchRefusedError('bad_url', String(raw).replace(/\/\/[^/?#]*@/, '//'), 'Not a valid absolute URL.', {
      cause: e,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new FetchRefusedError(
      'scheme_not_allowed',
      redact(url),
      `Scheme ${url.protocol} is not allowed; only http: and https:.`,
    );
  }
  if (url.username || url.password) {
    throw new FetchRefusedError('bad_url', redact(url), 'Credentials in URLs are not allowed.');
  }
  if (!url.hostname) throw new FetchRefusedError('bad_url', redact(url), 'The URL has no host.');
  return url;
}

// ---------------------------------------------------------------------------------------------------------------

const header = (v: string | string[] | undefined): string | null =>
  typeof v === 'string' && v.length > 0 && v.length <= 1024 ? v : null;

/** If-None-Match / If-Modified-Since from the caller's validators; one with a control character is left out. */
function conditionalHeaders(c: SafeFetchOptions['conditional']): Record<string, string> {
  const out: Record<string, string> = {};
  const safe = (v: string | null | undefined): v is string =>
    typeof v === 'string' &&
    v.length > 0 &&
    v.length <= 1024 &&
    [...v].every((ch) => ch >= ' ' && ch <= '\xff' && ch !== '\x7f');
  if (safe(c?.etag)) out['If-None-Match'] = c.etag;
  if (safe(c?.lastModified)) out['If-Modified-Since'] = c.lastModified;
  return out;
}

/**
 * GET `url` with the SSRF guard described at the top of this file. Rejects with FetchRefusedError (or, when
 * `opts.signal` aborts, with the signal's reason).
 */
export async function safeFetch(url: string, opts: SafeFetchOptions): Promise<SafeFetchResult> {
  if (!(Number.isFinite(opts.maxBytes) && opts.maxBytes >= 0))
    throw new RangeError('maxBytes must be a non-negative number.');
  if (!(Number.isFinite(opts.timeoutMs) && opts.timeoutMs > 0))
    throw new RangeError('timeoutMs must be a positive number.');
  const maxRedirects = opts.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const allow = parseAllowList(opts.allowHosts);
  const allowedTypes = opts.allowedContentTypes?.map((t) => t.trim().toLowerCase());
  const lookup =
    opts.lookup ??
    (async (host: string) =>
      (await dnsPromises.lookup(host, { all: true, verbatim: true })).map(
        (a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }) as const,
      ));
  opts.signal?.throwIfAborted();

  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(new DOMException('safeFetch deadline exceeded', 'TimeoutError')),
    opts.timeoutMs,
  );
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadline.signal]) : deadline.signal;
  const redirects: string[] = [];
  let current: string = url;
  const conditional = conditionalHeaders(opts.conditional);
  try {
    let target = checkUrl(url);
    current = target.href;
    for (;;) {
      const pinned = await resolveAndCheck(target, allow, lookup, signal);
      const res = await sendRequest(target, pinned, opts.userAgent ?? DEFAULT_USER_AGENT, signal, conditional);
      const status = res.statusCode ?? 0;
      const validators = { etag: header(res.headers.etag), lastModified: header(res.headers['last-modified']) };

      if (status === 304 && Object.keys(conditional).length) {
        res.destroy();
        return {
          url: target.href,
          status,
          contentType: res.headers['content-type'] ?? '',
          bytes: Buffer.alloc(0),
          redirects,
          ...validators,
          notModified: true,
        };
      }

      if (REDIRECT_STATUSES.has(status) && res.headers.location !== undefined) {
        res.destroy();
        if (redirects.length >= maxRedirects) {
          throw new FetchRefusedError('too_many_redirects', target.href, `More than ${maxRedirects} redirects.`, {
            status,
          });
        }
        let next: URL;
        try {
          next = new URL(res.headers.location, target);
        } catch (e) {
          throw new FetchRefusedError('bad_url', target.href, 'The redirect Location is not a valid URL.', {
            status,
            cause: e,
          });
        }
        redirects.push(target.href);
        current = redact(next);
        target = checkUrl(next);
        continue;
      }

      if (status < 200 || status > 299) {
        res.destroy();
        throw new FetchRefusedError('http_error', target.href, `The server answered HTTP ${status}.`, { status });
      }
      const contentType = res.headers['content-type'] ?? '';
      if (allowedTypes && !allowedTypes.some((t) => mediaType(contentType).startsWith(t))) {
        res.destroy();
        throw new FetchRefusedError(
          'content_type_not_allowed',
          target.href,
          `Content type ${JSON.stringify(mediaType(contentType) || '(none)')} is not allowed.`,
          { status },
        );
      }
      const bytes = await readBody(res, target, opts.maxBytes, signal);
      return { url: target.href, status, contentType, bytes, redirects, ...validators, notModified: false };
    }
  } catch (e) {
    if (e instanceof FetchRefusedError) throw e;
    if (opts.signal?.aborted) throw opts.signal.reason;
    if (deadline.signal.aborted) {
      throw new FetchRefusedError('timeout', current, `No complete response within ${opts.timeoutMs} ms.`, {
        cause: e,
      });
    }
    const detail = e instanceof Error ? e.message : String(e);
    throw new FetchRefusedError('unreachable', current, `Fetching failed: ${detail}`, { cause: e });
  } finally {
    clearTimeout(timer);
  }
}
