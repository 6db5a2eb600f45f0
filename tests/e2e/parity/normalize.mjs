// What must differ between the two SDKs, and nothing else, is normalised here. Every rule says
// why it exists.
import { END } from './rig.mjs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
// Generated message ids: analytics.js `ajs-next-<ms>-<uuid>`, Sieve `sieve-<ms>-<...>`.
// An id a scenario passes in `options.messageId` matches neither and is kept verbatim.
const GENERATED_MESSAGE_ID = /^(ajs-next|sieve)-\d{10,}-[0-9a-z-]+$/i;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

export const LIBRARY = {
  // 'next-1.84.3' from the script-tag bundle, 'npm:next-1.84.3' from the npm entry.
  ajs: (lib) => lib && lib.name === 'analytics.js' && /^(npm:)?next-1\.84\.3$/.test(lib.version),
  sieve: (lib) => lib && lib.name === 'sieve-analytics' && typeof lib.version === 'string',
};

/**
 * Replaces every UUID v4 (anonymous ids; and any uuid a scenario put in storage) by a
 * placeholder numbered in first-seen order, so "same id across events", "new id after reset"
 * compare exactly while the random values do not. One map per SDK run, shared by events and
 * storage, so the stored anonymousId is tied to the one on the wire. The run's write key
 * inside any string reads '<wk>'.
 */
export function idMapper(writeKey) {
  const map = new Map();
  const id = (s) => {
    if (!map.has(s)) map.set(s, `<uuid#${map.size + 1}>`);
    return map.get(s);
  };
  const walk = (v) => {
    if (typeof v === 'string') {
      if (UUID.test(v)) return id(v);
      // Scenarios make override ids unique per run with `uniq()` (the collector de-duplicates
      // by messageId across write keys): the write key inside them reads '<wk>'.
      if (writeKey && v.includes(writeKey)) return v.split(writeKey).join('<wk>');
      // JSON-encoded uuid strings as analytics.js keeps them in localStorage ("\"<uuid>\"").
      if (/^"[0-9a-f-]{36}"$/i.test(v) && UUID.test(v.slice(1, -1))) return JSON.stringify(id(v.slice(1, -1)));
      return v;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk;
}

const nowish = (s, t0) => ISO.test(s) && Math.abs(Date.parse(s) - t0) < 5 * 60_000;

/**
 * One wire event → comparable form.
 * - messageId: generated ids differ by construction (prefix + random) → '<messageId>'.
 * - timestamp: wall clock of each run → '<now>' when it is a generated "now" (an
 *   `options.timestamp` override in the past is kept verbatim).
 * - sentAt: per-request wall clock (analytics.js batches carry it only at the body level).
 * - writeKey: each SDK run has its own write key so events do not mix; checked separately.
 * - context.library: 'analytics.js next-1.84.3' vs 'sieve-analytics' (intentional, issue 3);
 *   checked separately.
 * - _metadata is compared as it is (issue 16: Sieve sends analytics.js's bundling metadata).
 */
export function normalizeEvent(ev, t0) {
  const e = structuredClone(ev);
  if (typeof e.messageId === 'string' && GENERATED_MESSAGE_ID.test(e.messageId)) e.messageId = '<messageId>';
  if (typeof e.timestamp === 'string' && nowish(e.timestamp, t0)) e.timestamp = '<now>';
  delete e.sentAt;
  delete e.writeKey;
  if (e.context) delete e.context.library;
  return e;
}

/** Records (collector rows) → events, marker excluded, optionally stably sorted by type. */
export function eventsOf(side, { sortByType = false, keepEnd = true } = {}) {
  let evs = side.records.map((r) => r.event);
  if (!keepEnd) evs = evs.filter((e) => !(e.type === 'track' && e.event === END));
  if (sortByType) {
    const rank = (e) =>
      ['page', 'screen', 'identify', 'group', 'alias', 'track'].indexOf(e.type) + (e.event === END ? 10 : 0);
    evs = [...evs].sort((a, b) => rank(a) - rank(b)); // Array.prototype.sort is stable
  }
  return evs;
}

/**
 * What each SDK left in storage. Cookie attributes are compared too (domain, path, sameSite,
 * secure, httpOnly; expiry rounded to days). localStorage keys that are SDK-internal queues
 * are dropped: analytics.js `persisted-queue:v1:*` (its retry queues; Sieve keeps its own
 * queue under its own keys) — they are not identity and not part of the interop contract.
 */
export function storageOf(side, walk, t0) {
  const INTERNAL = /^(persisted-queue:|sieve[:_.-]|__sieve|__parity_side$)/i; // __parity_side: the rig's own cookie
  const ls = Object.fromEntries(
    Object.entries(side.storage.localStorage)
      .filter(([k]) => !INTERNAL.test(k))
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
  const cookies = side.cookies
    .filter((c) => !INTERNAL.test(c.name))
    .map((c) => ({
      name: c.name,
      value: c.value,
      domain: c.domain,
      path: c.path,
      sameSite: c.sameSite,
      secure: c.secure,
      httpOnly: c.httpOnly,
      days: c.expires > 0 ? Math.round((c.expires * 1000 - t0) / 86_400_000) : 'session',
    }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  return walk({ localStorage: ls, cookies });
}
