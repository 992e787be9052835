/**
 * Per-hop name resolution for `safeFetch`: resolve the host ourselves, refuse if any address (or the name itself) is
 * internal unless allowed, and pin the connection to exactly the checked addresses (no DNS rebinding).
 */
import { type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import {
  addressAllowed,
  forbiddenReason,
  nameAllowed,
  normName,
  parseIp,
  stripBrackets,
  type AllowList,
} from './address';
import { FetchRefusedError, type SafeFetchOptions } from './types';

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

export interface Pinned {
  address: string;
  family: 4 | 6;
}

function refuseAddress(url: URL, detail: string): FetchRefusedError {
  return new FetchRefusedError('address_not_allowed', url.href, `Refusing to fetch ${url.host}: ${detail}.`);
}

/** Resolves the hop's host and checks every address; returns the addresses to connect to. */
export async function resolveAndCheck(
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
export function pinnedLookup(pinned: Pinned[]): LookupFunction {
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
