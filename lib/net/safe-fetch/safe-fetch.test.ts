import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../process/ports';
import { FetchRefusedError, isForbiddenAddress, safeFetch, type SafeFetchOptions } from './index';

// ---------------------------------------------------------------------------------------------------------------
// Helpers: real HTTP servers on loopback that count every connection and request they receive.

interface TestServer {
  port: number;
  /** http://127.0.0.1:<port> */
  origin: string;
  requests: IncomingMessage[];
  connections: number;
}

const servers: Array<ReturnType<typeof createServer>> = [];

async function startServer(
  handler: (req: IncomingMessage, res: ServerResponse, s: TestServer) => void,
): Promise<TestServer> {
  const s: TestServer = { port: 0, origin: '', requests: [], connections: 0 };
  const server = createServer((req, res) => {
    s.requests.push(req);
    handler(req, res, s);
  });
  server.on('connection', () => s.connections++);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  s.port = (server.address() as AddressInfo).port;
  s.origin = `http://127.0.0.1:${s.port}`;
  return s;
}

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

/** A fake resolver; every call is recorded. Unknown names fail like a real ENOTFOUND. */
function fakeDns(table: Record<string, string[] | (() => string[])>) {
  const calls: string[] = [];
  const lookup: NonNullable<SafeFetchOptions['lookup']> = async (host) => {
    calls.push(host);
    const entry = table[host];
    if (!entry) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    const addresses = typeof entry === 'function' ? entry() : entry;
    return addresses.map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) }));
  };
  return { lookup, calls };
}

/** A lookup that must never be called (IP literals and refused names do not resolve). */
const noDns: NonNullable<SafeFetchOptions['lookup']> = async (host) => {
  throw new Error(`unexpected DNS lookup of ${host}`);
};

const base: SafeFetchOptions = { maxBytes: 1024 * 1024, timeoutMs: 5000 };

async function refused(p: Promise<unknown>): Promise<FetchRefusedError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(FetchRefusedError);
    return e as FetchRefusedError;
  }
  throw new Error('resolved, but a FetchRefusedError was expected');
}

const ok =
  (body: string | Buffer, headers: Record<string, string> = { 'content-type': 'text/plain' }) =>
  (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, headers);
    res.end(body);
  };

const redirectTo =
  (location: string, status = 302) =>
  (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(status, { location });
    res.end();
  };

// ---------------------------------------------------------------------------------------------------------------

