#!/usr/bin/env bash
# Every test: formatters and linters (scripts/lint.sh), the size ratchet (size-limit against
# .size-limit.json: no shipped file may grow; see scripts/size-ratchet.mjs), the native Rust
# suites (core, segment engine, collector), then the browser suites against dist/ and the real
# collector, each in the engines it opts into (Chromium, Firefox ESR, WebKitGTK:
# tests/e2e/engines.mjs). Assumes setup + build ran.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/lint.sh
echo '[test] size ratchet (size-limit, .size-limit.json)'
node_modules/.bin/size-limit --silent
cargo build --quiet --release -p sieve-collector
cargo test --workspace --quiet
# A file that hangs (a browser driver that never answers) fails after 10 minutes instead of
# holding CI forever; the longest file (delivery) takes about 2.5 minutes here.
node --test --test-concurrency=1 --test-timeout=600000 tests/e2e/
