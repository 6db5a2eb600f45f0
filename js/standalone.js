// Script-tag entry (dist/analytics.min.js): replaces the analytics.js snippet's stub.
// Reads the write key and options the snippet left, loads the wasm next to this script,
// replays every queued call in the order it was made (each with the page context captured
// when it was called), and puts the live instance in place of the stub.
import { createAnalytics } from './load.js';
import { boot, initialPageview } from './boot.js';
import { setChunkLoader } from './chunks.js';
import { personalizeEarly } from './personalize.js';

const script = document.currentScript;
const src = (script && script.src) || '';
const globalKey = (script && script.getAttribute('data-global-segment-analytics-key')) || 'analytics';

// Lazily loaded parts (js/chunks.js): dist/<name>.js next to this script.
setChunkLoader((name) => import(new URL(name + '.js', src || location.href).href));

function writeKeyFromSrc(url) {
  const m = /\/analytics\.js\/v1\/([^/]*)(\/platform)?\/analytics.*/.exec(url);
  return m ? m[1] : undefined;
}

// `initialPageview`: captured as the script starts, replayed first.
const earlyStub = window[globalKey];
const earlyPage = initialPageview(earlyStub && earlyStub._loadOptions);

async function install() {
  const stub = window[globalKey];
  if (stub && stub.initialized) return; // a live instance is already there
  const writeKey = (stub && stub._writeKey) || window.analyticsWriteKey || writeKeyFromSrc(src);
  if (!writeKey) {
    console.error('[sieve] Failed to load: no write key (set analytics._writeKey, as the snippet does)');
    return;
  }
  const options = (stub && stub._loadOptions) || {};
  const [analytics, query] = await createAnalytics(
    { writeKey, cdnURL: options.cdnURL || (stub && stub._cdn), cdnSettings: options.cdnSettings },
    options,
    new URL('sieve_bg.wasm', src || location.href),
  ).catch((err) => {
    // Nothing will replay the snippet's queue: its calls, and every later call on the stub,
    // are dropped (the stub's methods push into it), so it never grows.
    if (Array.isArray(stub)) {
      stub.splice(0);
      stub.push = () => stub.length;
    }
    throw err;
  });
  window[globalKey] = analytics;
  // True call order; calls made while replaying reach the live instance directly.
  boot(analytics, options, [...earlyPage, ...(Array.isArray(stub) ? stub.splice(0) : [])], query);
}

// The wasm and settings requests start first (install() issues them before its first await);
// the first-paint personalization pass then runs in the same task, while they are in flight
// (its localStorage read is the page's first, which opens the storage area: 2.5-7 ms measured
// on a fresh page).
install().catch((err) => console.error('[sieve] Failed to load: ' + (err && err.message), err));
try {
  personalizeEarly();
} catch (err) {
  console.error('[sieve] personalization failed', err);
}
