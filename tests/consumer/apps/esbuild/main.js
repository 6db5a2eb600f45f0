// esbuild does not emit files named by `new URL(…, import.meta.url)`: the build copies
// node_modules/sieve-analytics/dist/*.wasm to sieve/ next to the bundle (README, "npm"), and
// the app says where they are.
import { start } from '../shared.js';

start('esbuild', { assetsURL: './sieve/' });
