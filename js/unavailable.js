// Lazy (dist/unavailable.js, fetched only when the core cannot start): why the wasm cannot
// run on this page, as the one Error the console shows. No WebAssembly at all; WebAssembly
// refused by the page's Content-Security-Policy (no 'wasm-unsafe-eval'); an engine without a
// wasm feature the build enables; or the file could not be fetched or compiled.

// A module using each wasm feature the build enables (bulk memory, non-trapping
// float-to-int, sign extension, multivalue; see scripts/build.sh): it validates where they
// all are.
const FEATURES = 'AGFzbQEAAAABBgFgAAJ/fwMCAQAFAwEAAAoXARUAQQBBAEEA/AsAQQDAQwAAAAD8AAs=';
const EMPTY = 'AGFzbQEAAAA='; // the empty module: instantiating it is refused only by CSP
const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

/** The Error that says why (`err`: what loading the wasm threw, if it got that far). */
export async function unavailable(err) {
  let why;
  if (typeof WebAssembly != 'object') why = 'this browser has no WebAssembly';
  else {
    try {
      // WebKit lets `new WebAssembly.Module` through a CSP that refuses instantiation.
      await WebAssembly.instantiate(bytes(EMPTY));
      why = WebAssembly.validate(bytes(FEATURES))
        ? 'could not load sieve_bg.wasm (' + (err && err.message) + ')'
        : "this browser's WebAssembly lacks bulk memory, non-trapping float-to-int, sign extension or multivalue (Chrome 86, Firefox 79 and Safari 15 have them)";
    } catch (_) {
      why = "WebAssembly is blocked by the page's Content-Security-Policy: its script-src needs 'wasm-unsafe-eval'";
    }
  }
  const error = new Error(
    why + '; analytics is off on this page: calls are dropped and ready() callbacks will not run',
  );
  error.code = 'wasm_unavailable';
  return error;
}
