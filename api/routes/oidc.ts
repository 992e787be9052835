import { Router } from '@koa/router';
import type { Context } from 'koa';
import type { AppDeps } from '../deps';
import type { AuthState } from '../auth/middleware';
import { beginSignIn, completeSignIn, OidcFailure, oidcSettings } from '../auth/oidc';
import { startSession } from '../auth/sessions';

/** A browser navigating (it asked for HTML) is sent to the console's sign-in page; any other caller gets JSON. */
const wantsHtml = (ctx: Context) => /\btext\/html\b/i.test(ctx.get('accept'));

/** Single sign-on with OpenID Connect, reached without a principal: the two legs of the authorization code flow. */
export function oidcRoutes(deps: AppDeps) {
  const router = new Router<AuthState>({ prefix: '/v1/auth/oidc', sensitive: true });

  router.get('/login', async (ctx) => {
    oidcSettings(deps.config);
    try {
      ctx.redirect((await beginSignIn(ctx, deps, ctx.query.returnTo)).href);
    } catch (err) {
      if (!(err instanceof OidcFailure) || !wantsHtml(ctx)) throw err;
      ctx.redirect(`/sign-in?error=${err.code}`);
    }
  });

  router.get('/callback', async (ctx) => {
    oidcSettings(deps.config);
    try {
      const signedIn = await completeSignIn(ctx, deps);
      await startSession(ctx, deps, { userId: signedIn.userId, tenantId: signedIn.tenantId, method: 'oidc' });
      ctx.state.audit = {
        action: 'session.login',
        tenantId: signedIn.tenantId,
        actorType: 'user',
        actorId: signedIn.userId,
        actorLabel: signedIn.email,
        outcome: 'success',
        detail: { method: 'oidc', role: signedIn.role },
      };
      ctx.redirect(signedIn.returnTo);
    } catch (err) {
      if (!(err instanceof OidcFailure)) throw err;
      ctx.state.audit = {
        action: 'session.login',
        tenantId: err.who.tenantId,
        actorType: err.who.userId ? 'user' : 'anonymous',
        actorId: err.who.userId ?? null,
        actorLabel: err.who.email,
        outcome: err.status === 401 || err.status === 403 ? 'denied' : 'failure',
        detail: { method: 'oidc', ...(err.details as Record<string, unknown> | undefined), reason: err.code },
      };
      deps.log.info({ code: err.code, details: err.details }, 'single sign-on refused');
      if (!wantsHtml(ctx)) throw err;
      ctx.redirect(`/sign-in?error=${err.code}`);
    }
  });

  return router;
}
