// Sieve demo page: buttons that call the analytics.js API, the current identity, and a live
// list of what the local collector received (polling GET /events?after=<seq> every second).
// No frameworks and no inline script (the page runs under a strict CSP); event data only ever
// reaches the DOM through textContent.
(function () {
  'use strict';

  const meta = (name) => document.querySelector('meta[name="' + name + '"]')?.getAttribute('content') || '';
  const COLLECTOR = meta('sieve-collector').replace(/\/$/, '');
  const WRITE_KEY = meta('sieve-write-key');
  const POLL_MS = 1000;
  const BACKLOG = 20; // events from earlier visits shown on load
  const MAX_ROWS = 200;
  const $ = (id) => document.getElementById(id);

  // The snippet's stub queues calls until the SDK has loaded; after that `window.analytics`
  // is the live instance. Always look it up again: it is replaced on load.
  const analytics = () => window.analytics;
  let ready = false;

  const PRODUCT = {
    product_id: 'fn-3pk',
    sku: 'FN-3PK',
    name: 'Field Notebook, 3-pack',
    category: 'Stationery',
    price: 18,
    currency: 'USD',
  };
  const PROPERTIES = {
    'Product Added': () => ({ ...PRODUCT, quantity: 1, cart_id: cartId() }),
    'Product Viewed': () => ({ ...PRODUCT }),
    'Checkout Started': () => ({ value: 18, revenue: 18, currency: 'USD', products: [{ ...PRODUCT, quantity: 1 }] }),
    'Order Completed': () => ({
      order_id: 'ord-' + Math.random().toString(36).slice(2, 8),
      total: 18,
      revenue: 18,
      currency: 'USD',
      products: [{ ...PRODUCT, quantity: 1 }],
    }),
    'Core Feature Used': () => ({ feature: 'export', plan: 'pro' }),
  };
  let cart;
  const cartId = () => (cart ||= 'cart-' + Math.random().toString(36).slice(2, 8));

  // --- actions -----------------------------------------------------------------------------

  let noteTimer;
  function note(text) {
    const el = $('action-note');
    el.textContent = text;
    clearTimeout(noteTimer);
    noteTimer = setTimeout(() => (el.textContent = ''), 6000);
  }
  const queuedNote = (what) => note(what + ' queued: it leaves with the next batch (within 5 s), or press Send now.');

  for (const button of document.querySelectorAll('button[data-track]')) {
    button.addEventListener('click', () => {
      const name = button.getAttribute('data-track');
      const props = (PROPERTIES[name] || (() => ({})))();
      analytics().track(name, props);
      queuedNote('track("' + name + '")');
    });
  }

  $('page-button').addEventListener('click', () => {
    analytics().page();
    queuedNote('page()');
  });

  $('identify-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const userId = $('identify-user-id').value.trim();
    const email = $('identify-email').value.trim();
    const traits = email ? { email } : {};
    if (userId) analytics().identify(userId, traits);
    else if (email) analytics().identify(traits);
    else return note('Enter a user id or an email first.');
    queuedNote('identify(' + (userId ? '"' + userId + '"' : 'traits') + ')');
    whenReady(showIdentity);
  });

  $('reset-button').addEventListener('click', () => {
    analytics().reset();
    cart = undefined;
    // Nothing on the page may still show the previous user.
    $('identify-form').reset();
    $('segments-last').textContent = '';
    whenReady(showIdentity);
    note('reset(): user id and traits cleared, a new anonymousId for the next events.');
  });

  $('flush-button').addEventListener('click', () => {
    whenReady(() => {
      analytics().flush();
      note('flush(): queued events sent now.');
      setTimeout(poll, 300); // pick them up without waiting for the next tick
    });
    if (!ready) note('The SDK is still loading; the events will be sent once it is ready.');
  });

  // --- identity ------------------------------------------------------------------------------

  function whenReady(fn) {
    if (ready) return fn();
    analytics().ready(() => fn());
  }

  function showIdentity() {
    const a = analytics();
    if (!ready || !a || typeof a.user !== 'function') return;
    const user = a.user();
    setText($('anonymous-id'), user.anonymousId() || '—');
    setText($('user-id'), user.id() || '(not identified)');
  }

  function setText(el, text) {
    if (el.textContent !== text) el.textContent = text;
  }

  const loadTimer = setTimeout(() => {
    setText($('sdk-status'), 'not loaded yet (see the console)');
    $('sdk-status').classList.add('bad');
  }, 10000);
  analytics().ready(() => {
    ready = true;
    clearTimeout(loadTimer);
    $('sdk-status').classList.remove('bad');
    const a = analytics();
    setText($('sdk-status'), 'sieve ' + (a.VERSION || '') + ' ready');
    $('sdk-status').classList.add('ok');
    showIdentity();
  });

  // --- live list ---------------------------------------------------------------------------

  let after = null; // last seq seen; null until the first request
  let pollTimer;
  let polling = false;

  function eventsUrl(params) {
    const q = new URLSearchParams(params);
    if (WRITE_KEY) q.set('writeKey', WRITE_KEY);
    return COLLECTOR + '/events?' + q;
  }

  async function poll() {
    if (polling) return;
    polling = true;
    clearTimeout(pollTimer);
    try {
      if (after === null) {
        // Start a little before the newest event, so a reload shows the latest few.
        const head = await getJson(eventsUrl({ after: String(Number.MAX_SAFE_INTEGER), limit: '1' }));
        after = Math.max(0, (head.stats?.lastSeq || 0) - BACKLOG);
      }
      const body = await getJson(eventsUrl({ after: String(after) }));
      for (const row of body.events || []) {
        addRow(row);
        after = Math.max(after, row.seq);
      }
      const stored = body.stats ? body.stats.stored : '?';
      status(true, 'live · polling every second · ' + stored + ' stored in total');
    } catch (err) {
      status(false, 'collector unreachable at ' + (COLLECTOR || '(no URL)') + ' (' + err.message + '); retrying');
    } finally {
      polling = false;
      showIdentity();
      pollTimer = setTimeout(poll, POLL_MS);
    }
  }

  async function getJson(url) {
    const res = await fetch(url, { cache: 'no-store' });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    return res.json();
  }

  function status(ok, text) {
    setText($('feed-status'), text);
    $('feed-dot').classList.toggle('ok', ok);
    $('feed-dot').classList.toggle('bad', !ok);
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function label(e) {
    switch (e.type) {
      case 'track':
        return e.event;
      case 'page':
      case 'screen':
        return (
          [e.category, e.name].filter(Boolean).join(' › ') ||
          [e.properties?.path || e.context?.page?.path, e.properties?.title].filter(Boolean).join(' · ')
        );
      case 'identify':
        return e.traits?.email ? 'traits: ' + e.traits.email : 'identify';
      case 'group':
        return 'group ' + e.groupId;
      case 'alias':
        return (e.previousId || '') + ' → ' + (e.userId || '');
      default:
        return '';
    }
  }

  function time(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso ?? '');
    return (
      d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }) +
      '.' +
      String(d.getMilliseconds()).padStart(3, '0')
    );
  }

  // Events per segment key (context.segments), over everything the feed has seen.
  const perSegment = new Map();
  let eventsSeen = 0;
  function countSegments(e) {
    eventsSeen++;
    const keys = Array.isArray(e.context?.segments) ? e.context.segments : [];
    for (const key of keys.length ? keys : ['(no segment)'])
      perSegment.set(String(key), (perSegment.get(String(key)) || 0) + 1);
    const body = $('segment-counts').tBodies[0];
    body.replaceChildren(
      ...[...perSegment.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([key, n]) => {
          const tr = el('tr');
          tr.append(
            el('td', 'key', key),
            el('td', 'count', n),
            el('td', 'share', Math.round((100 * n) / eventsSeen) + ' %'),
          );
          return tr;
        }),
    );
  }

  function addRow(row) {
    const e = row.event || {};
    countSegments(e);
    const li = el('li', 'event');
    li.dataset.seq = row.seq;
    li.dataset.type = e.type || '';
    const details = el('details');
    const summary = el('summary');
    summary.append(
      el('span', 'badge badge-' + (/^[a-z]+$/.test(e.type) ? e.type : 'other'), e.type || '?'),
      el('span', 'name', label(e)),
      el('span', 'who', e.userId ? 'user ' + e.userId : 'anon ' + String(e.anonymousId || '').slice(0, 8)),
      el('time', 'when', time(e.timestamp)),
    );
    summary.lastChild.dateTime = e.timestamp || '';
    summary.title = 'seq ' + row.seq + ' · received ' + row.receivedAt;
    const meta = el(
      'p',
      'meta',
      'seq ' + row.seq + ' · received ' + time(row.receivedAt) + ' · messageId ' + (e.messageId || ''),
    );
    const pre = el('pre', 'json', JSON.stringify(e, null, 2));
    details.append(summary, meta, pre);
    li.append(details);
    const list = $('events');
    list.prepend(li);
    li.classList.add('new');
    setTimeout(() => li.classList.remove('new'), 1200);
    while (list.children.length > MAX_ROWS) list.lastElementChild.remove();
    $('feed-empty').hidden = true;
  }

  $('clear-button').addEventListener('click', () => {
    perSegment.clear();
    eventsSeen = 0;
    $('segment-counts').tBodies[0].replaceChildren();
    $('events').replaceChildren();
    $('feed-empty').hidden = false;
  });

  poll();
})();