describe('isForbiddenAddress', () => {
  it.each([
    ['127.0.0.1'],
    ['127.255.255.254'],
    ['0.0.0.0'],
    ['0.1.2.3'],
    ['10.0.0.5'],
    ['172.16.0.1'],
    ['172.31.255.255'],
    ['192.168.1.1'],
    ['169.254.169.254'],
    ['100.64.0.1'],
    ['100.100.100.200'], // Alibaba Cloud metadata (CGNAT)
    ['224.0.0.1'],
    ['239.255.255.250'],
    ['255.255.255.255'],
    ['240.0.0.1'],
    ['192.0.2.1'],
    ['198.18.0.1'],
    ['::1'],
    ['::'],
    ['fe80::1'],
    ['fe80::1%eth0'],
    ['fc00::1'],
    ['fd00:ec2::254'], // AWS IMDS over IPv6
    ['ff02::1'],
    ['::ffff:127.0.0.1'],
    ['::ffff:7f00:1'],
    ['::ffff:10.0.0.1'],
    ['::ffff:169.254.169.254'],
    ['::ffff:0:127.0.0.1'], // RFC 6145
    ['::127.0.0.1'], // deprecated IPv4-compatible
    ['::7f00:1'],
    ['2002:7f00:1::1'], // 6to4 of 127.0.0.1
    ['2002:a9fe:a9fe::'], // 6to4 of 169.254.169.254
    ['64:ff9b::10.0.0.1'], // NAT64 of a private address
    ['64:ff9b::7f00:1'],
    ['64:ff9b:1::1'], // local-use NAT64
    ['2001:db8::1'], // documentation
    ['2001::1'], // Teredo
    ['0x7f000001'],
    ['2130706433'],
    ['0x7f.1'],
    ['017700000001'],
    ['[::1]'],
    ['not-an-ip'],
    ['example.com'],
    [''],
  ])('forbids %s', (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each([
    ['8.8.8.8'],
    ['1.1.1.1'],
    ['93.184.216.34'],
    ['172.32.0.1'],
    ['100.128.0.1'],
    ['2606:4700:4700::1111'],
    ['2001:4860:4860::8888'],
    ['::ffff:8.8.8.8'],
    ['2002:808:808::1'], // 6to4 of 8.8.8.8
    ['64:ff9b::8.8.8.8'], // NAT64 of 8.8.8.8
  ])('allows the public address %s', (address) => {
    expect(isForbiddenAddress(address)).toBe(false);
  });
});

describe('safeFetch refuses forbidden targets before connecting', () => {
  it('refuses loopback without an allow entry, and the server never sees a connection', async () => {
    const s = await startServer(ok('secret'));
    const err = await refused(safeFetch(`${s.origin}/`, { ...base, lookup: noDns }));
    expect(err.code).toBe('address_not_allowed');
    expect(err.name).toBe('FetchRefusedError');
    expect(err.url).toBe(`${s.origin}/`);
    expect(s.connections).toBe(0);
  });

  it.each([
    ['decimal', (p: number) => `http://2130706433:${p}/`],
    ['hex', (p: number) => `http://0x7f000001:${p}/`],
    ['short hex', (p: number) => `http://0x7f.1:${p}/`],
    ['octal', (p: number) => `http://017700000001:${p}/`],
    ['short dotted', (p: number) => `http://127.1:${p}/`],
    ['IPv4-mapped IPv6', (p: number) => `http://[::ffff:127.0.0.1]:${p}/`],
    ['IPv4-mapped IPv6 (hex)', (p: number) => `http://[::ffff:7f00:1]:${p}/`],
    ['upper-case localhost', (p: number) => `http://LOCALHOST:${p}/`],
    ['trailing-dot localhost', (p: number) => `http://localhost.:${p}/`],
  ])('refuses loopback written as %s, without a request', async (_label, make) => {
    const s = await startServer(ok('secret'));
    const err = await refused(safeFetch(make(s.port), { ...base, lookup: noDns }));
    expect(err.code).toBe('address_not_allowed');
    expect(s.connections).toBe(0);
  });

  it.each([
    ['http://[::1]/'],
    ['http://[::]/'],
    ['http://0.0.0.0/'],
    ['http://169.254.169.254/latest/meta-data/'],
    ['http://[fd00:ec2::254]/latest/meta-data/'],
    ['http://10.0.0.5/'],
    ['http://172.16.3.4/'],
    ['http://192.168.0.1/admin'],
    ['http://100.64.0.1/'],
    ['http://224.0.0.1/'],
    ['http://255.255.255.255/'],
    ['http://[fe80::1]/'],
    ['http://[2002:7f00:1::]/'],
    ['http://metadata.google.internal/computeMetadata/v1/'],
    ['http://metadata.google.internal./computeMetadata/v1/'],
    ['http://metadata/'],
    ['http://something.localhost/'],
  ])('refuses %s without resolving or connecting', async (url) => {
    const err = await refused(safeFetch(url, { ...base, lookup: noDns }));
    expect(err.code).toBe('address_not_allowed');
  });

  it('refuses a name that resolves to a private address', async () => {
    const dns = fakeDns({ 'files.example.test': ['10.1.2.3'] });
    const err = await refused(safeFetch('http://files.example.test/a.pdf', { ...base, lookup: dns.lookup }));
    expect(err.code).toBe('address_not_allowed');
    expect(err.message).toContain('10.1.2.3');
    expect(dns.calls).toEqual(['files.example.test']);
  });

  it('refuses a name when any one of its addresses is private (one public, one private)', async () => {
    const dns = fakeDns({ 'mixed.example.test': ['93.184.216.34', '10.0.0.1'] });
    expect((await refused(safeFetch('http://mixed.example.test/', { ...base, lookup: dns.lookup }))).code).toBe(
      'address_not_allowed',
    );
    const dns6 = fakeDns({ 'mixed6.example.test': ['2606:4700:4700::1111', '::ffff:169.254.169.254'] });
    expect((await refused(safeFetch('http://mixed6.example.test/', { ...base, lookup: dns6.lookup }))).code).toBe(
      'address_not_allowed',
    );
  });

  it('refuses a name resolving to loopback even though a server listens there', async () => {
    const s = await startServer(ok('secret'));
    const dns = fakeDns({ 'docs.example.test': ['127.0.0.1'] });
    const err = await refused(safeFetch(`http://docs.example.test:${s.port}/`, { ...base, lookup: dns.lookup }));
    expect(err.code).toBe('address_not_allowed');
    expect(s.connections).toBe(0);
  });

  it.each([
    ['file:///etc/passwd'],
    ['ftp://x/'],
    ['data:text/plain,hello'],
    ['gopher://x/'],
    ['javascript:alert(1)'],
    ['ws://x/'],
  ])('refuses the scheme of %s', async (url) => {
    expect((await refused(safeFetch(url, { ...base, lookup: noDns }))).code).toBe('scheme_not_allowed');
  });

  it('refuses credentials in the URL and does not echo them', async () => {
    const err = await refused(safeFetch('http://user:pass@example.test/', { ...base, lookup: noDns }));
    expect(err.code).toBe('bad_url');
    expect(err.url).not.toContain('pass');
    expect((await refused(safeFetch('http://user@example.test/', { ...base, lookup: noDns }))).code).toBe('bad_url');
  });

  it('does not echo credentials of a URL it cannot parse, an @ in the password included', async () => {
    const err = await refused(safeFetch('http://user:hun@ter2@bad host.test/doc?next=a@b', { ...base, lookup: noDns }));
    expect(err.code).toBe('bad_url');
    expect(err.url).toBe('http://bad host.test/doc?next=a@b');
  });

  it('refuses malformed URLs', async () => {
    expect((await refused(safeFetch('not a url', { ...base, lookup: noDns }))).code).toBe('bad_url');
    expect((await refused(safeFetch('http://1.2.3.4.5/', { ...base, lookup: noDns }))).code).toBe('bad_url');
  });

  it('reports names that do not resolve as unreachable', async () => {
    const dns = fakeDns({});
    expect((await refused(safeFetch('http://nowhere.example.test/', { ...base, lookup: dns.lookup }))).code).toBe(
      'unreachable',
    );
  });
});

describe('safeFetch allowed fetches', () => {
  it('fetches from loopback when the operator allows 127.0.0.1', async () => {
    const s = await startServer(ok('hello', { 'content-type': 'text/plain; charset=utf-8' }));
    const r = await safeFetch(`${s.origin}/doc.txt?x=1`, { ...base, allowHosts: ['127.0.0.1'], lookup: noDns });
    expect(r).toMatchObject({
      url: `${s.origin}/doc.txt?x=1`,
      status: 200,
      contentType: 'text/plain; charset=utf-8',
      redirects: [],
    });
    expect(r.bytes.toString()).toBe('hello');
    expect(s.requests[0]?.url).toBe('/doc.txt?x=1');
    expect(s.requests[0]?.headers['user-agent']).toMatch(/BeyondCloud/);
  });

  it('connects a public-looking name to the pre-resolved address, keeping the Host header (allowed by IP)', async () => {
    const s = await startServer(ok('<h1>docs</h1>', { 'content-type': 'text/html' }));
    const dns = fakeDns({ 'docs.example.test': ['127.0.0.1'] });
    const r = await safeFetch(`http://docs.example.test:${s.port}/`, {
      ...base,
      allowHosts: ['127.0.0.1'],
      lookup: dns.lookup,
      userAgent: 'ua-test',
    });
    expect(r.bytes.toString()).toBe('<h1>docs</h1>');
    // .test never resolves in real DNS: the connection used the checked address.
    expect(s.requests[0]?.headers.host).toBe(`docs.example.test:${s.port}`);
    expect(s.requests[0]?.headers['user-agent']).toBe('ua-test');
    expect(dns.calls).toEqual(['docs.example.test']);
  });

  it('resolves once per hop and pins the address (a rebinding answer is never used)', async () => {
    const s = await startServer(ok('pinned'));
    let n = 0;
    const dns = fakeDns({ 'rebind.example.test': () => (n++ === 0 ? ['127.0.0.1'] : ['10.9.9.9']) });
    const r = await safeFetch(`http://rebind.example.test:${s.port}/`, {
      ...base,
      allowHosts: ['127.0.0.1'],
      lookup: dns.lookup,
    });
    expect(r.bytes.toString()).toBe('pinned');
    expect(dns.calls).toHaveLength(1);
  });

  it('allows by CIDR, by host name and by wildcard', async () => {
    const s = await startServer(ok('x'));
    const dns = fakeDns({
      'intranet.example.test': ['127.0.0.1'],
      'a.corp.example.test': ['127.0.0.1'],
      'corp.example.test': ['127.0.0.1'],
    });
    const opts = { ...base, lookup: dns.lookup };
    await expect(safeFetch(`${s.origin}/`, { ...opts, allowHosts: ['127.0.0.0/8'] })).resolves.toMatchObject({
      status: 200,
    });
    await expect(
      safeFetch(`http://intranet.example.test:${s.port}/`, { ...opts, allowHosts: ['Intranet.Example.Test'] }),
    ).resolves.toMatchObject({ status: 200 });
    await expect(
      safeFetch(`http://a.corp.example.test:${s.port}/`, { ...opts, allowHosts: ['*.corp.example.test'] }),
    ).resolves.toMatchObject({ status: 200 });
    // The wildcard covers subdomains only; a name allowance covers no other name; allowing 10/8 does not allow loopback.
    expect(
      (
        await refused(
          safeFetch(`http://corp.example.test:${s.port}/`, { ...opts, allowHosts: ['*.corp.example.test'] }),
        )
      ).code,
    ).toBe('address_not_allowed');
    expect(
      (
        await refused(
          safeFetch(`http://a.corp.example.test:${s.port}/`, { ...opts, allowHosts: ['intranet.example.test'] }),
        )
      ).code,
    ).toBe('address_not_allowed');
    expect((await refused(safeFetch(`${s.origin}/`, { ...opts, allowHosts: ['10.0.0.0/8'] }))).code).toBe(
      'address_not_allowed',
    );
    expect(s.requests).toHaveLength(3);
  });

  it('rejects malformed allowHosts entries', async () => {
    await expect(
      safeFetch('http://example.test/', { ...base, allowHosts: ['10.0.0.0/99'], lookup: noDns }),
    ).rejects.toThrow(TypeError);
    await expect(
      safeFetch('http://example.test/', { ...base, allowHosts: ['host:8080'], lookup: noDns }),
    ).rejects.toThrow(TypeError);
  });

  it('follows a redirect chain within allowed hosts', async () => {
    const b = await startServer(ok('final', { 'content-type': 'text/markdown' }));
    const a = await startServer((req, res) => {
      if (req.url === '/start') redirectTo('/mid', 302)(req, res);
      else if (req.url === '/mid') redirectTo(`${b.origin}/end`, 301)(req, res);
      else res.writeHead(404).end();
    });
    const r = await safeFetch(`${a.origin}/start`, {
      ...base,
      allowHosts: ['127.0.0.1'],
      lookup: noDns,
      allowedContentTypes: ['text/markdown'],
    });
    expect(r.url).toBe(`${b.origin}/end`);
    expect(r.redirects).toEqual([`${a.origin}/start`, `${a.origin}/mid`]);
    expect(r.bytes.toString()).toBe('final');
    expect(a.requests.map((q) => q.url)).toEqual(['/start', '/mid']);
    expect(b.requests).toHaveLength(1);
  });

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ] as const)('decompresses %s', async (encoding, compress) => {
    const text = 'The quick brown fox. '.repeat(2000);
    const s = await startServer(
      ok(compress(Buffer.from(text)), { 'content-type': 'text/plain', 'content-encoding': encoding }),
    );
    const r = await safeFetch(`${s.origin}/`, { ...base, allowHosts: ['127.0.0.1'], lookup: noDns });
    expect(r.bytes.toString()).toBe(text);
    expect(s.requests[0]?.headers['accept-encoding']).toContain(encoding);
  });

  it('accepts a body of exactly maxBytes', async () => {
    const s = await startServer(ok(Buffer.alloc(1000, 1)));
    const r = await safeFetch(`${s.origin}/`, { ...base, maxBytes: 1000, allowHosts: ['127.0.0.1'], lookup: noDns });
    expect(r.bytes.length).toBe(1000);
  });

  it('matches allowed content types by media-type prefix', async () => {
    const s = await startServer(ok('x', { 'content-type': 'Text/Plain; charset=utf-8' }));
    const r = await safeFetch(`${s.origin}/`, {
      ...base,
      allowHosts: ['127.0.0.1'],
      lookup: noDns,
      allowedContentTypes: ['application/pdf', 'text/'],
    });
    expect(r.contentType).toBe('Text/Plain; charset=utf-8');
  });
});

