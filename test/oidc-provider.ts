/**
 * A real OpenID provider for tests (panva's oidc-provider) on 127.0.0.1 and an ephemeral port, plus a tiny browser:
 * fetch with a cookie jar, following redirects by hand.
 *
 * Order of starting: the provider listens first (its URL is the API's OIDC_ISSUER), then the tests start their APIs,
 * then `configure` builds the provider with clients whose redirect URIs name those APIs' callbacks.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, randomUUID, sign, type JsonWebKey } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type ClientMetadata } from 'oidc-provider';

export interface TestAccount {
  email?: string;
  email_verified?: boolean | string;
  name?: string;
  /** Whatever the test wants in the tenant claim (a name, an id, an array, nothing). */
  tenant?: unknown;
  groups?: unknown;
}

export interface TestIdp {
  /** The issuer URL, `http://127.0.0.1:<port>`. */
  issuer: string;
  /** Accounts by subject; a test adds its own. */
  accounts: Map<string, TestAccount>;
  /** Builds the provider; until then every request is answered 503. */
  configure(opts: { clients: ClientMetadata[] }): void;
  /**
   * Rewrites the claims of the next ID tokens the token endpoint hands out, re-signed with the provider's own key:
   * oidc-provider stamps `aud` and `exp` itself and refuses a TTL under a second, so a token with a foreign audience
   * or a past expiry can only be made this way. The signature stays valid; only the client's claim checks can refuse
   * it. null stops rewriting.
   */
  rewriteIdToken: ((claims: Record<string, unknown>) => Record<string, unknown>) | null;
  close(): Promise<void>;
}

