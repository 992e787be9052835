import { createPinia, setActivePinia } from 'pinia';
import { describe, expect, it } from 'vitest';
import { createSSRApp, h } from 'vue';
import { renderToString } from 'vue/server-renderer';
import { createMemoryHistory, createRouter } from 'vue-router';
import type { Me } from '../api/types';
import { useSessionStore } from '../stores/session';
import AdminTabs from './admin-tabs.vue';
import AppHeader from './app-header.vue';

const me = (role: Me['role']): Me => ({
  tenant: { id: 't1', name: 'acme' },
  role,
  via: 'key',
  key: { id: 'k1', name: 'ci', prefix: 'bc_abc' },
  user: null,
});

async function render(component: object, role: Me['role'], path = '/runs'): Promise<string> {
  const pinia = createPinia();
  setActivePinia(pinia);
  useSessionStore(pinia).me = me(role);
  const app = createSSRApp({ render: () => h(component) });
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [{ path: '/:p(.*)*', component: { render: () => null } }],
  });
  app.use(pinia);
  app.use(router);
  await router.push(path);
  return renderToString(app);
}

describe('app header', () => {
  it('lists the sections, with a menu button for narrow screens', async () => {
    const html = await render(AppHeader, 'viewer');
    for (const id of ['nav-runs', 'nav-answers', 'nav-admin', 'menu-button']) expect(html).toContain(id);
    expect(html).toContain('aria-expanded="false"');
  });

  it('marks the Admin section current on any of its pages', async () => {
    const html = await render(AppHeader, 'admin', '/admin/keys');
    expect(html).toMatch(
      /data-testid="nav-admin"[^>]*aria-current="page"|aria-current="page"[^>]*data-testid="nav-admin"/,
    );
  });
});

describe('admin tabs', () => {
  it('shows an admin every admin page', async () => {
    const html = await render(AdminTabs, 'admin');
    for (const tab of ['members', 'keys', 'audit', 'settings']) expect(html).toContain(`admin-tab-${tab}`);
  });

  it('shows other roles only the tenant settings', async () => {
    const html = await render(AdminTabs, 'operator');
    expect(html).toContain('admin-tab-settings');
    for (const tab of ['members', 'keys', 'audit']) expect(html).not.toContain(`admin-tab-${tab}`);
  });
});