describe('safeFetch re-checks every redirect hop', () => {
  const allowDocs = (extra: Record<string, string[]> = {}) => {
    const dns = fakeDns({ 'docs.example.test': ['127.0.0.1'], ...extra });
    return { ...base, allowHosts: ['docs.example.test'], lookup: dns.lookup };
  };

  it('refuses a redirect to a loopback server on another port; that server receives nothing', async () => {
    const victim = await startServer(ok('internal secret'));
    const a = await startServer(redirectTo(`http://127.0.0.1:${victim.port}/admin`));
    const err = await refused(safeFetch(`http://docs.example.test:${a.port}/`, allowDocs()));
    expect(err.code).toBe('address_not_allowed');
    expect(err.url).toBe(`http://127.0.0.1:${victim.port}/admin`);
    expect(a.requests).toHaveLength(1);
    expect(victim.requests).toHaveLength(0);
    expect(victim.connections).toBe(0);
  });

  it.each([
    ['the metadata service', () => 'http://169.254.169.254/latest/meta-data/'],
    ['a hex loopback literal', (p: number) => `http://0x7f000001:${p}/`],
    ['an IPv4-mapped loopback', (p: number) => `http://[::ffff:127.0.0.1]:${p}/`],
    ['a name resolving to loopback', (p: number) => `http://evil.example.test:${p}/`],
    ['metadata.google.internal', () => 'http://metadata.google.internal/computeMetadata/v1/'],
  ])('refuses a redirect to %s', async (_label, make) => {
    const victim = await startServer(ok('internal secret'));
    const a = await startServer(redirectTo(make(victim.port)));
    const err = await refused(
      safeFetch(`http://docs.example.test:${a.port}/`, allowDocs({ 'evil.example.test': ['127.0.0.1'] })),
    );
    expect(err.code).toBe('address_not_allowed');
    expect(victim.connections).toBe(0);
  });

  it('refuses a redirect to a disallowed scheme or to credentials', async () => {
    const a = await startServer((req, res) =>
      redirectTo(req.url === '/file' ? 'file:///etc/passwd' : 'http://u:p@example.test/')(req, res),
    );
    expect((await refused(safeFetch(`http://docs.example.test:${a.port}/file`, allowDocs()))).code).toBe(
      'scheme_not_allowed',
    );
    const err = await refused(safeFetch(`http://docs.example.test:${a.port}/creds`, allowDocs()));
    expect(err.code).toBe('bad_url');
    expect(err.url).not.toContain('u:p@');
  });

  it('stops after maxRedirects', async () => {
    const a = await startServer(redirectTo('/again'));
    const err = await refused(
      safeFetch(`${a.origin}/`, { ...base, allowHosts: ['127.0.0.1'], lookup: noDns, maxRedirects: 3 }),
    );
    expect(err.code).toBe('too_many_redirects');
    expect(a.requests).toHaveLength(4);
    const none = await refused(
      safeFetch(`${a.origin}/`, { ...base, allowHosts: ['127.0.0.1'], lookup: noDns, maxRedirects: 0 }),
    );
    expect(none.code).toBe('too_many_redirects');
  });

  it('defaults to 5 redirects', async () => {
    const a = await startServer((req, res) => {
      const n = Number(req.url?.slice(1) || 0);
      if (n < 5) redirectTo(`/${n + 1}`)(req, res);
      else ok('done')(req, res);
    });
    const r = await safeFetch(`${a.origin}/`, { ...base, allowHosts: ['127.0.0.1'], lookup: noDns });
    expect(r.redirects).toHaveLength(5);
    const b = await startServer(redirectTo('/loop'));
    expect((await refused(safeFetch(`${b.origin}/`, { ...base, allowHosts: ['127.0.0.1'], lookup: noDns }))).code).toBe(
      'too_many_redirects',
    );
    expect(b.requests).toHaveLength(6);
  });
});

