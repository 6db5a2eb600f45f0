// trackLink / trackForm (and the trackClick / trackSubmit aliases): analytics.js's DOM
// bindings. Clicks and submits are tracked, then the navigation or submission continues once
// the event is queued (or after `timeout`), as in analytics.js.

function elementsOf(target) {
  if (!target) return [];
  if (target instanceof Element) return [target];
  if (typeof target.toArray === 'function') return target.toArray(); // jQuery
  return Array.from(target).filter((el) => el instanceof Element);
}

const resolve = (value, el) => (typeof value === 'function' ? value(el) : value);

// Waits for the track() promise, at most `ms`.
function within(promise, ms) {
  return Promise.race([promise.catch(() => {}), new Promise((r) => setTimeout(r, ms))]);
}

export function trackLink(analytics, links, event, properties, options) {
  for (const el of elementsOf(links)) {
    el.addEventListener('click', (e) => {
      const href =
        el.getAttribute('href') ||
        el.getAttributeNS('http://www.w3.org/1999/xlink', 'href') ||
        el.querySelector('a')?.getAttribute('href');
      const track = analytics.track(resolve(event, el), resolve(properties, el) || {}, options || {});
      const newTab = el.getAttribute('target') === '_blank' || e.metaKey || e.ctrlKey || e.shiftKey || e.button === 1;
      if (!href || newTab) return;
      e.preventDefault();
      within(track, analytics.settings.timeout ?? 500).then(() => {
        window.location.href = href;
      });
    });
  }
  return analytics;
}

export function trackForm(analytics, forms, event, properties, options) {
  for (const el of elementsOf(forms)) {
    el.addEventListener('submit', (e) => {
      e.preventDefault();
      const track = analytics.track(resolve(event, el), resolve(properties, el) || {}, options || {});
      // The prototype method: a control named or id-ed "submit" shadows form.submit.
      within(track, analytics.settings.timeout ?? 500).then(() => HTMLFormElement.prototype.submit.call(el));
    });
  }
  return analytics;
}
