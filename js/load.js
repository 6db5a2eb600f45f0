// Loading: the wasm module (streaming compile, with a fallback for servers that send the
// wrong MIME type) and the settings (`cdnSettings`, else fetched from the CDN URL).
import init from '../target/pkg/sieve.js';
import { Analytics } from './analytics.js';
import { importChunk, chunkFailed } from './chunks.js';

export const DEFAULT_CDN = 'https://cdn.segment.com';
let wasmReady;

function instantiate(wasmUrl) {
  // wasm-bindgen's loader streams with instantiateStreaming and falls back to
  // arrayBuffer() when the response is not served as application/wasm.
  return (wasmReady ||= init({ module_or_path: wasmUrl }).catch(async (err) => {
    wasmReady = undefined; // a later load() tries again
    throw await unavailable(err);
  }));
}

// Why the core cannot run here (dist/unavailable.js says; fetched only then), else `err`.
const unavailable = (err) =>
  importChunk('unavailable').then(
    (m) => m.unavailable(err),
    () => err,
  );

async function fetchSettings(cdnURL, writeKey) {
  const url = cdnURL.replace(/\/$/, '') + '/v1/projects/' + encodeURIComponent(writeKey) + '/settings';
  try {
    const res = await fetch(url);
    if (!res.ok) throw new Error('HTTP ' + res.status);
    return await res.json();
  } catch (err) {
    console.error(
      '[sieve] could not load settings from ' + url + ' (' + err.message + '); using defaults and load options',
    );
    return {};
  }
}

// The query's `ajs_*` part (location.search, else the `?…` part of the hash), if any.
function ajsQuery(options) {
  if (options.useQueryString === false) return;
  const { search, hash } = location;
  const query = search || (hash.includes('?') ? hash.slice(hash.indexOf('?')) : '');
  return query.includes('ajs_') ? query : undefined;
}

/**
 * Resolves to `[analytics, query]` once the wasm and the settings are in: the live instance,
 * and a function that runs the `ajs_*` parameters' calls on it (dist/querystring.js, fetched
 * meanwhile), undefined when the page has none.
 */
export async function createAnalytics({ writeKey, cdnURL, cdnSettings }, options, wasmUrl) {
  options ||= {};
  if (typeof writeKey === 'number') writeKey = String(writeKey);
  if (typeof writeKey !== 'string' || !writeKey)
    throw new Error('no write key (load({writeKey}) needs a non-empty string)');
  if (cdnURL != null && typeof cdnURL !== 'string') {
    console.error('[sieve] cdnURL must be a string; using ' + DEFAULT_CDN);
    cdnURL = undefined;
  }
  if (typeof WebAssembly != 'object') throw await unavailable(); // before downloading the wasm
  const q = ajsQuery(options);
  // The wasm's request goes first: it is the larger download, and compiles as it streams.
  const wasm = instantiate(wasmUrl);
  const [settings, , query] = await Promise.all([
    cdnSettings || fetchSettings(cdnURL || DEFAULT_CDN, writeKey),
    wasm,
    q &&
      importChunk('querystring').then(
        (m) => (a) => m.applyQueryString(a, options, q),
        (err) => (a) => chunkFailed(a, 'querystring', err),
      ),
  ]);
  return [new Analytics(writeKey, settings, options, (cdnURL || DEFAULT_CDN).replace(/\/$/, '')), query];
}