describe('safeFetch caps', () => {
  const allowed = { ...base, allowHosts: ['127.0.0.1'], lookup: noDns };

  it('refuses by Content-Length before reading the body', async () => {
    let closed = false;
    const s = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(10_000_000) });
      res.write(Buffer.alloc(1000)); // and never more
      res.on('close', () => (closed = true));
    });
    const started = Date.now();
    const err = await refused(safeFetch(`${s.origin}/`, { ...allowed, maxBytes: 100_000 }));
    expect(err.code).toBe('too_large');
    expect(Date.now() - started).toBeLessThan(2000);
    await expect.poll(() => closed).toBe(true);
  });

  it('aborts a chunked body mid-stream once it grows past the cap', async () => {
    let written = 0;
    let closedEarly = false;
    const s = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' }); // no Content-Length: chunked
      const timer = setInterval(() => {
        if (written >= 10_000_000) {
          clearInterval(timer);
          res.end();
          return;
        }
        res.write(Buffer.alloc(4096, 97));
        written += 4096;
      }, 2);
      res.on('close', () => {
        clearInterval(timer);
        closedEarly = !res.writableFinished;
      });
    });
    const err = await refused(safeFetch(`${s.origin}/`, { ...allowed, maxBytes: 64 * 1024 }));
    expect(err.code).toBe('too_large');
    await expect.poll(() => closedEarly).toBe(true);
    expect(written).toBeLessThan(10_000_000);
  });

  it('caps the decompressed size (gzip bomb)', async () => {
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024)); // ~50 KB on the wire
    expect(bomb.length).toBeLessThan(100 * 1024);
    const s = await startServer(ok(bomb, { 'content-type': 'text/plain', 'content-encoding': 'gzip' }));
    const err = await refused(safeFetch(`${s.origin}/`, { ...allowed, maxBytes: 1024 * 1024 }));
    expect(err.code).toBe('too_large');
  });

  it('times out on a server that never answers', async () => {
    const s = await startServer(() => {
      /* never respond */
    });
    const started = Date.now();
    const err = await refused(safeFetch(`${s.origin}/slow`, { ...allowed, timeoutMs: 300 }));
    expect(err.code).toBe('timeout');
    expect(err.url).toBe(`${s.origin}/slow`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('applies one deadline across all redirect hops', async () => {
    const s = await startServer((req, res) => {
      const n = Number(req.url?.slice(1) || 0);
      setTimeout(() => redirectTo(`/${n + 1}`)(req, res), 150);
    });
    const err = await refused(safeFetch(`${s.origin}/0`, { ...allowed, timeoutMs: 500, maxRedirects: 10 }));
    expect(err.code).toBe('timeout');
    expect(s.requests.length).toBeLessThanOrEqual(4);
  });

  it('times out on a body that trickles forever', async () => {
    const s = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('.'), 20);
      res.on('close', () => clearInterval(timer));
    });
    expect((await refused(safeFetch(`${s.origin}/`, { ...allowed, timeoutMs: 300 }))).code).toBe('timeout');
  });

  it('honours an abort signal with the signal reason', async () => {
    const s = await startServer(() => {
      /* never respond */
    });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const p = safeFetch(`${s.origin}/`, { ...allowed, signal: ac.signal });
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    await expect(p).rejects.not.toBeInstanceOf(FetchRefusedError);
    const pre = AbortSignal.abort(new Error('cancelled'));
    await expect(safeFetch(`${s.origin}/`, { ...allowed, signal: pre })).rejects.toThrow('cancelled');
    expect(s.requests).toHaveLength(1);
  });

  it('refuses a content type that is not allowed, and a missing one', async () => {
    const s = await startServer((req, res) => {
      if (req.url === '/none') res.writeHead(200).end('x');
      else ok('x', { 'content-type': 'application/octet-stream' })(req, res);
    });
    const err = await refused(
      safeFetch(`${s.origin}/bin`, { ...allowed, allowedContentTypes: ['text/html', 'application/pdf'] }),
    );
    expect(err.code).toBe('content_type_not_allowed');
    expect((await refused(safeFetch(`${s.origin}/none`, { ...allowed, allowedContentTypes: ['text/'] }))).code).toBe(
      'content_type_not_allowed',
    );
  });

  it('reports a non-2xx final status as http_error with the status', async () => {
    const s = await startServer((_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('nope'));
    const err = await refused(safeFetch(`${s.origin}/missing`, allowed));
    expect(err).toMatchObject({ code: 'http_error', status: 404, url: `${s.origin}/missing` });
  });

  it('reports a refused connection as unreachable', async () => {
    const port = await freePort();
    expect((await refused(safeFetch(`http://127.0.0.1:${port}/`, allowed))).code).toBe('unreachable');
  });
});

