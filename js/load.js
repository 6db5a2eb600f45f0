// Loading: the wasm module (streaming compile, with a fallback for servers that send the
// wrong MIME type) and the settings (`cdnSettings`, else fetched from the CDN URL).
import init from '../target/pkg/sieve.js';
import { Analytics } from './analytics.js';

export const DEFAULT_CDN = 'https://cdn.segment.com';
let wasmReady;

function instantiate(wasmUrl) {
  // wasm-bindgen's loader streams with instantiateStreaming and falls back to
  // arrayBuffer() when the response is not served as application/wasm.
  return (wasmReady ||= init({ module_or_path: wasmUrl }));
}

async function fetchSettings(cdnURL, writeKey) {
  const url = cdnURL.replace(/\/$/, '') + '/v1/projects/' + encodeURIComponent(writeKey) + '/settings';
  try {
    const res = await fetch(url);
    if (!res.ok) throw new Error('HTTP ' + res.status);
    return await res.json();
  } catch (err) {
    console.error('[sieve] could not load settings from ' + url + ' (' + err.message + '); using defaults and load options');
    return {};
  }
}

/** Creates a live instance once the wasm and the settings are in. */
export async function createAnalytics({ writeKey, cdnURL, cdnSettings }, options, wasmUrl) {
  const [settings] = await Promise.all([cdnSettings || fetchSettings(cdnURL || DEFAULT_CDN, writeKey), instantiate(wasmUrl)]);
  return new Analytics(writeKey, settings, options || {});
}
