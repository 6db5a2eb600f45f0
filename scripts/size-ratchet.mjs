// The size ratchet (docs/size.md): `.size-limit.json` holds a gzip and a brotli limit for every
// file in dist/ that ships, and for what a plain page and a page with segment definitions
// download. `npm test` runs size-limit against it (scripts/test.sh) and fails when any of
// them grew. After a change that wins bytes:
//
//   node scripts/size-ratchet.mjs --lower    # every limit down to today's size (never up)
//
// Raising a limit is done by hand, in a commit of its own, with the reason in docs/size.md.
// Without arguments it prints each check's size against its limit.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const CONFIG = '.size-limit.json';
const checks = JSON.parse(readFileSync(CONFIG, 'utf8'));
// size-limit exits 1 when a check fails; its JSON report is complete either way.
let out;
try {
  out = execFileSync('node_modules/.bin/size-limit', ['--json'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
} catch (err) {
  out = err.stdout;
}
const sizes = new Map(JSON.parse(out).map((r) => [r.name, r.size]));
const bytes = (limit) => Number(/^(\d+) B$/.exec(limit)?.[1]);
let lowered = 0;
for (const c of checks) {
  const size = sizes.get(c.name);
  const limit = bytes(c.limit);
  if (!Number.isFinite(size) || !Number.isFinite(limit))
    throw new Error(CONFIG + ': no size or limit in bytes for ' + c.name);
  const over = size > limit ? '  OVER' : '';
  console.log(`${c.name.padEnd(60)} ${String(size).padStart(7)} B of ${String(limit).padStart(7)} B${over}`);
  if (process.argv.includes('--lower') && size < limit) {
    c.limit = size + ' B';
    lowered++;
  }
}
if (lowered) {
  writeFileSync(CONFIG, JSON.stringify(checks, null, 2) + '\n');
  console.log(`lowered ${lowered} limit(s) in ${CONFIG}`);
}