describe('safeFetch conditional GET', () => {
  const page = 'the page body';
  const etag = '"v1"';
  const modified = 'Wed, 02 Dec 2026 10:00:00 GMT';
  const server = () =>
    startServer((req, res) => {
      if (req.headers['if-none-match'] === etag || req.headers['if-modified-since'] === modified) {
        res.writeHead(304, { etag, 'last-modified': modified }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain', etag, 'last-modified': modified }).end(page);
    });
  const opts = { maxBytes: 1000, timeoutMs: 5000, allowHosts: ['127.0.0.1'] };

  it('returns the validators of a full response, and 304 as notModified with no body', async () => {
    const s = await server();
    const first = await safeFetch(`${s.origin}/p`, opts);
    expect(first).toMatchObject({ status: 200, etag, lastModified: modified, notModified: false });
    expect(first.bytes.toString()).toBe(page);
    const again = await safeFetch(`${s.origin}/p`, { ...opts, conditional: { etag: first.etag } });
    expect(again).toMatchObject({ status: 304, notModified: true, etag });
    expect(again.bytes.length).toBe(0);
    expect(s.requests[1]!.headers['if-none-match']).toBe(etag);
    const byDate = await safeFetch(`${s.origin}/p`, { ...opts, conditional: { lastModified: modified } });
    expect(byDate.notModified).toBe(true);
    expect(s.requests[2]!.headers['if-modified-since']).toBe(modified);
  });

  it('refuses a 304 nobody asked for, and does not send a validator with a line break', async () => {
    const s = await startServer((_req, res) => res.writeHead(304).end());
    await expect(safeFetch(`${s.origin}/p`, opts)).rejects.toMatchObject({ code: 'http_error', status: 304 });
    const t = await server();
    const res = await safeFetch(`${t.origin}/p`, { ...opts, conditional: { etag: '"v1"\r\nX-Injected: 1' } });
    expect(res.notModified).toBe(false);
    expect(t.requests[0]!.headers['if-none-match']).toBeUndefined();
    expect(t.requests[0]!.headers['x-injected']).toBeUndefined();
  });
});
