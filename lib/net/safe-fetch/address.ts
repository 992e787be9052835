/**
 * Address policy for `safeFetch`: which IP addresses are forbidden by default (anything that is not public unicast,
 * including IPv4 embedded in IPv6), and the operator's `allowHosts` list (names, wildcard subdomains, IPs, CIDRs).
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

export type IP = ipaddr.IPv4 | ipaddr.IPv6;

// ---------------------------------------------------------------------------------------------------------------
// Address classification

export function parseIp(address: string): IP | null {
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
export function forbiddenReason(addr: IP): string | null {
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

export interface AllowList {
  names: Set<string>;
  suffixes: string[];
  cidrs: Array<[IP, number]>;
}

export function normName(host: string): string {
  return host.toLowerCase().replace(/\.+$/, '');
}

export function stripBrackets(host: string): string {
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

export function parseAllowList(entries: string[] | undefined): AllowList {
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

export function nameAllowed(list: AllowList, hostname: string): boolean {
  const h = normName(hostname);
  return list.names.has(h) || list.suffixes.some((s) => h.endsWith(s));
}

export function addressAllowed(list: AllowList, ip: IP): boolean {
  const candidates: IP[] = [ip];
  if (ip instanceof ipaddr.IPv6 && ip.isIPv4MappedAddress()) candidates.push(ip.toIPv4Address());
  return list.cidrs.some(([net, bits]) => candidates.some((c) => c.kind() === net.kind() && c.match(net, bits)));
}
