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
import { promises as dnsPromises, type LookupAddress, type LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import ipaddr from 'ipaddr.js';

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

const DEFAULT_MAX_REDIRECTS = 5;
const DEFAULT_USER_AGENT = 'BeyondCloud-Fetcher/1.0 (+https://github.com/beyondcloud)';
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Slack on the compressed (wire) bytes of an encoded body; the real cap applies to the decompressed bytes. */
const ENCODED_SLACK_BYTES = 64 * 1024;

/** Names refused even before DNS (defence in depth: they normally resolve to forbidden addresses anyway). */
const FORBIDDEN_HOSTNAMES = new Set([
  'localhost',
  'localhost.localdomain',
  'ip6-localhost',
  'ip6-loopback',
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);
/** `.localhost` is loopback by definition (RFC 6761); `.internal` is reserved for private use (cloud-internal DNS). */
const FORBIDDEN_HOST_SUFFIXES = ['.localhost', '.internal'];

type IP = ipaddr.IPv4 | ipaddr.IPv6;
interface Pinned {
  address: string;
  family: 4 | 6;
}

// ---------------------------------------------------------------------------------------------------------------
// Address classification

function parseIp(address: string): IP | null {
  let a = address.trim();
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  if (!ipaddr.isValid(a)) return null;
  try {
    return ipaddr.parse(a);
  } catch {
    return null;
  }
}

function ipv4FromWords(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR('64:ff9b::/96');

/** Why an address is forbidden, or null when it is a public unicast address. */
function forbiddenReason(addr: IP): string | null {
  if (addr instanceof ipaddr.IPv4) {
    const range = addr.range();
    return range === 'unicast' ? null : range;
  }
  const v6 = addr as ipaddr.IPv6;
  const p = v6.parts;
  const range = v6.range();
  switch (range) {
    case 'ipv4Mapped': // ::ffff:a.b.c.d
    case 'rfc6145': // ::ffff:0:a.b.c.d
      return embedded(range, ipv4FromWords(p[6] ?? 0, p[7] ?? 0));
    case 'rfc6052': // NAT64: 64:ff9b::a.b.c.d is the well-known prefix; 64:ff9b:1::/48 is local-use
      return v6.match(NAT64_WELL_KNOWN) ? embedded(range, ipv4FromWords(p[6] ?? 0, p[7] ?? 0)) : range;
    case '6to4': // 2002:aabb:ccdd::/48 embeds a.b.c.d
      return embedded(range, ipv4FromWords(p[1] ?? 0, p[2] ?? 0));
    case 'unicast':
      // ipaddr.js calls everything it has no name for "unicast" (e.g. the IPv4-compatible ::a.b.c.d, 0::/8);
      // only the global unicast block 2000::/3 is really public.
      return ((p[0] ?? 0) & 0xe000) === 0x2000 ? null : 'reserved';
    default:
      // loopback, unspecified, linkLocal, uniqueLocal, multicast, teredo, reserved, benchmarking, discard, ...
      return range;
  }
}

function embedded(outer: string, v4: ipaddr.IPv4): string | null {
  const inner = forbiddenReason(v4);
  return inner === null ? null : `${outer} embedding ${inner} ${v4.toString()}`;
}

/**
 * True when connecting to this IP address is forbidden by default: anything that is not a public unicast address
 * (loopback, unspecified, private, link-local/metadata, CGNAT, unique-local, multicast, broadcast, reserved/testing
 * ranges, Teredo, ...), including IPv4-mapped/6to4/NAT64 addresses that embed such an IPv4 address.
 * Also true for anything that is not a valid IP address (fail closed). Accepts non-standard IPv4 forms
 * (`0x7f000001`, `2130706433`) and bracketed IPv6.
 */
export function isForbiddenAddress(address: string): boolean {
  const ip = parseIp(address);
  return ip === null || forbiddenReason(ip) !== null;
}

// ---------------------------------------------------------------------------------------------------------------
// allowHosts

interface AllowList {
  names: Set<string>;
  suffixes: string[];
  cidrs: Array<[IP, number]>;
}

function normName(host: string): string {
  return host.toLowerCase().replace(/\.+$/, '');
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Normalises a host entry the way URLs normalise hosts (IDNA, numeric IPv4 forms); throws on anything else. */
function entryHost(entry: string): string {
  const bracketed = entry.includes(':') && !entry.startsWith('[') ? `[${entry}]` : entry;
  let u: URL;
  try {
    u = new URL(`http://${bracketed}/`);
  } catch {
    throw new TypeError(`Invalid allowHosts entry: ${JSON.stringify(entry)}`);
  }
  if (!u.hostname || u.host !== u.hostname || u.pathname !== '/' || u.search || u.username || u.password) {
    throw new TypeError(`Invalid allowHosts entry (host name, IP or CIDR only): ${JSON.stringify(entry)}`);
  }
  return u.hostname;
}

function parseAllowList(entries: string[] | undefined): AllowList {
  const list: AllowList = { names: new Set(), suffixes: [], cidrs: [] };
  for (const raw of entries ?? []) {
    const entry = raw.trim();
    if (!entry) continue;
    if (entry.includes('/')) {
      try {
        list.cidrs.push(ipaddr.parseCIDR(stripBrackets(entry)));
      } catch {
        throw new TypeError(`Invalid allowHosts CIDR: ${JSON.stringify(raw)}`);
      }
      continue;
    }
    if (entry.startsWith('*.')) {
      list.suffixes.push(`.${normName(entryHost(entry.slice(2)))}`);
      continue;
    }
    const host = entryHost(entry);
    const ip = parseIp(host);
    if (ip && isIP(stripBrackets(host))) list.cidrs.push([ip, ip.kind() === 'ipv4' ? 32 : 128]);
    else list.names.add(normName(host));
  }
  return list;
}

function nameAllowed(list: AllowList, hostname: string): boolean {
  const h = normName(hostname);
  return list.names.has(h) || list.suffixes.some((s) => h.endsWith(s));
}

function addressAllowed(list: AllowList, ip: IP): boolean {
  const candidates: IP[] = [ip];
  if (ip instanceof ipaddr.IPv6 && ip.isIPv4MappedAddress()) candidates.push(ip.toIPv4Address());
  return list.cidrs.some(([net, bits]) => candidates.some((c) => c.kind() === net.kind() && c.match(net, bits)));
}

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

function refuseAddress(url: URL, detail: string): FetchRefusedError {
  return new FetchRefusedError('address_not_allowed', url.href, `Refusing to fetch ${url.host}: ${detail}.`);
}

/** Resolves the hop's host and checks every address; returns the addresses to connect to. */
async function resolveAndCheck(
  url: URL,
  allow: AllowList,
  lookup: NonNullable<SafeFetchOptions['lookup']>,
  signal: AbortSignal,
): Promise<Pinned[]> {
  const host = stripBrackets(url.hostname);
  const byName = nameAllowed(allow, url.hostname);
  let answers: Array<{ address: string; family: number }>;
  if (isIP(host)) {
    answers = [{ address: host, family: isIP(host) }];
  } else {
    const name = normName(host);
    if (!byName && (FORBIDDEN_HOSTNAMES.has(name) || FORBIDDEN_HOST_SUFFIXES.some((s) => name.endsWith(s)))) {
      throw refuseAddress(url, 'internal host name');
    }
    try {
      answers = await abortable(lookup(host), signal);
    } catch (e) {
      if (signal.aborted) throw e;
      throw new FetchRefusedError('unreachable', url.href, `Could not resolve ${host}.`, { cause: e });
    }
    if (answers.length === 0) throw new FetchRefusedError('unreachable', url.href, `${host} has no addresses.`);
  }
  const pinned: Pinned[] = [];
  for (const answer of answers) {
    const ip = parseIp(answer.address);
    if (!ip) throw refuseAddress(url, `resolved to an invalid address ${JSON.stringify(answer.address)}`);
    const reason = forbiddenReason(ip);
    if (reason !== null && !byName && !addressAllowed(allow, ip)) {
      throw refuseAddress(url, `${ip.toString()} is not a public address (${reason})`);
    }
    pinned.push({ address: ip.toString(), family: ip.kind() === 'ipv4' ? 4 : 6 });
  }
  return pinned;
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** A `lookup` for node:net that only ever answers with the pre-checked addresses. */
function pinnedLookup(pinned: Pinned[]): LookupFunction {
  return (_hostname: string, options: LookupOptions, callback) => {
    const usable =
      options.family === 4 || options.family === 6 ? pinned.filter((p) => p.family === options.family) : pinned;
    const first = usable[0];
    if (!first) {
      const err: NodeJS.ErrnoException = new Error('No checked address of the requested family.');
      err.code = 'ENOTFOUND';
      callback(err, '', 0);
      return;
    }
    if (options.all)
      callback(
        null,
        usable.map((p): LookupAddress => ({ address: p.address, family: p.family })),
      );
    else callback(null, first.address, first.family);
  };
}

function sendRequest(
  url: URL,
  pinned: Pinned[],
  userAgent: string,
  signal: AbortSignal,
): Promise<http.IncomingMessage> {
  const isHttps = url.protocol === 'https:';
  const host = stripBrackets(url.hostname);
  const literal = isIP(host) !== 0;
  const options: https.RequestOptions = {
    method: 'GET',
    // For names, `lookup` pins the connection to the checked addresses; for literals, the literal was checked.
    hostname: literal ? (pinned[0]?.address ?? host) : host,
    port: url.port || (isHttps ? 443 : 80),
    path: `${url.pathname}${url.search}`,
    headers: {
      Host: url.host,
      'User-Agent': userAgent,
      Accept: '*/*',
      'Accept-Encoding': 'gzip, deflate, br',
      Connection: 'close',
    },
    agent: false, // no pooled sockets: every hop connects to its own checked address
    signal,
    ...(literal ? {} : { lookup: pinnedLookup(pinned) }),
    ...(isHttps && !literal ? { servername: normName(host) } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (isHttps ? https : http).request(options, resolve);
    req.on('error', reject);
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Body

function limiter(max: number, onExceed: () => Error): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > max) callback(onExceed());
      else callback(null, chunk);
    },
  });
}

function decoderFor(encoding: string): Transform | null {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return null;
  }
}

async function readBody(res: http.IncomingMessage, url: URL, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
  const encodings = (res.headers['content-encoding'] ?? '')
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e && e !== 'identity');
  const decoders: Transform[] = [];
  for (const encoding of [...encodings].reverse()) {
    const decoder = decoderFor(encoding);
    if (!decoder) {
      res.destroy();
      throw new FetchRefusedError(
        'content_type_not_allowed',
        url.href,
        `Unsupported Content-Encoding ${JSON.stringify(encoding)}.`,
      );
    }
    decoders.push(decoder);
  }
  const tooLarge = () =>
    new FetchRefusedError('too_large', url.href, `The response body is larger than ${maxBytes} bytes.`);
  const wireCap = decoders.length ? maxBytes + ENCODED_SLACK_BYTES : maxBytes;
  const declared = Number(res.headers['content-length']);
  if (res.headers['content-length'] !== undefined && Number.isFinite(declared) && declared > wireCap) {
    res.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  const stages: NodeJS.ReadWriteStream[] = [limiter(wireCap, tooLarge), ...decoders];
  if (decoders.length) stages.push(limiter(maxBytes, tooLarge)); // zip bombs stop here, a zlib chunk past the cap
  await pipeline([res, ...stages, sink], { signal });
  return Buffer.concat(chunks);
}

function mediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

// ---------------------------------------------------------------------------------------------------------------

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
  try {
    let target = checkUrl(url);
    current = target.href;
    for (;;) {
      const pinned = await resolveAndCheck(target, allow, lookup, signal);
      const res = await sendRequest(target, pinned, opts.userAgent ?? DEFAULT_USER_AGENT, signal);
      const status = res.statusCode ?? 0;

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
      return { url: target.href, status, contentType, bytes, redirects };
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
