// The scenario table. Each scenario: `name`; optional page setup (`path`, `search`, `hash`,
// `title`, `referrer`, `canonical`, `cookies` / `localStorage` presets written before the
// snippet, `loadOptions`); `pre` (plain JS run on the snippet stub before `analytics.load()`);
// `calls` (async JS body run after load, with `analytics`, `rec(label, () => call)` — records
// how the call settled: resolved ctx summary / rejection message / returned value — and
// `cb(label)` — a callback recording its arguments — and `uniq(s)` — s made unique per run,
// for override ids, since the collector de-duplicates messageIds — in scope); `storage: true` adds a storage
// comparison; `todo` / `storageTodo` mark a known Sieve difference (kept honest, suite green).
// A track of the end marker closes every scenario (it is compared too).
const UUID_A = '11111111-2222-4333-8444-555555555555';
const UUID_B = '66666666-7777-4888-9999-aaaaaaaaaaaa';

export const SCENARIOS = [
  // ── track: overloads (reference §1.6) ────────────────────────────────────────────────
  {
    name: 'track: name + properties',
    calls: `await rec('t', () => analytics.track('Clicked', { a: 1, s: 'x', f: 1.5, b: false, n: null, nested: { b: [1, 'x', null] } }));`,
  },
  {
    name: 'track: name only, undefined/null properties and options',
    calls: `await rec('a', () => analytics.track('Only'));
            await rec('b', () => analytics.track('Undef', undefined, undefined));
            await rec('c', () => analytics.track('Null', null, null));`,
  },
  {
    name: "track('e', null, {o:1}): properties {}, options → context",
    calls: `await rec('t', () => analytics.track('e', null, { o: 1 }));`,
  },
  {
    name: 'track({event, properties}, options) and track({event})',
    calls: `await rec('a', () => analytics.track({ event: 'Obj', properties: { p: 1 } }, { o: 1 }));
            await rec('b', () => analytics.track({ event: 'ObjNoProps' }));
            await rec('c', () => analytics.track({ event: 'ObjIgnoresSecondProps', properties: { p: 2 } }, { o: 2 }, { ignored: 3 }));`,
  },
  {
    name: "track: 'Event missing' rejections ('', number, none, null, {}, {properties})",
    check: (v, assert) =>
      assert.deepEqual(
        v.ajs.wire.outcomes.filter((o) => o[1] === 'rejected').map((o) => o[2]),
        Array(7).fill('Event missing'),
        'reference §1.6',
      ),
    calls: `await rec('empty', () => analytics.track(''));
            await rec('number', () => analytics.track(123));
            await rec('none', () => analytics.track());
            await rec('null', () => analytics.track(null, { p: 1 }));
            await rec('emptyObj', () => analytics.track({}));
            await rec('noEvent', () => analytics.track({ properties: { p: 1 } }));
            await rec('arrayName', () => analytics.track(['x']));
            await rec('ok', () => analytics.track('StillWorks'));`,
  },
  {
    name: 'track: non-plain properties (array, string, number) become {}',
    calls: `await rec('arr', () => analytics.track('Arr', [1, 2]));
            await rec('str', () => analytics.track('Str', 'props'));
            await rec('num', () => analytics.track('Num', 5, { o: 1 }));`,
  },
  {
    name: 'track: callbacks in positions 2, 3 and 4',
    calls: `await rec('p2', () => analytics.track('CB2', cb('cb2')));
            await rec('p3', () => analytics.track('CB3', { p: 1 }, cb('cb3')));
            await rec('p4', () => analytics.track('CB4', { p: 1 }, { o: 1 }, cb('cb4')));
            await rec('obj', () => analytics.track({ event: 'CBobj', properties: { p: 1 } }, cb('cbobj')));`,
  },
  {
    name: 'track: property values (Date, undefined, unicode, deep nesting, empty key)',
    calls: `await rec('t', () => analytics.track('Values', {
              date: new Date(0), undef: undefined, uni: 'héllo ✓ 日本 \\u{1F600}', '': 'emptykey',
              deep: { a: { b: { c: { d: [ { e: 1 } ] } } } }, neg: -0, big: 1e21, small: 1e-7,
            }));`,
  },
  // ── options splitting (reference §2.1) ───────────────────────────────────────────────
  {
    name: 'options: timestamp/messageId overrides, traits → context.traits, arbitrary keys → context',
    calls: `await rec('t', () => analytics.track('Clicked', { p: 1, d: '2020-01-01' }, {
              opt: 1, traits: { t: 1 }, timestamp: '2021-02-03T04:05:06Z', messageId: uniq('mid-parity'),
              ip: '203.0.113.9', locale: 'fr-FR', context: { app: { name: 'x' } }, undef: undefined,
            }));`,
  },
  {
    name: 'options: userId override while anonymous, stored userId wins once identified',
    calls: `await rec('anon', () => analytics.track('A', {}, { userId: 'opt-user' }));
            await rec('id', () => analytics.identify('stored-user'));
            await rec('after', () => analytics.track('B', {}, { userId: 'opt-user-2' }));`,
  },
  {
    name: 'options: anonymousId override persists for later calls',
    storage: true,
    calls: `await rec('a', () => analytics.track('A', {}, { anonymousId: 'anon-from-options' }));
            await rec('b', () => analytics.track('B'));
            await rec('getter', () => analytics.user().anonymousId());`,
  },
  {
    name: 'options: context.page partial override on track and identify',
    calls: `await rec('t', () => analytics.track('T', { path: '/not-copied' }, { context: { page: { path: '/ctx-path', title: 'Ctx' } } }));
            await rec('i', () => analytics.identify('u1', {}, { context: { page: { url: 'https://x.example/u' } } }));`,
  },
  // ── integrations (reference §5.4) ────────────────────────────────────────────────────
  {
    name: 'integrations: per-call objects and booleans are kept as given',
    calls: `await rec('t', () => analytics.track('T', {}, { integrations: { Amplitude: { session_id: 1 }, Mixpanel: false, All: true } }));
            await rec('p', () => analytics.page('N', {}, { integrations: { 'Google Analytics': { clientId: 'c' } } }));`,
  },
  {
    name: 'integrations: init booleans (objects coerced) merged with per-call objects',
    loadOptions: { integrations: { All: false, 'Segment.io': true, Amplitude: { x: 1 }, Mixpanel: false, Empty: '' } },
    calls: `await rec('t', () => analytics.track('T', {}, { integrations: { Mixpanel: { s: 1 } } }));
            await rec('p', () => analytics.page());`,
  },
  {
    name: "integrations: per-call {'Segment.io': false} is not sent; {All: false} still is",
    calls: `await rec('off', () => analytics.track('NotSent', {}, { integrations: { 'Segment.io': false } }));
            await rec('allFalse', () => analytics.track('SentAllFalse', {}, { integrations: { All: false } }));`,
  },
  // ── page / screen overloads ──────────────────────────────────────────────────────────
  {
    name: 'page: 1, 2, 3 strings',
    check: (v, assert) =>
      assert.deepEqual(
        v.ajs.wire.events.slice(0, 3).map((e) => [e.category, e.name]),
        [
          [undefined, 'Name'],
          ['Cat', 'Name'],
          [undefined, undefined],
        ],
        'reference §1.6',
      ),
    calls: `await rec('one', () => analytics.page('Name'));
            await rec('two', () => analytics.page('Cat', 'Name'));
            await rec('three', () => analytics.page('a', 'b', 'c'));`,
  },
  {
    name: 'page: 1, 2, 3 objects',
    calls: `await rec('one', () => analytics.page({ p: 1 }));
            await rec('two', () => analytics.page({ p: 1 }, { o: 1 }));
            await rec('three', () => analytics.page({ p: 1 }, { o: 1 }, { q: 1 }));`,
  },
  {
    name: "page: mixed ('name', {o}), ({p}, 'name'), ('cat', fn, {p}), ('', '')",
    calls: `await rec('nameObj', () => analytics.page('name', { o: 1 }));
            await rec('objName', () => analytics.page({ p: 1 }, 'name'));
            await rec('catFnObj', () => analytics.page('cat', cb('cb'), { p: 1 }));
            await rec('empty', () => analytics.page('', ''));`,
  },
  {
    name: 'page: null/undefined/number arguments',
    calls: `await rec('nullName', () => analytics.page(null, 'Name'));
            await rec('catNull', () => analytics.page('Cat', null, { p: 1 }));
            await rec('undef', () => analytics.page(undefined, undefined, { p: 2 }, { o: 2 }));
            await rec('number', () => analytics.page(123));
            await rec('numberName', () => analytics.page(1, 'Name'));
            await rec('four', () => analytics.page('C', 'N', { p: 3 }, { o: 3 }, cb('four')));`,
  },
  {
    name: 'page: properties override page fields and feed context.page; name beats properties.name',
    search: '?q=1',
    calls: `await rec('p', () => analytics.page('Cat', 'Name', { path: '/custom', title: 'Prop Title', url: 'http://x.example/y', search: '?s=2', referrer: 'http://r.example/', extra: 1, name: 'ignored' }));
            await rec('propName', () => analytics.page({ name: 'FromProps', category: 'PropCat' }));`,
  },
  {
    name: 'page: options.context.page wins over properties and the page',
    calls: `await rec('p', () => analytics.page('N', { title: 'Prop title', path: '/prop' }, { context: { page: { title: 'Ctx title', url: 'https://ctx.example/c' } } }));`,
  },
  {
    name: 'screen: overloads (no properties.category)',
    calls: `await rec('none', () => analytics.screen());
            await rec('cat', () => analytics.screen('Cat', 'Name', { p: 1 }, { o: 1 }));
            await rec('name', () => analytics.screen('Name'));
            await rec('obj', () => analytics.screen({ p: 2 }));
            await rec('three', () => analytics.screen('a', 'b', 'c'));
            await rec('fn', () => analytics.screen('Cat', cb('cb'), { p: 3 }));`,
  },
  // ── page context: URL, canonical, referrer, title (reference §2.3) ───────────────────
  {
    name: 'page context: path, search, hash stripped, title, referrer',
    path: '/shop/items/42',
    search: '?a=1&b=two',
    hash: '#section',
    title: 'Shop & "Items" <42>',
    referrer: 'https://ref.example/from?x=1',
    calls: `await rec('p', () => analytics.page());
            await rec('t', () => analytics.track('T'));`,
  },
  {
    name: 'page context: canonical absolute URL without ? (search appended)',
    path: '/real/path',
    search: '?x=1',
    canonical: 'https://canon.example/canon/path',
    calls: `await rec('p', () => analytics.page());
            await rec('t', () => analytics.track('T'));`,
  },
  {
    name: 'page context: canonical containing ? (search not appended)',
    path: '/real/path',
    search: '?x=1',
    canonical: 'https://canon.example/canon/path?id=7',
    calls: `await rec('p', () => analytics.page());`,
  },
  {
    name: 'page context: relative canonical',
    path: '/real/path',
    search: '?x=1',
    canonical: 'relative/canon',
    calls: `await rec('p', () => analytics.page());`,
  },
  {
    // Sieve finds the canonical link through a live collection and notices URL changes
    // through document.URL (cheaper than querySelector and location.href per call): the
    // same answers in the same task, rel matched case-insensitively, first in document order.
    name: 'page context: canonical link added, changed and removed between calls in one task',
    path: '/real/path',
    search: '?x=1',
    calls: `const style = document.createElement('link');
            style.rel = 'stylesheet';
            style.href = '/none.css';
            document.head.appendChild(style);
            const first = document.createElement('link');
            first.setAttribute('rel', 'Canonical');
            first.setAttribute('href', 'https://canon.example/first');
            document.head.appendChild(first);
            const second = document.createElement('link');
            second.setAttribute('rel', 'canonical');
            second.setAttribute('href', 'https://canon.example/second?k=1');
            document.body.appendChild(second);
            const none = document.createElement('link');
            none.setAttribute('rel', 'canonical alternate');
            none.setAttribute('href', 'https://canon.example/not-this');
            document.head.insertBefore(none, document.head.firstChild);
            const p1 = analytics.track('First');
            first.setAttribute('href', 'https://canon.example/changed');
            const p2 = analytics.track('Changed');
            first.remove();
            const p3 = analytics.track('Second');
            second.remove();
            history.replaceState(null, '', '/replaced?y=2');
            const p4 = analytics.track('None');
            await rec('first', () => p1);
            await rec('changed', () => p2);
            await rec('second', () => p3);
            await rec('none', () => p4);`,
  },
  {
    name: 'page context: empty title, no referrer, SPA navigation before the call',
    title: '',
    calls: `await rec('before', () => analytics.track('Before'));
            history.pushState(null, '', '/spa/next?step=2#h');
            document.title = 'After nav';
            await rec('after', () => analytics.page());
            await rec('t', () => analytics.track('After'));`,
  },
  // ── campaign (reference §2.4) ────────────────────────────────────────────────────────
  {
    name: 'campaign: utm_* mapped (campaign → name, custom keys kept)',
    search: '?utm_source=src&utm_medium=med&utm_campaign=camp&utm_term=term&utm_content=cont&utm_custom=x&other=1',
    calls: `await rec('t', () => analytics.track('T'));
            await rec('p', () => analytics.page());`,
  },
  {
    name: "campaign: '+' and %-decoding, malformed escape kept raw",
    check: (v, assert) =>
      assert.deepEqual(
        v.ajs.wire.events[0].context.campaign,
        { source: 'a b c', medium: '✓', term: '%E0%A4%A', content: '100%' },
        'reference §2.4 utm decoding',
      ),
    search: '?utm_source=a+b%20c&utm_medium=%E2%9C%93&utm_term=%E0%A4%A&utm_content=100%',
    calls: `await rec('t', () => analytics.track('T'));`,
  },
  {
    name: "campaign: duplicates (last wins), value with '=', empty value, bare key",
    search: '?utm_source=first&utm_source=second&utm_term=a=b&utm_medium=&utm_content',
    calls: `await rec('t', () => analytics.track('T'));`,
  },
  {
    name: "campaign: odd keys ('utm_', 'xutm_source', 'UTM_SOURCE') and '?' inside the query",
    search: '?utm_=1&xutm_source=2&UTM_SOURCE=3&a=1?utm_medium=qm',
    calls: `await rec('t', () => analytics.track('T'));`,
  },
  {
    name: 'campaign: {} for a query without utm_*; absent without a query',
    search: '?plain=1',
    calls: `await rec('withQuery', () => analytics.track('T'));
            history.replaceState(null, '', location.pathname);
            await rec('noQuery', () => analytics.track('T2'));`,
  },
  {
    name: 'campaign: options.context.campaign given is not overwritten',
    search: '?utm_source=url',
    calls: `await rec('t', () => analytics.track('T', {}, { context: { campaign: { source: 'given' } } }));`,
  },
  {
    name: 'ad referrer: urid/btid query → context.referrer',
    search: '?urid=u1&btid=b1&utm_source=s',
    storage: true,
    calls: `await rec('t', () => analytics.track('T'));
            history.replaceState(null, '', location.pathname);
            await rec('later', () => analytics.track('Later'));`,
  },
  // ── identify (reference §1.6, §3.3) ──────────────────────────────────────────────────
  {
    name: 'identify: number id, traits-only, id + non-plain traits',
    calls: `await rec('num', () => analytics.identify(123, { t: 1 }));
            await rec('numTrack', () => analytics.track('AfterNum'));`,
  },
  {
    name: 'identify({t:1}, {o:1}, fn) while anonymous',
    calls: `await rec('i', () => analytics.identify({ t: 1 }, { o: 1 }, cb('cb')));`,
  },
  {
    name: "identify('id', [1,2], {o:1}): array traits ignored",
    calls: `await rec('i', () => analytics.identify('id', [1, 2], { o: 1 }));`,
  },
  {
    name: 'identify: no arguments and identify(undefined, traits) while anonymous',
    calls: `await rec('none', () => analytics.identify());
            await rec('undef', () => analytics.identify(undefined, { t: 1 }));`,
  },
  {
    name: 'identify(null, traits) keeps the current id; traits accumulate',
    storage: true,
    calls: `await rec('a', () => analytics.identify('u1', { x: 1 }));
            await rec('b', () => analytics.identify(null, { y: 2 }));
            await rec('c', () => analytics.identify({ z: 3 }));
            await rec('d', () => analytics.identify('u1', { x: 9 }));
            await rec('t', () => analytics.track('T'));
            await rec('traits', () => analytics.user().traits());`,
  },
  {
    name: 'identify: a new userId replaces traits and regenerates the anonymousId',
    check: (v, assert) =>
      assert.deepEqual(
        v.ajs.wire.events.map((e) => e.anonymousId),
        ['<uuid#1>', '<uuid#1>', '<uuid#1>', '<uuid#2>', '<uuid#2>', '<uuid#2>'],
        'reference: new userId ⇒ new anonymousId',
      ),
    storage: true,
    calls: `await rec('before', () => analytics.track('Anon'));
            await rec('a', () => analytics.identify('A', { x: 1 }));
            await rec('ta', () => analytics.track('AsA'));
            await rec('b', () => analytics.identify('B', { z: 3 }));
            await rec('tb', () => analytics.track('AsB'));`,
  },
  {
    name: 'identify: callback as 2nd argument, options.traits',
    calls: `await rec('i', () => analytics.identify('u2', cb('cb')));
            await rec('j', () => analytics.identify('u2', { a: 1 }, { traits: { ctxTrait: 1 } }));`,
  },
  // ── group ────────────────────────────────────────────────────────────────────────────
  {
    name: 'group: id + traits, merged traits, group(null, traits), number id',
    storage: true,
    calls: `await rec('a', () => analytics.group('g1', { name: 'Acme' }));
            await rec('b', () => analytics.group({ plan: 'pro' }));
            await rec('c', () => analytics.group(null, { seats: 5 }, { o: 1 }));
            await rec('t', () => analytics.track('InGroup'));
            await rec('gid', () => analytics.group().id());
            await rec('gtraits', () => analytics.group().traits());
            await rec('d', () => analytics.group(7, { other: true }));`,
  },
  {
    name: 'group: while identified; callback',
    calls: `await rec('i', () => analytics.identify('u1'));
            await rec('g', () => analytics.group('g1', { n: 1 }, cb('cb')));`,
  },
  // ── alias (reference §2.2 quirk) ─────────────────────────────────────────────────────
  {
    name: 'alias: anonymous (previousId = anonymousId)',
    calls: `await rec('a', () => analytics.alias('new-id'));`,
  },
  {
    name: 'alias: identified (userId and previousId = stored id)',
    check: (v, assert) =>
      assert.deepEqual(
        [v.ajs.wire.events[1].userId, v.ajs.wire.events[1].previousId],
        ['u1', 'u1'],
        'reference §2.2 alias quirk',
      ),
    calls: `await rec('i', () => analytics.identify('u1'));
            await rec('a', () => analytics.alias('new-id'));`,
  },
  {
    name: 'alias: (to, from), numbers, options and callback',
    calls: `await rec('tf', () => analytics.alias('to', 'from'));
            await rec('nums', () => analytics.alias(1, 2));
            await rec('opts', () => analytics.alias('to2', { o: 1 }, cb('cb')));`,
  },
  {
    // analytics.js sends an alias without userId, which the collector rejects (400): it is
    // left to go alone (batch timeout 100 ms) and only how the call settled is compared.
    name: 'alias(): no arguments',
    todo: 'intentional difference (README, Differences from analytics.js): Sieve refuses alias() without ids (rejected promise, warning, error event) instead of sending an event the API refuses with its whole batch',
    calls: `await rec('none', () => analytics.alias());
            await new Promise((r) => setTimeout(r, 400));
            await rec('after', () => analytics.track('After'));`,
  },
  // ── reset / user() / setAnonymousId ──────────────────────────────────────────────────
  {
    name: 'reset: after identify + group, next events are fresh',
    check: (v, assert) =>
      assert.deepEqual(
        v.ajs.wire.events.map((e) => [e.userId, e.anonymousId]),
        [
          ['u1', '<uuid#1>'],
          ['u1', '<uuid#1>'],
          ['u1', '<uuid#1>'],
          [null, '<uuid#2>'],
          [null, '<uuid#2>'],
        ],
        'reference: reset clears the user',
      ),
    storage: true,
    calls: `await rec('i', () => analytics.identify('u1', { x: 1 }));
            await rec('g', () => analytics.group('g1', { n: 1 }));
            await rec('t1', () => analytics.track('Before'));
            await rec('reset', () => analytics.reset());
            await rec('t2', () => analytics.track('After'));
            await rec('uid', () => analytics.user().id());
            await rec('traits', () => analytics.user().traits());
            await rec('gid', () => analytics.group().id());`,
  },
  {
    name: 'reset: anonymous user gets a new anonymousId',
    storage: true,
    calls: `await rec('t1', () => analytics.track('Before'));
            await rec('reset', () => analytics.reset());
            await rec('t2', () => analytics.track('After'));`,
  },
  {
    name: 'user(): id/anonymousId/traits getters; setAnonymousId set and get',
    storage: true,
    calls: `await rec('anon0', () => analytics.user().anonymousId());
            await rec('id0', () => analytics.user().id());
            await rec('traits0', () => analytics.user().traits());
            await rec('set', () => analytics.setAnonymousId('custom-anon'));
            await rec('get', () => analytics.setAnonymousId());
            await rec('t', () => analytics.track('T'));`,
  },
  // ── identity from storage (reference §3) ─────────────────────────────────────────────
  {
    name: 'storage: identity left by analytics.js (cookies raw, localStorage JSON) is picked up',
    storage: true,
    cookies: { ajs_anonymous_id: UUID_A, ajs_user_id: 'u9', ajs_group_id: 'g9' },
    localStorage: { ajs_user_traits: '{"a":1}', ajs_group_properties: '{"gp":1}' },
    calls: `await rec('t', () => analytics.track('T'));
            await rec('i', () => analytics.identify({ b: 2 }));
            await rec('g', () => analytics.group({ gq: 2 }));`,
  },
  {
    name: 'storage: cookie anonymousId wins over a different localStorage one',
    check: (v, assert) =>
      assert.equal(
        v.ajs.raw[0].anonymousId,
        '11111111-2222-4333-8444-555555555555',
        'reference §3.4: cookie wins (1.84.3)',
      ),
    storage: true,
    cookies: { ajs_anonymous_id: UUID_A },
    localStorage: { ajs_anonymous_id: JSON.stringify(UUID_B) },
    calls: `await rec('t', () => analytics.track('T'));`,
  },
  {
    name: 'storage: localStorage-only identity is restored and synced to cookies',
    storage: true,
    localStorage: { ajs_anonymous_id: JSON.stringify(UUID_B), ajs_user_id: '"u7"', ajs_user_traits: '{"k":"v"}' },
    calls: `await rec('t', () => analytics.track('T'));
            await rec('i', () => analytics.identify('u7', { k2: 1 }));`,
  },
  {
    name: 'storage: anonymous track: what is left behind',
    storage: true,
    calls: `await rec('t', () => analytics.track('T'));`,
  },
  // ── pre-load calls through the snippet stub (reference §7) ──────────────────────────
  // analytics.js replays buffered calls grouped by method, each in its own task, and its
  // Segment.io plugin fills `userId` from the *current* user at send time; Sieve replays in call
  // order (intentional, issue 3). So an identity change in the middle of the buffer cannot
  // compare; these scenarios identify first (or never) and compare events sorted by type.
  {
    name: 'pre-load: anonymous track/page/screen interleaved, URL and title changing between calls',
    path: '/first',
    search: '?utm_source=a',
    title: 'First',
    referrer: 'https://ref.example/landing',
    pre: `analytics.track('First', { n: 1 });
          analytics.page();
          history.replaceState(null, '', '/second?utm_source=news&utm_medium=mail');
          document.title = 'Second';
          analytics.screen('Scr', { s: 1 });
          analytics.page('Cat', 'Second', { p: 1 });
          history.replaceState(null, '', '/third#frag');
          document.title = 'Third';
          analytics.track('Second', { n: 2 }, { context: { extra: 1 } });`,
  },
  {
    name: 'pre-load: identify first, then group/alias/track/page with buffered page context',
    path: '/first',
    title: 'First',
    storage: true,
    pre: `analytics.identify('user-1', { plan: 'pro' });
          analytics.track('First', { n: 1 });
          history.replaceState(null, '', '/second?x=1');
          document.title = 'Second';
          analytics.group('g-1', { name: 'Acme' });
          analytics.page('Second');
          analytics.alias('user-2');
          history.replaceState(null, '', '/third');
          analytics.track('Second', { n: 2 });`,
  },
  {
    name: 'pre-load: a canonical link in the page is captured in the buffered context',
    path: '/real',
    search: '?q=1',
    canonical: 'https://canon.example/canonical',
    pre: `analytics.page();
          analytics.track('T');`,
  },
  // ── more payload edges ───────────────────────────────────────────────────────────────
  {
    name: 'context: caller-set library kept, userAgent overwritten, locale kept, timezone',
    callerLibrary: true,
    calls: `await rec('t', () => analytics.track('T', {}, { context: { library: { name: 'custom-lib', version: '9' }, userAgent: 'FakeUA/1', locale: 'xx-YY', timezone: 'Mars/Base' } }));`,
    // context.library is normalised away for the generated value; a caller-set one must survive.
    check: (v, assert) => {
      for (const sdk of ['ajs', 'sieve']) {
        assert.deepEqual(
          v[sdk].raw[0].context.library,
          { name: 'custom-lib', version: '9' },
          sdk + ': caller-set context.library',
        );
      }
    },
  },
  {
    name: 'options: integrations and context on identify, group, alias, page, screen',
    calls: `const o = { integrations: { X: false, Y: { k: 1 } }, ctxKey: 'v', context: { ip: '198.51.100.1' } };
            await rec('i', () => analytics.identify('u1', { t: 1 }, o));
            await rec('g', () => analytics.group('g1', { gt: 1 }, o));
            await rec('a', () => analytics.alias('u2', 'u1', o));
            await rec('p', () => analytics.page('C', 'N', { p: 1 }, o));
            await rec('s', () => analytics.screen('C', 'N', { p: 1 }, o));`,
  },
  {
    name: 'options: anonymousId and timestamp overrides on identify; Date traits',
    calls: `await rec('i', () => analytics.identify('u1', { born: new Date(86400000), nested: { d: new Date(0) } }, { anonymousId: 'anon-on-identify', timestamp: new Date(1000) }));
            await rec('t', () => analytics.track('T'));`,
  },
  {
    name: 'track({event, properties: null}); identify(0); group(0)',
    calls: `await rec('t', () => analytics.track({ event: 'NullProps', properties: null }));
            await rec('i', () => analytics.identify(0, { zero: true }));
            await rec('g', () => analytics.group(0));`,
  },
  {
    name: 'page: properties.category / name from properties only; screen with name only object',
    calls: `await rec('p', () => analytics.page({ category: 'PropCat', name: 'PropName', p: 1 }));
            await rec('p2', () => analytics.page('OnlyName', { category: 'PropCat2' }));`,
  },
  // ── load options ────────────────────────────────────────────────────────────────────
  {
    name: 'load option initialPageview: true sends one page at load',
    path: '/landing',
    search: '?utm_source=ip',
    title: 'Landing',
    loadOptions: { initialPageview: true },
    calls: `await rec('t', () => analytics.track('AfterLoad'));`,
  },
  {
    name: 'load option cookie {maxage: 7}: cookie lifetime in days',
    storage: true,
    loadOptions: { cookie: { maxage: 7 } },
    calls: `await rec('i', () => analytics.identify('u1'));
            await rec('g', () => analytics.group('g1'));`,
  },
  {
    name: "load option storage {stores: ['localStorage', 'memory']}: no identity cookies",
    storage: true,
    loadOptions: { storage: { stores: ['localStorage', 'memory'] } },
    calls: `await rec('i', () => analytics.identify('u1', { t: 1 }));
            await rec('t', () => analytics.track('T'));`,
  },
  {
    name: 'load option disableClientPersistence: nothing stored, identity kept in memory',
    storage: true,
    loadOptions: { disableClientPersistence: true },
    cookies: { ajs_anonymous_id: UUID_A },
    calls: `await rec('t0', () => analytics.track('Before'));
            await rec('i', () => analytics.identify('u1', { t: 1 }));
            await rec('t', () => analytics.track('T'));`,
  },
  // ── ajs_* query string (reference §7.5) ─────────────────────────────────────────────
  {
    name: 'query string: ajs_uid + ajs_trait_*, ajs_event + ajs_prop_*, ajs_aid',
    search: '?ajs_uid=u5&ajs_trait_plan=pro&ajs_trait_name=A+B&ajs_event=Clicked%20It&ajs_prop_color=red&ajs_aid=aid-1',
    storage: true,
    calls: `await new Promise((r) => setTimeout(r, 200));
            await rec('t', () => analytics.track('After'));`,
  },
  {
    name: 'query string: useQueryString false ignores ajs_*',
    search: '?ajs_uid=u5&ajs_event=Clicked',
    loadOptions: { useQueryString: false },
    calls: `await rec('t', () => analytics.track('After'));`,
  },
  // ── plugins and middleware (reference §5) ───────────────────────────────────────────
  {
    name: 'source middleware: modify payload, next(null) keeps the event, no next() drops it',
    calls: `await analytics.addSourceMiddleware(({ payload, next }) => {
              const e = payload.obj;
              if (e.event === 'Drop') return;
              if (e.event === 'NullNext') return next(null);
              e.properties = { ...e.properties, mw: true };
              e.context.mw = 'source';
              next(payload);
            });
            await rec('mod', () => analytics.track('Modified', { p: 1 }));
            await rec('null', () => analytics.track('NullNext', { p: 2 }));
            await rec('drop', () => analytics.track('Drop'));
            await rec('page', () => analytics.page('P'));`,
  },
  {
    name: 'plugins: before plugin edits (updateEvent) and cancels; enrichment adds context',
    todo: 'intentional difference (README, Differences from analytics.js): a track cancelled by a before plugin (ctx.cancel()) resolves with its context in Sieve; in analytics.js its promise never settles (both drop the event)',
    calls: `await analytics.register({
              name: 'Parity Before', type: 'before', version: '1', isLoaded: () => true, load: () => Promise.resolve(),
              track: (ctx) => {
                if (ctx.event.event === 'Cancel') ctx.cancel(new Error('cancelled by plugin'));
                ctx.updateEvent('properties.before', 1);
                return ctx;
              },
            }, {
              name: 'Parity Enrichment', type: 'enrichment', version: '1', isLoaded: () => true, load: () => Promise.resolve(),
              track: (ctx) => { ctx.event.context.enriched = true; return ctx; },
              identify: (ctx) => { ctx.event.traits = { ...ctx.event.traits, enriched: true }; return ctx; },
            });
            await rec('t', () => analytics.track('Kept', { p: 1 }));
            await rec('c', () => analytics.track('Cancel'));
            await rec('i', () => analytics.identify('u1', { t: 1 }));`,
  },
  {
    name: 'ready(cb) resolves/calls back after load; debug and timeout are accepted',
    // ready(cb)'s argument is the list of analytics.js' own plugins' ready() results (an
    // implementation detail: [undefined, undefined] for its two plugins); only the call counts.
    calls: `await rec('ready', () => analytics.ready(() => cb('ready')()).then(() => 'ready-resolved'));
            await rec('timeout', () => { analytics.timeout(50); return 'ok'; });
            await rec('debug', () => { analytics.debug(false); return 'ok'; });
            await rec('t', () => analytics.track('T', cb('fast')));`,
  },
  // ── identity edge cases ─────────────────────────────────────────────────────────────
  {
    name: 'setAnonymousId(null) clears, next event gets a fresh uuid; user().id() after identify',
    storage: true,
    calls: `await rec('t0', () => analytics.track('Before'));
            await rec('clear', () => analytics.setAnonymousId(null));
            await rec('t1', () => analytics.track('After'));
            await rec('i', () => analytics.identify('u1'));
            await rec('uid', () => analytics.user().id());`,
  },
  {
    name: 'identify: anonymous → identified keeps the anonymousId; same id again keeps it',
    storage: true,
    calls: `await rec('t0', () => analytics.track('Anon'));
            await rec('i1', () => analytics.identify('u1', { a: 1 }));
            await rec('i2', () => analytics.identify('u1', { b: 2 }));
            await rec('t1', () => analytics.track('Known'));`,
  },
  {
    name: 'storage: legacy _sio cookie (anonymousId----userId)',
    storage: true,
    cookies: { _sio: UUID_A + '----legacy-user' },
    calls: `await rec('t', () => analytics.track('T'));`,
  },
  {
    name: 'storage: legacy ajs_user cookie ({id, traits} JSON)',
    storage: true,
    cookies: { ajs_user: encodeURIComponent(JSON.stringify({ id: 'legacy-u', traits: { l: 1 } })) },
    calls: `await rec('t', () => analytics.track('T'));
            await rec('i', () => analytics.identify({ x: 2 }));`,
  },
  {
    name: 'storage: classic analytics.js JSON-encoded cookie values (%22…%22)',
    storage: true,
    cookies: { ajs_user_id: '%22u-classic%22', ajs_anonymous_id: '%22' + UUID_A + '%22' },
    calls: `await rec('t', () => analytics.track('T'));
            await rec('uid', () => analytics.user().id());`,
  },
  {
    name: 'storage: userId cookie and localStorage disagree',
    storage: true,
    cookies: { ajs_user_id: 'u-cookie' },
    localStorage: { ajs_user_id: '"u-ls"' },
    calls: `await rec('t', () => analytics.track('T'));`,
  },
  {
    name: 'storage: unparsable localStorage traits',
    storageTodo:
      'intentional difference (README): stores ajs_user_traits {"ok":1}; analytics.js stores the spread string {"0":"{",…,"8":"n","ok":1}',
    todo: 'intentional difference (README): unparsable ajs_user_traits ("{not json") read as {}; analytics.js returns the raw string from user().traits() and, on identify, spreads it into the traits ({"0":"{","1":"n",…,"8":"n","ok":1})',
    storage: true,
    localStorage: { ajs_user_id: '"u1"', ajs_user_traits: '{not json' },
    calls: `await rec('traits', () => analytics.user().traits());
            await rec('i', () => analytics.identify({ ok: 1 }));`,
  },
  {
    name: 'load options user/group: custom cookie and localStorage keys',
    storage: true,
    loadOptions: {
      user: { cookie: { key: 'custom_uid' }, localStorage: { key: 'custom_traits' } },
      group: { cookie: { key: 'custom_gid' }, localStorage: { key: 'custom_gprops' } },
    },
    calls: `await rec('i', () => analytics.identify('u1', { t: 1 }));
            await rec('g', () => analytics.group('g1', { gt: 1 }));`,
  },
  {
    name: "load option cookie {secure: true, sameSite: 'Strict'}",
    storage: true,
    loadOptions: { cookie: { secure: true, sameSite: 'Strict' } },
    calls: `await rec('i', () => analytics.identify('u1'));`,
  },
  {
    name: 'page context: empty canonical href, canonical with a fragment',
    search: '?x=1',
    canonical: '',
    calls: `await rec('empty', () => analytics.page());
            document.querySelector('link[rel=canonical]').setAttribute('href', 'https://canon.example/a/b#frag');
            await rec('frag', () => analytics.page());
            document.querySelector('link[rel=canonical]').setAttribute('href', 'http://[bad');
            await rec('bad', () => analytics.track('Bad canonical'));`,
  },
  {
    name: 'trackLink / trackClick: element, dynamic name and properties',
    calls: `document.body.insertAdjacentHTML('beforeend', '<a id="l1" href="#go1">one</a><a id="l2" href="#go2">two</a><a id="l3" href="#go3" target="_blank">blank</a>');
            await rec('link', () => analytics.trackLink(document.getElementById('l1'), 'Link Clicked', { p: 1 }).then(() => 'ok'));
            await rec('click', () => analytics.trackClick([document.getElementById('l2')], (el) => 'Dyn ' + el.id, (el) => ({ id: el.id })).then(() => 'ok'));
            document.getElementById('l1').click();
            await new Promise((r) => setTimeout(r, 700));
            document.getElementById('l2').click();
            await new Promise((r) => setTimeout(r, 700));
            await rec('hash', () => location.hash);`,
  },
  {
    name: 'trackForm / trackSubmit: submit event tracked',
    calls: `document.body.insertAdjacentHTML('beforeend', '<form id="f1" action="javascript:void 0"><input name="q" value="v"></form>');
            await rec('form', () => analytics.trackForm(document.getElementById('f1'), 'Form Submitted', { f: 1 }).then(() => 'ok'));
            document.getElementById('f1').requestSubmit();
            await new Promise((r) => setTimeout(r, 700));`,
  },
  {
    name: 'emitter: once fires once, off removes, on/once/off chain',
    calls: `const h = cb('on');
            await rec('chain', () => analytics.on('track', h) === analytics && analytics.once('track', cb('once')) === analytics);
            await rec('t1', () => analytics.track('One'));
            await rec('t2', () => analytics.track('Two'));
            await rec('off', () => analytics.off('track', h) === analytics);
            await rec('t3', () => analytics.track('Three'));`,
  },
  // ── cookie domain (reference §3.2: TLD probing with a throwaway cookie) ─────────────
  {
    name: 'cookie domain: top-level domain probed on www.shop.parity.test',
    check: (v, assert) =>
      assert.deepEqual(
        v.ajs.storage.cookies.map((c) => c.domain),
        ['.parity.test', '.parity.test', '.parity.test'],
        'reference §3.2: highest accepted level',
      ),
    host: 'www.shop.parity.test',
    storage: true,
    calls: `await rec('i', () => analytics.identify('u1'));
            await rec('g', () => analytics.group('g1'));
            await rec('cookie', () => document.cookie.split('; ').map((c) => c.split('=')[0]).sort().join(','));`,
  },
  {
    name: 'cookie domain: explicit cookie.domain option',
    host: 'www.shop.parity.test',
    storage: true,
    loadOptions: { cookie: { domain: 'shop.parity.test' } },
    calls: `await rec('i', () => analytics.identify('u1'));`,
  },
  {
    name: 'cookie domain: host-only on an IP address',
    check: (v, assert) =>
      assert.deepEqual(
        v.ajs.storage.cookies.map((c) => c.domain),
        ['127.0.0.1', '127.0.0.1'],
        'reference §3.2: host-only on IPs',
      ),
    host: '127.0.0.1',
    storage: true,
    calls: `await rec('i', () => analytics.identify('u1'));`,
  },
  // ── more pre-load ───────────────────────────────────────────────────────────────────
  {
    // analytics.js applies buffered setAnonymousId/on before replaying anything else; called
    // first, call order and its order agree.
    name: 'pre-load: setAnonymousId and on() first, an invalid track, then calls',
    pre: `window.__emitted = [];
          analytics.setAnonymousId('pre-anon');
          analytics.on('track', function (name, props) { window.__emitted.push([name, props]); });
          analytics.track('');
          analytics.track('Valid', { v: 1 });
          analytics.page('P');`,
    // analytics.js emits 'track' after its plugin chain, some ticks after the replayed call
    // (Sieve emits synchronously): compare once both have settled.
    calls: `await new Promise((r) => setTimeout(r, 1000));
            await rec('emitted', () => window.__emitted.filter((e) => e[0] !== '__parity_end__'));
            await rec('anon', () => analytics.user().anonymousId());`,
  },
  // ── delivery shape ──────────────────────────────────────────────────────────────────
  {
    name: 'batching: 130 events split over requests, order kept',
    calls: `const ps = [];
            for (let i = 0; i < 130; i++) ps.push(analytics.track('Bulk', { i }));
            await rec('count', () => ps.length);
            await Promise.all(ps);`,
    check: (v, assert) => {
      for (const sdk of ['ajs', 'sieve']) {
        assert.deepEqual(
          v[sdk].raw.filter((e) => e.event === 'Bulk').map((e) => e.properties.i),
          [...Array(130).keys()],
          sdk + ': order',
        );
      }
    },
  },
  {
    name: 'track: a 20 KB property value',
    calls: `await rec('t', () => analytics.track('Big', { s: 'x'.repeat(20000), arr: Array.from({ length: 200 }, (_, i) => i) }));`,
  },
  {
    name: 'destination middleware never applies to Segment.io',
    calls: `await rec('add', () => analytics.addDestinationMiddleware('Segment.io', ({ payload, next }) => { payload.obj.properties.dm = 1; next(null); }).then(() => 'ok'));
            await rec('addAll', () => analytics.addDestinationMiddleware('*', () => {}).then(() => 'ok'));
            await rec('t', () => analytics.track('T', { p: 1 }));`,
  },
  {
    name: 'plugins: a failing destination plugin does not affect Segment.io; deregister',
    calls: `await analytics.register({
              name: 'Broken Dest', type: 'destination', version: '1', isLoaded: () => true, load: () => Promise.resolve(),
              track: () => { throw new Error('boom'); },
            });
            await rec('t', () => analytics.track('WithBroken'));
            await rec('dereg', () => analytics.deregister('Broken Dest').then(() => 'ok'));
            await rec('t2', () => analytics.track('AfterDeregister'));`,
  },
  // ── npm entry: the buffered AnalyticsBrowser wrapper (reference §1.5, §7.4) ─────────
  {
    name: 'npm: AnalyticsBrowser.load, calls after load through the wrapper',
    npm: true,
    search: '?utm_source=npm',
    storage: true,
    calls: `await rec('t', () => analytics.track('T', { p: 1 }, { o: 1 }));
            await rec('p', () => analytics.page('C', 'N', { p: 2 }));
            await rec('i', () => analytics.identify('u1', { t: 1 }));
            await rec('g', () => analytics.group('g1', { gt: 1 }));
            await rec('a', () => analytics.alias('u2'));
            await rec('s', () => analytics.screen('S'));
            await rec('missing', () => analytics.track(''));
            await rec('anon', () => analytics.setAnonymousId('npm-anon'));
            await rec('chain', () => analytics.on('track', () => {}) === analytics);
            await rec('reset', () => analytics.reset());
            await rec('t2', () => analytics.track('AfterReset'));`,
  },
  {
    name: 'npm: calls buffered before load (anonymous), page context captured at call time',
    npm: true,
    path: '/npm-first',
    title: 'NPM First',
    pre: `window.__pre = [];
          const note = (label, p) => p.then((ctx) => window.__pre.push([label, 'resolved', ctx && ctx.event && ctx.event.type]), (e) => window.__pre.push([label, 'rejected', e && e.message]));
          note('t1', analytics.track('First', { n: 1 }));
          note('p1', analytics.page());
          history.replaceState(null, '', '/npm-second?utm_medium=m');
          document.title = 'NPM Second';
          note('s1', analytics.screen('Scr'));
          note('bad', analytics.track(''));
          note('t2', analytics.track('Second', { n: 2 }));`,
    calls: `await new Promise((r) => setTimeout(r, 300));
            await rec('pre', () => [...window.__pre].sort((a, b) => (a[0] < b[0] ? -1 : 1)));`,
  },
  {
    name: 'npm: identify buffered first, then group/track before load',
    npm: true,
    storage: true,
    pre: `analytics.identify('npm-user', { plan: 'pro' });
          analytics.group('npm-group', { seats: 3 });
          analytics.track('Buffered', { b: 1 });`,
    calls: `await rec('t', () => analytics.track('After'));`,
  },
  // ── API surface and emitter ──────────────────────────────────────────────────────────
  {
    name: 'API surface: every analytics.js method exists',
    calls: `await rec('missing', () => ['track','page','screen','identify','group','alias','reset','user','ready','on','once','off',
              'setAnonymousId','register','deregister','addSourceMiddleware','addDestinationMiddleware','debug','timeout',
              'trackLink','trackClick','trackForm','trackSubmit','push'].filter((m) => typeof analytics[m] !== 'function'));`,
  },
  {
    name: 'emitter: track/page/identify/group/alias/reset events and their arguments',
    calls: `['track','page','screen','identify','group','alias','reset'].forEach((n) => analytics.on(n, cb('on:' + n)));
            await rec('t', () => analytics.track('T', { p: 1 }, { o: 1 }));
            await rec('p', () => analytics.page('C', 'N', { p: 2 }));
            await rec('s', () => analytics.screen('SN'));
            await rec('i', () => analytics.identify('u1', { t: 1 }));
            await rec('g', () => analytics.group('g1', { gt: 1 }));
            await rec('a', () => analytics.alias('u2', 'u1'));
            await rec('r', () => analytics.reset());
            ['track','page','screen','identify','group','alias','reset'].forEach((n) => analytics.off(n));`,
  },
  {
    name: 'push([method, ...args]) dispatches like a call',
    calls: `await rec('push', () => { analytics.push(['track', 'Pushed', { p: 1 }]); return 'done'; });`,
  },
];
