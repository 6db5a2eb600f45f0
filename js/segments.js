// The segments runtime (dist/segments.js, loaded lazily by js/segments-api.js with its own
// wasm). It hands events to the SegmentsWasm driver and, after each wasm call has returned,
// runs what the transitions ask for: hooks, DOM events, personalization, `Audience
// Entered/Exited` and identify outputs, `context.segments`.
//
// Two builds of the engine share this glue: dist/sieve_segments_bg.wasm loads compiled
// definitions (a string) only; dist/sieve_segments_full_bg.wasm also parses and validates
// JSON definitions. A page loads the one its first definitions need; JSON definitions given
// later to the compiled-only engine are compiled by the full one, in a second instance
// (dist/segments-compile.js).
import init, { SegmentsWasm } from '../target/pkg/segments/sieve_segments.js';
import { personalize, observe } from './personalize.js';
import {
  READ_USER_ID,
  READ_ANONYMOUS_ID,
  READ_USER_TRAITS,
  READ_GROUP_TRAITS,
  COMMAND_SET_CONTEXT_SEGMENTS,
} from './codes.js';

const encoder = new TextEncoder();
// Literal `new URL('…', import.meta.url)`s: bundlers of the npm route find and copy the wasm.
// `assets`: the npm entry's `assetsURL` setting (a directory URL), when it is given.
let assets;
const fullUrl = () =>
  assets ? new URL('sieve_segments_full_bg.wasm', assets) : new URL('sieve_segments_full_bg.wasm', import.meta.url);
// Compiled definitions are a string (src/segments/compiled.rs); JSON definitions anything else.
const isCompiled = (defs) => typeof defs == 'string';
const toJson = (defs) => {
  try {
    return JSON.stringify(defs) ?? 'null';
  } catch {
    return 'null';
  }
};

// Re-fetch interval for the `segments.url` load option.
const REFETCH_MS = 5 * 60 * 1000;

// A JSON array, {"segments": [...] | "<compiled>"}, or compiled definitions as plain text.
async function fetchDefinitions(url) {
  try {
    const res = await fetch(url, { credentials: 'omit' });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    const text = await res.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      return text.trim();
    }
    const defs = Array.isArray(body) ? body : body && body.segments;
    return Array.isArray(defs) || isCompiled(defs) ? defs : null;
  } catch (err) {
    console.error('[sieve] could not load segment definitions from ' + url + ' (' + err.message + ')');
    return null;
  }
}

// A segment key as the engine takes it: a string, or a number's text; anything else names
// no segment (and is never converted: a conversion can throw).
const keyOf = (key) => (typeof key === 'string' ? key : typeof key === 'number' ? String(key) : undefined);

/**
 * Loads the wasm, restores the state, loads the definitions and feeds buffered events. `base`:
 * the directory the wasm files are served from, when not next to this file (`assetsURL`).
 */
export async function attach(api, base) {
  assets = base;
  const url = api._opt.url;
  // JSON definitions (or a URL's, not known yet) need the engine with the parser.
  const full = !!url || !isCompiled(api._defs);
  const [, fetched] = await Promise.all([
    init({
      module_or_path: full
        ? fullUrl()
        : assets
          ? new URL('sieve_segments_bg.wasm', assets)
          : new URL('sieve_segments_bg.wasm', import.meta.url),
    }),
    url ? fetchDefinitions(url) : null,
  ]);
  if (fetched && api._defs === api._opt.definitions) api._defs = fetched;
  const rt = new Runtime(api, full);
  await rt.started;
  if (url) {
    setInterval(async () => {
      const defs = await fetchDefinitions(url);
      if (defs) rt.load(defs);
    }, REFETCH_MS);
  }
  return rt;
}

class Runtime {
  constructor(api, full) {
    const a = api._a;
    this.api = api;
    this.a = a;
    this.full = full;
    this.stamp = !!api._opt.stampContext;
    this.w = new SegmentsWasm(
      a._get(READ_USER_ID, null) ?? undefined,
      a._get(READ_ANONYMOUS_ID, null) ?? undefined,
      a._get(READ_USER_TRAITS, '{}'),
      a._get(READ_GROUP_TRAITS, '{}'),
      -new Date().getTimezoneOffset(),
      // The driver's callbacks (timer, microtask, Web Lock, tabs, page lifecycle).
      (kind, data) => {
        const res = this.w.wake(kind, data);
        if (res) this.later(JSON.parse(res));
      },
    );
    this.isMember = this.isMember.bind(this);
    // Events made before the engine was ready: one call, in call order, once the definitions
    // are in (catch-up and baselines were applied by load() first).
    this.started = Promise.resolve((this.lastReport = this.load(api._defs || []))).then(() => {
      const buffered = api._takeBuffered();
      if (buffered.length) this.feed(buffered.join('\n'));
      personalize(this.isMember);
      observe(this.isMember);
    });
  }

