// Declarative personalization: `data-sieve-show="key"` elements are visible only while the
// visitor is a member of `key`, `data-sieve-hide="key"` ones only while not. Only the
// `hidden` attribute is ever touched; nothing from data becomes HTML.

const SELECTOR = '[data-sieve-show],[data-sieve-hide]';
/** Current member keys, written by the segments driver (src/web/segments.rs). */
export const MEMBERS_KEY = 'sieve:segments:members:v1';

function applyTo(el, isMember) {
  const show = el.getAttribute('data-sieve-show');
  const hide = el.getAttribute('data-sieve-hide');
  const hidden = show !== null ? isMember(show) !== true : isMember(hide) === true;
  if (el.hidden !== hidden) el.hidden = hidden;
}

/** Applies `isMember(key) -> true|false|null` to every marked element under `root`. */
export function personalize(isMember, root = document) {
  if (root.matches && root.matches(SELECTOR)) applyTo(root, isMember);
  if (root.querySelectorAll) root.querySelectorAll(SELECTOR).forEach((el) => applyTo(el, isMember));
}

/** Applies to marked elements as they are added, until `stop()`. */
export function observe(isMember) {
  const mo = new MutationObserver((records) => {
    for (const r of records) r.addedNodes.forEach((n) => n.nodeType === 1 && personalize(isMember, n));
  });
  mo.observe(document.documentElement, { childList: true, subtree: true });
  return () => mo.disconnect();
}

/**
 * The script-tag entry's first-paint pass: the member list the last page left (one
 * synchronous localStorage read, the documented exception to "the shim reads no storage"),
 * applied to the elements that exist now and to those parsed until DOMContentLoaded.
 */
export function personalizeEarly() {
  let members;
  try {
    members = JSON.parse(localStorage.getItem(MEMBERS_KEY) || 'null');
  } catch {
    return;
  }
  if (!Array.isArray(members)) return;
  const set = new Set(members);
  const isMember = (key) => set.has(key);
  personalize(isMember);
  if (document.readyState === 'loading') {
    const stop = observe(isMember);
    document.addEventListener('DOMContentLoaded', stop, { once: true });
  }
}
