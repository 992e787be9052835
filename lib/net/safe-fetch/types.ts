/** Options, result and refusal error of `safeFetch` (see ./index.ts). */

export interface SafeFetchOptions {
  /** Cap on the (decompressed) body size in bytes. */
  maxBytes: number;
  /** One deadline for the whole fetch: DNS, every redirect hop and reading the body. */
  timeoutMs: number;
  /** Redirects to follow before refusing with too_many_redirects. Default 5; 0 refuses any redirect. */
  maxRedirects?: number;
  /**
   * Hosts an operator allows even though they are internal: exact host names (`intranet.example.com`), wildcard
   * subdomains (`*.corp.example.com`, subdomains only), single IPs (`127.0.0.1`, `::1`) or CIDRs (`10.1.0.0/16`).
   * A name entry allows every address that name resolves to; an IP/CIDR entry allows matching addresses for any host.
   */
  allowHosts?: string[];
  /** Allowed media types, matched as a case-insensitive prefix of the response media type (`text/` allows all text). Undefined = any. */
  allowedContentTypes?: string[];
  /** Aborting rejects with the signal's reason (an AbortError by default), not with a FetchRefusedError. */
  signal?: AbortSignal;
  userAgent?: string;
  /**
   * A conditional GET: the validators of the copy the caller has (a response's `etag` and `lastModified`). A 304 then
   * answers `notModified: true` with no body instead of refusing; a validator with a line break is not sent.
   */
  conditional?: { etag?: string | null; lastModified?: string | null };
  /** Name resolution (for tests). Default: dns.promises.lookup(host, { all: true }). */
  lookup?: (host: string) => Promise<Array<{ address: string; family: 4 | 6 }>>;
}

export interface SafeFetchResult {
  /** Final URL after redirects. */
  url: string;
  status: number;
  /** The Content-Type header as sent ('' when absent), charset included. */
  contentType: string;
  /** The body, decompressed. */
  bytes: Buffer;
  /** The URLs that answered with a redirect, in order (the requested URL first); the full chain is [...redirects, url]. */
  redirects: string[];
  /** The response's ETag and Last-Modified headers (null when absent), for a later conditional GET. */
  etag: string | null;
  lastModified: string | null;
  /** A conditional GET answered 304 Not Modified: `bytes` is empty, the caller's copy is current. */
  notModified: boolean;
}

export type FetchRefusedCode =
  | 'bad_url'
  | 'scheme_not_allowed'
  | 'address_not_allowed'
  | 'too_many_redirects'
  | 'too_large'
  | 'timeout'
  | 'content_type_not_allowed'
  | 'http_error'
  | 'unreachable';

export class FetchRefusedError extends Error {
  readonly code: FetchRefusedCode;
  /** The URL of the hop that was refused (credentials removed). */
  readonly url: string;
  /** HTTP status, for http_error. */
  readonly status?: number;

  constructor(code: FetchRefusedCode, url: string, message: string, opts: { status?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'FetchRefusedError';
    this.code = code;
    this.url = url;
    if (opts.status !== undefined) this.status = opts.status;
  }
}
