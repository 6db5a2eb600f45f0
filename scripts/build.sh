#!/usr/bin/env bash
# Builds dist/: the wasm (size-tuned, build-std, immediate-abort) → wasm-bindgen (web target)
# → wasm-opt -Oz, then the script-tag bundle (IIFE) and the ESM entry with esbuild.
# Assumes scripts/setup.sh ran (it picks the toolchain and writes target/toolchain.env).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
source target/toolchain.env

export RUSTC_BOOTSTRAP=1
export RUSTFLAGS="${SIEVE_LINKER_FLAG:-} -Zunstable-options -Cpanic=immediate-abort -Zfmt-debug=none -Zlocation-detail=none"
"$SIEVE_CARGO" build --quiet --release --target wasm32-unknown-unknown -p sieve --no-default-features \
  -Z build-std=std,panic_abort -Z build-std-features=optimize_for_size
unset RUSTFLAGS RUSTC_BOOTSTRAP

mkdir -p target/pkg dist
wasm-bindgen --target web --out-dir target/pkg --out-name sieve \
  target/wasm32-unknown-unknown/release/sieve.wasm
node_modules/.bin/wasm-opt -Oz --strip-debug --strip-producers --strip-target-features \
  --enable-bulk-memory --enable-reference-types --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals --enable-multivalue \
  target/pkg/sieve_bg.wasm -o dist/sieve_bg.wasm

node scripts/bundle.mjs