export async function startTestIdp(): Promise<TestIdp> {
  let provider: Provider | null = null;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomUUID();
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } as JsonWebKey & {
    kid: string;
  };
  const accounts = new Map<string, TestAccount>();

  const server = createServer((req, res) => {
    if (!provider) {
      res.writeHead(503).end('not configured yet');
      return;
    }
    if (req.url?.startsWith('/interaction/')) {
      void signInAtInteraction(provider, accounts, req, res);
      return;
    }
    void provider.callback()(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const idp: TestIdp = {
    issuer,
    accounts,
    rewriteIdToken: null,
    configure({ clients }) {
      provider = new Provider(issuer, {
        clients,
        jwks: { keys: [jwk as never] },
        cookies: { keys: [randomBytes(32).toString('hex')] },
        // The tenant and role claims ride on the profile scope, which the API asks for by default.
        claims: {
          openid: ['sub'],
          email: ['email', 'email_verified'],
          profile: ['name', 'tenant', 'groups'],
        },
        // Claims of the granted scopes in the ID token itself, as most providers put them.
        conformIdTokenClaims: false,
        findAccount: (_ctx, sub) => {
          const account = accounts.get(sub);
          return account ? { accountId: sub, claims: () => ({ sub, ...account }) } : undefined;
        },
        features: { devInteractions: { enabled: false } },
        interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
        pkce: { required: () => true },
        ttl: { AccessToken: 600, AuthorizationCode: 60, Grant: 600, IdToken: 600, Interaction: 600, Session: 600 },
        renderError: (ctx, out) => {
          ctx.type = 'json';
          ctx.body = out;
        },
      });
      provider.use(async (ctx, next) => {
        await next();
        const body = ctx.body as { id_token?: unknown } | undefined;
        if (ctx.path === '/token' && idp.rewriteIdToken && body && typeof body.id_token === 'string') {
          body.id_token = resign(body.id_token, idp.rewriteIdToken);
        }
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const key = createPrivateKey({ key: jwk, format: 'jwk' });
  const resign = (token: string, rewrite: (claims: Record<string, unknown>) => Record<string, unknown>) => {
    const [header, payload] = token.split('.') as [string, string];
    const claims = rewrite(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>);
    const data = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    return `${data}.${sign('sha256', Buffer.from(data), key).toString('base64url')}`;
  };
  return idp;
}

/**
 * The provider's login and consent pages, reduced to what a test needs: `?account=<sub>` signs that account in and
 * grants what the client asked for; an unknown account makes the provider answer the client with access_denied.
 */
async function signInAtInteraction(
  provider: Provider,
  accounts: Map<string, TestAccount>,
  req: IncomingMessage,
  res: ServerResponse,
) {
  try {
    const details = await provider.interactionDetails(req, res);
    const accountId = new URL(req.url!, 'http://idp.invalid').searchParams.get('account') ?? '';
    if (!accounts.has(accountId)) {
      await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'unknown account' });
      return;
    }
    const grant = new provider.Grant({ accountId, clientId: String(details.params.client_id) });
    grant.addOIDCScope(String(details.params.scope));
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// A tiny browser

/** Cookies by origin, names and values only (paths, expiry and flags are the server's business in these tests). */
export class CookieJar {
  private readonly jars = new Map<string, Map<string, string>>();

  store(url: URL, res: Response) {
    const jar = this.jars.get(url.origin) ?? new Map<string, string>();
    this.jars.set(url.origin, jar);
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at).trim();
      const value = pair!.slice(at + 1).trim();
      const expired = attributes.some((a) => {
        const [k, v = ''] = a.trim().split('=');
        return (
          (k!.toLowerCase() === 'max-age' && Number(v) <= 0) ||
          (k!.toLowerCase() === 'expires' && Date.parse(v) <= Date.now())
        );
      });
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  }

  get(origin: string, name: string): string | undefined {
    return this.jars.get(origin)?.get(name);
  }

  set(origin: string, name: string, value: string | undefined) {
    const jar = this.jars.get(origin) ?? new Map<string, string>();
    this.jars.set(origin, jar);
    if (value === undefined) jar.delete(name);
    else jar.set(name, value);
  }

  header(url: URL): string {
    return [...(this.jars.get(url.origin) ?? new Map<string, string>())].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

export interface Hop {
  url: URL;
  status: number;
  location: URL | null;
  setCookies: string[];
  body: string;
}

/** One GET with the jar's cookies, without following a redirect. */
export async function browse(jar: CookieJar, url: URL, headers: Record<string, string> = {}): Promise<Hop> {
  const res = await fetch(url, { redirect: 'manual', headers: { ...headers, cookie: jar.header(url) } });
  jar.store(url, res);
  const location = res.headers.get('location');
  return {
    url,
    status: res.status,
    location: location ? new URL(location, url) : null,
    setCookies: res.headers.getSetCookie(),
    body: await res.text(),
  };
}

/**
 * Follows redirects from `start` while they stay on the provider's or the API's OIDC paths. At the provider's
 * interaction page it signs in `account`; `beforeCallback` may change (or hold back) the leg back to the API. Returns
 * the API's answer to the callback (or the last hop reached).
 */
export async function followSignIn(opts: {
  jar: CookieJar;
  start: URL;
  idp: TestIdp;
  account: string;
  headers?: Record<string, string>;
  beforeCallback?: (url: URL) => URL | Promise<URL>;
  /** Changes the authorization request before it reaches the provider. */
  beforeAuthorize?: (url: URL) => URL;
}): Promise<{ callback: Hop | null; hops: Hop[] }> {
  const hops: Hop[] = [];
  let url: URL | null = opts.start;
  let callback: Hop | null = null;
  for (let i = 0; url && i < 20; i++) {
    const hop = await browse(opts.jar, url, opts.headers);
    hops.push(hop);
    if (hop.url.pathname.endsWith('/v1/auth/oidc/callback')) callback = hop;
    const next = hop.status >= 300 && hop.status < 400 ? hop.location : null;
    if (!next) break;
    if (next.origin === opts.idp.issuer) {
      if (next.pathname.startsWith('/interaction/')) next.searchParams.set('account', opts.account);
      url = next.pathname === '/auth' && opts.beforeAuthorize ? opts.beforeAuthorize(next) : next;
    } else if (next.pathname.endsWith('/v1/auth/oidc/callback')) {
      url = opts.beforeCallback ? await opts.beforeCallback(next) : next;
    } else {
      break;
    }
  }
  return { callback, hops };
}
