// `sieve-analytics/react`: React bindings for personalization (React is an optional peer
// dependency; nothing else of Sieve is imported: the provider is given the AnalyticsBrowser).
//   <SieveProvider analytics={analytics}>  the AnalyticsBrowser (or a loaded Analytics)
//   useAnalytics()                         that instance
//   useSegment(key)                        true | false | null (not known yet), re-renders on change
// SSR-safe: useSegment is null on the server and in the hydration render (the server snapshot
// of useSyncExternalStore), so the markup matches; the live value follows right after.
// Built on the public segments API: `on('change')` hooks, plus a look at `isMember` once the
// SDK and its segment engine have loaded (that can answer without a change).
import { createContext, createElement, useCallback, useContext, useSyncExternalStore } from 'react';

const AnalyticsContext = createContext(null);
const noop = () => {};
const serverSnapshot = () => null;

export function SieveProvider({ analytics, children }) {
  return createElement(AnalyticsContext.Provider, { value: analytics }, children);
}

export function useAnalytics() {
  const analytics = useContext(AnalyticsContext);
  if (!analytics)
    throw new Error('[sieve] useAnalytics()/useSegment() need a <SieveProvider analytics={…}> above them');
  return analytics;
}

// Calls `onChange` on every membership change and once the SDK (then its engine) has loaded;
// returns the unsubscribe function.
function subscribe(analytics, onChange) {
  let active = true;
  const changed = () => active && onChange();
  analytics.segments.on('change', changed);
  // The AnalyticsBrowser is a thenable; a loaded Analytics is not (it is live already).
  Promise.resolve(typeof analytics.then === 'function' ? analytics.then((res) => res[0]) : analytics).then((a) => {
    changed();
    const s = a.segments;
    // The engine loads after the SDK; `ready()` where the SDK has it, else its loading promise.
    const engine = typeof s.ready === 'function' ? s.ready() : s._loading;
    if (engine && typeof engine.then === 'function') engine.then(changed, noop);
  }, noop);
  return () => {
    active = false;
    analytics.segments.off('change', changed);
  };
}

export function useSegment(key) {
  const analytics = useAnalytics();
  const sub = useCallback((onChange) => subscribe(analytics, onChange), [analytics]);
  const snapshot = () => analytics.segments.isMember(key);
  return useSyncExternalStore(sub, snapshot, serverSnapshot);
}
