// Lazily loaded by js/segments.js (dist/segments-compile.js): compiles JSON definitions
// given to a page whose engine was started with compiled ones (dist/sieve_segments_bg.wasm
// has no parser), with the full engine (dist/sieve_segments_full_bg.wasm) in an instance of
// its own. Only its `compile` export runs there: no driver, no state, no listeners.
import init, { compile as compileWasm } from '../target/pkg/segments/sieve_segments.js';

let ready;
/** `{compiled, accepted, errors, warnings}` for a JSON array text (see src/web/segments.rs). */
export function compile(json, wasmUrl) {
  ready ||= init({ module_or_path: wasmUrl });
  return ready.then(() => JSON.parse(compileWasm(json)));
}
