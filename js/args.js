// Argument encoding for the wasm boundary: one type letter per argument and a JSON array
// of the values (see core::args::decode_args). The overload rules themselves live in Rust.

const isPlain = (v) => Object.prototype.toString.call(v) === '[object Object]';

/** A snippet "buffered page context" ({__t: 'bpc', c, p, u, s, t, r}). */
export const isBpc = (v) => isPlain(v) && v.__t === 'bpc';

/** The page context now, in the snippet's shape. */
export function pageContext() {
  const canonical = document.querySelector("link[rel='canonical']");
  return {
    __t: 'bpc',
    c: (canonical && canonical.getAttribute('href')) || undefined,
    p: location.pathname,
    u: location.href,
    s: location.search,
    t: document.title,
    r: document.referrer,
  };
}

// Replacer used when plain JSON.stringify fails: circular references and BigInts.
function safeReplacer() {
  const seen = new WeakSet();
  return (_key, value) => {
    if (typeof value === 'bigint') return value.toString();
    if (value && typeof value === 'object') {
      if (seen.has(value)) return '[Circular]';
      seen.add(value);
    }
    return value;
  };
}

/**
 * Encodes call arguments. Returns [types, json, cleaned]; `cleaned` is true when the values
 * could not be serialized as given (circular structure, BigInt) and were cleaned; `json` is
 * null when even that failed (a throwing getter or toJSON).
 */
export function encodeArgs(args, withPage) {
  let types = '';
  const values = [];
  const last = args.length - 1;
  args.forEach((a, i) => {
    const t = typeof a;
    if (t === 'string') {
      types += 's';
      values.push(a);
    } else if (t === 'number') {
      types += 'n';
      values.push(String(a));
    } else if (t === 'function') {
      types += 'f';
      values.push(null);
    } else if (a === undefined) {
      types += 'u';
      values.push(null);
    } else if (a === null) {
      types += 'N';
      values.push(null);
    } else if (i === last && isBpc(a)) {
      types += 'b';
      values.push(a);
    } else if (isPlain(a)) {
      types += 'o';
      values.push(a);
    } else {
      types += 'x';
      values.push(null);
    }
  });
  if (withPage && !types.endsWith('b')) {
    types += 'b';
    values.push(pageContext());
  }
  try {
    return [types, JSON.stringify(values), false];
  } catch (_) {
    try {
      return [types, JSON.stringify(values, safeReplacer()), true];
    } catch (_) {
      // A getter or toJSON that throws: nothing sensible can be sent.
      return [types, null, true];
    }
  }
}
