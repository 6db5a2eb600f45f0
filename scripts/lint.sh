#!/usr/bin/env bash
# Formatters and linters (part of `npm test`; `npm run lint` alone): rustfmt and clippy
# (-D warnings) for both crates, natively and for the three wasm32 builds, Prettier and ESLint
# for the JS. Fails on the first finding. Assumes scripts/setup.sh ran.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[lint] %s\n' "$*" >&2; }

log "cargo fmt --check"
cargo fmt --all --check
log "cargo clippy (native, all targets)"
cargo clippy --quiet --workspace --all-targets -- -D warnings
# clippy for wasm32 needs rustup's wasm32 std; where setup fell back to Debian's compiler
# (rustup's download host unreachable), rustup's clippy cannot check that target.
if [ -d "$(rustc --print sysroot)/lib/rustlib/wasm32-unknown-unknown" ]; then
  for features in web-core web-segments web-segments,segments-parser,demo-clock web-destinations web-destinations,destinations-rules; do
    log "cargo clippy (wasm32, $features)"
    cargo clippy --quiet --target wasm32-unknown-unknown -p sieve --no-default-features --features "$features" -- -D warnings
  done
else
  log "skipped clippy for wasm32: rustup has no wasm32 target on this machine (Debian's compiler builds the wasm)"
fi
log "prettier --check"
node_modules/.bin/prettier --check --log-level warn js scripts tests/e2e tests/consumer bench www eslint.config.js
log "eslint"
node_modules/.bin/eslint .
