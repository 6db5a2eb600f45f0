// Demo: live segment membership, the last transition, explain(), and (the demo build of the
// engine, which `npm start` serves) a clock that jumps forward. Text only reaches the DOM through textContent.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const segments = () => window.analytics && window.analytics.segments;
  let hooked = false;

  function render() {
    const s = segments();
    if (!s || !s._rt) return;
    const list = $('segments-list');
    list.replaceChildren();
    const select = $('explain-key');
    const chosen = select.value;
    if (select.options.length === 0) {
      for (const row of s.list()) select.append(new Option(row.key, row.key));
    }
    for (const row of s.list()) {
      const li = document.createElement('li');
      const state = row.state === true ? 'member' : row.state === false ? 'not a member' : 'unknown';
      li.className = 'segment ' + (row.state === true ? 'in' : row.state === false ? 'out' : 'unknown');
      li.textContent =
        row.key + ': ' + state + (row.since ? ' (since ' + new Date(row.since).toLocaleString() + ')' : '');
      list.append(li);
    }
    const key = chosen || (select.options[0] && select.options[0].value);
    $('explain').textContent = key ? JSON.stringify(s.explain(key), null, 2) : '';
  }

  function attach() {
    const s = segments();
    if (!s || typeof s.on !== 'function') return;
    if (!hooked) {
      hooked = true;
      s.on('change', (d) => {
        $('segments-last').textContent =
          (d.entered ? 'Entered ' : 'Exited ') + d.key + ' (' + d.reason + ', ' + new Date(d.at).toLocaleString() + ')';
        render();
      });
    }
    if (s._rt) {
      // The clock exists only in the demo build of the engine (npm start): say so otherwise.
      const clock = typeof s._rt.w.travel === 'function';
      $('time-travel').hidden = !clock;
      $('time-travel-missing').hidden = clock;
    }
    render();
  }

  $('explain-key').addEventListener('change', render);
  document.addEventListener('click', (e) => {
    const travel = e.target.closest && e.target.closest('button[data-travel]');
    const s = segments();
    if (travel && s && s._rt && typeof s._rt.w.travel === 'function')
      s._rt.w.travel(Number(travel.getAttribute('data-travel')));
    setTimeout(render, 0);
  });
  // The SDK and then the engine load asynchronously: look until both are there.
  const timer = setInterval(() => {
    attach();
    if (segments() && segments()._rt) clearInterval(timer);
  }, 200);
})();
