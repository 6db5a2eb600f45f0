#!/usr/bin/env bash
# Every test: formatters and linters (scripts/lint.sh), the native Rust suites (core, segment
# engine, collector), then the browser suites against dist/ and the real collector, each in
# the engines it opts into (Chromium, Firefox ESR, WebKitGTK: tests/e2e/engines.mjs).
# Assumes setup + build ran.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/lint.sh
cargo build --quiet --release -p sieve-collector
cargo test --workspace --quiet
node --test --test-concurrency=1 tests/e2e/
