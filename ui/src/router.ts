import { nextTick } from 'vue';
import { createRouter, createWebHistory, type RouteLocationNormalized, type Router } from 'vue-router';
import type { Role } from './api/types';
import SignInPage from './pages/sign-in-page.vue';
import { useSessionStore } from './stores/session';

declare module 'vue-router' {
  interface RouteMeta {
    /** Reachable without a key. */
    public?: boolean;
    title?: string | ((route: RouteLocationNormalized) => string);
    /** The roles that may use the page; another role sees what it needs instead (app.vue). Unset: every role. */
    roles?: readonly Role[];
  }
}

const ADMIN: readonly Role[] = ['admin'];

const APP_NAME = 'BeyondCloud';

export function createAppRouter(): Router {
  const router = createRouter({
    history: createWebHistory('/'),
    routes: [
      { path: '/', redirect: '/runs' },
      { path: '/sign-in', name: 'sign-in', component: SignInPage, meta: { public: true, title: 'Sign in' } },
      {
        path: '/knowledge',
        name: 'knowledge',
        component: () => import('./pages/knowledge-page.vue'),
        meta: { title: 'Knowledge' },
      },
      {
        path: '/knowledge/:collectionId',
        name: 'collection',
        component: () => import('./pages/collection-page.vue'),
        props: true,
        meta: { title: 'Collection' },
      },
      {
        path: '/knowledge/documents/:documentId',
        name: 'document',
        component: () => import('./pages/document-page.vue'),
        props: true,
        meta: { title: 'Document' },
      },
      { path: '/chat', name: 'chat', component: () => import('./pages/chat-page.vue'), meta: { title: 'Chat' } },
      {
        path: '/chat/:conversationId',
        name: 'conversation',
        component: () => import('./pages/chat-page.vue'),
        props: true,
        meta: { title: 'Chat' },
      },
      {
        path: '/agents',
        name: 'agents',
        component: () => import('./pages/agents-page.vue'),
        meta: { title: 'Agents' },
      },
      {
        path: '/agents/runs/:workflowId',
        name: 'agent-run',
        component: () => import('./pages/agent-run-page.vue'),
        props: true,
        meta: { title: 'Agent run' },
      },
      {
        path: '/agents/saved',
        name: 'saved-agents',
        component: () => import('./pages/saved-agents-page.vue'),
        meta: { title: 'Saved agents' },
      },
      {
        path: '/agents/tools',
        name: 'mcp-servers',
        component: () => import('./pages/mcp-servers-page.vue'),
        meta: { title: 'Tools (MCP servers)' },
      },
      {
        path: '/agents/tools/:serverId',
        name: 'mcp-server',
        component: () => import('./pages/mcp-server-page.vue'),
        props: true,
        meta: { title: 'MCP server' },
      },
      { path: '/runs', name: 'runs', component: () => import('./pages/runs-page.vue'), meta: { title: 'Runs' } },
      {
        path: '/runs/:workflowId',
        name: 'run',
        component: () => import('./pages/run-page.vue'),
        props: true,
        meta: { title: (route) => `Run ${String(route.params.workflowId)}` },
      },
      {
        path: '/answers',
        name: 'answers',
        component: () => import('./pages/answers-page.vue'),
        meta: { title: 'Answers' },
      },
      {
        path: '/answers/:id',
        name: 'answer',
        component: () => import('./pages/answer-page.vue'),
        props: true,
        meta: { title: 'Answer' },
      },
      {
        path: '/schedules',
        name: 'schedules',
        component: () => import('./pages/schedules-page.vue'),
        meta: { title: 'Schedules' },
      },
      {
        path: '/schedules/:scheduleId',
        name: 'schedule',
        component: () => import('./pages/schedule-page.vue'),
        props: true,
        meta: { title: 'Schedule' },
      },
      { path: '/evals', name: 'evals', component: () => import('./pages/evals-page.vue'), meta: { title: 'Evals' } },
      {
        path: '/evals/:id',
        name: 'eval',
        component: () => import('./pages/eval-page.vue'),
        props: true,
        meta: { title: 'Eval run' },
      },
      { path: '/experiments', redirect: '/evals' },
      {
        path: '/experiments/:id',
        name: 'experiment',
        component: () => import('./pages/experiment-page.vue'),
        props: true,
        meta: { title: 'Experiment' },
      },
      {
        path: '/datasets',
        name: 'datasets',
        component: () => import('./pages/datasets-page.vue'),
        meta: { title: 'Datasets' },
      },
      {
        path: '/datasets/:id',
        name: 'dataset',
        component: () => import('./pages/dataset-page.vue'),
        props: true,
        meta: { title: 'Dataset' },
      },
      {
        path: '/prompts',
        name: 'prompts',
        component: () => import('./pages/prompts-page.vue'),
        meta: { title: 'Prompts' },
      },
      {
        path: '/replays',
        name: 'replays',
        component: () => import('./pages/replays-page.vue'),
        meta: { title: 'Replays' },
      },
      {
        path: '/replays/:id',
        name: 'replay',
        component: () => import('./pages/replay-page.vue'),
        props: true,
        meta: { title: 'Replay' },
      },
      { path: '/usage', name: 'usage', component: () => import('./pages/usage-page.vue'), meta: { title: 'Usage' } },
      {
        path: '/admin',
        name: 'admin',
        // Sent on by the guard below once the role is known (a redirect here would run before the profile loads).
        component: () => import('./pages/admin-settings-page.vue'),
      },
      {
        path: '/admin/members',
        name: 'admin-members',
        component: () => import('./pages/admin-members-page.vue'),
        meta: { title: 'Members', roles: ADMIN },
      },
      {
        path: '/admin/keys',
        name: 'admin-keys',
        component: () => import('./pages/admin-keys-page.vue'),
        meta: { title: 'API keys', roles: ADMIN },
      },
      {
        path: '/admin/audit',
        name: 'admin-audit',
        component: () => import('./pages/admin-audit-page.vue'),
        meta: { title: 'Audit log', roles: ADMIN },
      },
      {
        path: '/admin/settings',
        name: 'admin-settings',
        component: () => import('./pages/admin-settings-page.vue'),
        meta: { title: 'Tenant settings' },
      },
      {
        path: '/:pathMatch(.*)*',
        name: 'not-found',
        component: () => import('./pages/not-found-page.vue'),
        meta: { title: 'Not found' },
      },
    ],
  });

  router.beforeEach(async (to) => {
    const session = useSessionStore();
    if (to.meta.public) return true;
    if (!session.isSignedIn) return { name: 'sign-in', query: { redirect: to.fullPath } };
    await session.ensureProfile();
    if (!session.isSignedIn) return { name: 'sign-in', query: { redirect: to.fullPath, expired: '1' } };
    // The Admin section opens on the first page the role can use.
    if (to.name === 'admin') return session.role === 'admin' ? '/admin/members' : '/admin/settings';
    return true;
  });

  router.afterEach(async (to, from, failure) => {
    if (failure) return;
    const title = typeof to.meta.title === 'function' ? to.meta.title(to) : to.meta.title;
    document.title = title ? `${title} · ${APP_NAME}` : APP_NAME;
    // Query-only changes (the runs filters) keep focus where the user is typing; a first load keeps the default.
    if (from.matched.length === 0 || to.path === from.path) return;
    await nextTick();
    // preventScroll: the page starts at its top anyway; the heading's focus is for screen readers, not a jump.
    document.querySelector<HTMLElement>('main h1')?.focus({ preventScroll: true });
  });

  return router;
}
