// analytics.js `ajs_*` query parameters: `ajs_aid` → setAnonymousId, `ajs_uid` (+ `ajs_trait_*`)
// → identify, `ajs_event` (+ `ajs_prop_*`) → track. Read from `location.search`, else from
// the `?…` part of the hash. Disabled with `useQueryString: false`; `{aid, uid}` RegExps
// validate the ids (default: anything non-empty). dist/querystring.js: loaded (in parallel
// with the wasm) only when the query has `ajs_` in it (js/load.js `ajsQuery`).

/** Runs the query's calls on `analytics` before the replayed ones; returns their promises. */
export function applyQueryString(analytics, options, query) {
  const setting = options.useQueryString;
  const params = new URLSearchParams(query);
  const pattern = (key) => (setting && setting[key] instanceof RegExp ? setting[key] : /.+/);
  const prefixed = (prefix) => {
    const out = {};
    for (const [k, v] of params) if (k.startsWith(prefix)) out[k.slice(prefix.length)] ??= v;
    return out;
  };
  const calls = [];
  const aid = params.get('ajs_aid');
  if (aid && pattern('aid').test(aid)) analytics.setAnonymousId(aid);
  const uid = params.get('ajs_uid');
  if (uid && pattern('uid').test(uid)) calls.push(analytics.identify(uid, prefixed('ajs_trait_')));
  const event = params.get('ajs_event');
  if (event) calls.push(analytics.track(event, prefixed('ajs_prop_')));
  return calls;
}
