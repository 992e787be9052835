import { createPinia } from 'pinia';
import { createApp } from 'vue';
import { configureRequest } from './api/request';
import App from './app.vue';
import { createAppRouter } from './router';
import { useSessionStore } from './stores/session';
import './styles.css';

const app = createApp(App);
const pinia = createPinia();
app.use(pinia);
const router = createAppRouter();
const session = useSessionStore(pinia);

configureRequest({
  getApiKey: () => session.apiKey,
  onUnauthorized: () => {
    // Several requests may fail together; only the first one signs out and redirects.
    if (!session.isSignedIn) return;
    session.signOut();
    const current = router.currentRoute.value;
    if (current.name !== 'sign-in') {
      void router.replace({ name: 'sign-in', query: { redirect: current.fullPath, expired: '1' } });
    }
  },
});

app.use(router);
app.mount('#app');
