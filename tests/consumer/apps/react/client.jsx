// The browser side: hydrates the server's markup. Recoverable errors (hydration mismatches
// among them) are collected in window.hydrationErrors for the test.
import { hydrateRoot } from 'react-dom/client';
import { App, analytics } from './app.jsx';

window.hydrationErrors = [];
window.app = analytics;
const hydrate = () =>
  hydrateRoot(document.getElementById('root'), <App />, {
    onRecoverableError: (error) => window.hydrationErrors.push(String(error)),
  });

// `?late`: hydrate only once the segment engine has an answer (a returning visitor): the case
// in which a hook that read isMember() during hydration would not match the server's markup.
async function known() {
  await analytics;
  for (let i = 0; i < 100 && analytics.segments.isMember('upgraded') === null; i++)
    await new Promise((r) => setTimeout(r, 20));
}
if (new URLSearchParams(location.search).has('late')) known().then(hydrate);
else hydrate();