  // The report, or a promise of it when JSON definitions must be compiled first.
  load(definitions) {
    if (isCompiled(definitions) || this.full)
      return this.apply(this.w.load(isCompiled(definitions) ? definitions : toJson(definitions)));
    return import('./segments-compile.js')
      .then((m) => m.compile(toJson(definitions), fullUrl()))
      .catch((err) => {
        // The definitions stay as they were; the failure is reported like any rejection.
        const message = 'could not load the segment parser (' + (err && err.message) + ')';
        return { compiled: '', errors: [{ key: '', path: '', message }], warnings: [] };
      })
      .then((c) => this.apply(c.compiled ? this.w.load(c.compiled) : '{"accepted":[],"transitions":[]}', c));
  }

  // `compiledBy`: the full engine's report when it compiled the definitions (its errors and
  // warnings are the ones to report).
  apply(text, compiledBy) {
    const report = JSON.parse(text);
    if (compiledBy) [report.errors, report.warnings] = [compiledBy.errors, compiledBy.warnings];
    for (const e of report.errors) {
      const message =
        'segment definition rejected' +
        (e.key ? ' (' + e.key + ')' : '') +
        (e.path ? ' at ' + e.path : '') +
        ': ' +
        e.message;
      console.error('[sieve] ' + message);
      this.a.emit('error', { code: 'invalid_segment', reason: new Error(message), key: e.key, path: e.path });
    }
    for (const e of report.warnings) console.warn('[sieve] segment ' + e.key + ' at ' + e.path + ': ' + e.message);
    this.later(report.transitions, true);
    return (this.lastReport = { accepted: report.accepted, errors: report.errors });
  }

  // `event`: a JSON text (`'!reset'`, or buffered events joined), or the UTF-8 bytes of one
  // as the core returned them, which go to the engine without being decoded.
  feed(event) {
    const res = this.w.feed(typeof event === 'string' ? encoder.encode(event) : event);
    if (res) this.later(JSON.parse(res));
    else if (event === '!reset') this.later([], true);
  }

  // Hooks run after the SDK call that caused them has returned, in the same task (a
  // microtask queued before the call's promise is observed).
  later(transitions, refresh) {
    if (!transitions.length && !refresh) return;
    // context.segments is current for the very next call (the wasm call has returned).
    if (this.stamp) this.a._command(COMMAND_SET_CONTEXT_SEGMENTS, this.w.read(3, '') ?? '{}');
    queueMicrotask(() => this.fire(transitions));
  }

  fire(transitions) {
    personalize(this.isMember);
    for (const t of transitions) {
      const detail = { key: t.key, entered: t.entered, reason: t.reason, at: t.at };
      const kind = t.entered ? 'enter' : 'exit';
      for (const h of this.api._hooks.slice()) {
        if ((h.kind === kind || h.kind === 'change') && (h.key === undefined || h.key === t.key)) {
          try {
            h.cb(detail);
          } catch (err) {
            console.error('[sieve] segment hook error', err);
          }
        }
      }
      try {
        window.dispatchEvent(new CustomEvent('sieve:segment-' + kind, { detail }));
      } catch (err) {
        console.error('[sieve] segment event listener error', err);
      }
      if (t.messageId) {
        this.a.track(
          t.entered ? 'Audience Entered' : 'Audience Exited',
          { audience_key: t.key, [t.key]: t.entered },
          { messageId: t.messageId },
        );
      }
      if (t.identify) this.a.identify({ [t.key]: t.entered });
    }
  }

  isMember(key) {
    const k = keyOf(key);
    return k === undefined ? null : (this.w.isMember(k) ?? null);
  }
  list() {
    return JSON.parse(this.w.read(1, '') ?? '[]');
  }
  // A key the last load rejected: {key, state: null, errors: [{path, message}]}, the paths
  // pointing at what was wrong.
  explain(key) {
    const k = keyOf(key);
    if (k === undefined) return null;
    const res = this.w.read(2, k);
    if (res !== undefined) return JSON.parse(res);
    const errors = (this.lastReport.errors || [])
      .filter((e) => e.key === k)
      .map((e) => ({ path: e.path, message: e.message }));
    return errors.length ? { key: k, state: null, errors } : null;
  }
}
