import { nextTick } from 'vue';
import { createRouter, createWebHistory, type RouteLocationNormalized, type Router } from 'vue-router';
import SignInPage from './pages/sign-in-page.vue';
import { useSessionStore } from './stores/session';

declare module 'vue-router' {
  interface RouteMeta {
    /** Reachable without a key. */
    public?: boolean;
    title?: string | ((route: RouteLocationNormalized) => string);
  }
}

const APP_NAME = 'BeyondCloud';

export function createAppRouter(): Router {
  const router = createRouter({
    history: createWebHistory('/'),
    routes: [
      { path: '/', redirect: '/runs' },
      { path: '/sign-in', name: 'sign-in', component: SignInPage, meta: { public: true, title: 'Sign in' } },
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
    return true;
  });

  router.afterEach(async (to, from, failure) => {
    if (failure) return;
    const title = typeof to.meta.title === 'function' ? to.meta.title(to) : to.meta.title;
    document.title = title ? `${title} · ${APP_NAME}` : APP_NAME;
    // Query-only changes (the runs filters) keep focus where the user is typing; a first load keeps the default.
    if (from.matched.length === 0 || to.path === from.path) return;
    await nextTick();
    document.querySelector<HTMLElement>('main h1')?.focus();
  });

  return router;
}
