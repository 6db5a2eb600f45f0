// Start-up shared by the script-tag and npm entries, once the live instance exists: the
// `initialize` event, the `ajs_*` query string, then every queued call in the order it was made.
import { pageContext } from './args.js';
import { PUBLIC_METHODS } from './analytics.js';

/** `initialPageview: true`: a page() captured now, to be replayed first. */
export function initialPageview(options) {
  return options && options.initialPageview === true ? [['page', pageContext()]] : [];
}

/**
 * `queued` holds `[method, ...args]` (snippet) or `{method, args, resolve, reject}` (npm).
 * `query` runs the `ajs_*` parameters' calls (from createAnalytics; undefined without any).
 * Calls made meanwhile reach the live instance directly.
 */
export function boot(analytics, options, queued, query) {
  analytics.emit('initialize', analytics.settings, options);
  try {
    if (query) query(analytics);
  } catch (err) {
    console.error('[sieve] ajs_* query string handling failed', err);
  }
  for (const call of queued) {
    const [method, args, resolve, reject] = Array.isArray(call)
      ? [call[0], call.slice(1)]
      : [call.method, call.args, call.resolve, call.reject];
    if (!PUBLIC_METHODS.has(method)) continue;
    try {
      const result = analytics[method](...args);
      if (resolve) resolve(result);
    } catch (err) {
      if (reject) reject(err);
      else console.error('[sieve] replaying ' + method + ' failed', err);
    }
  }
}
