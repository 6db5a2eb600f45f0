#!/usr/bin/env bash
# Builds dist/: the crate three times for wasm32 with different features (size-tuned,
# build-std, immediate-abort) → wasm-bindgen (web target) → wasm-opt -Oz, then the JS bundles:
# - web-core     → dist/sieve_bg.wasm           (AnalyticsWasm: what loads before the first event)
# - web-segments → dist/sieve_segments_bg.wasm  (SegmentsWasm: loaded lazily, only with
#   definitions; it loads compiled definitions, without the parser)
# - web-segments,segments-parser → dist/sieve_segments_full_bg.wasm (the same with the
#   definitions parser: loaded instead when definitions arrive as JSON, and to compile JSON
#   definitions given later to a page that started with compiled ones; one glue for both)
# - web-destinations → dist/sieve_destinations_bg.wasm (DestinationsWasm: loaded lazily, only
#   when the settings name device-mode destinations)
# SIEVE_DEMO_CLOCK=1 adds the demo-only time-travel export to the segments wasm and writes it
# to target/demo/ instead of dist/ (scripts/serve.mjs serves it to the demo; never shipped).
# Assumes scripts/setup.sh ran (it picks the toolchain and writes target/toolchain.env).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
source target/toolchain.env

WASM=target/wasm32-unknown-unknown/release/sieve.wasm
mkdir -p target/pkg dist

# The wasm feature set (README "Browser support", docs/size.md): rustc's wasm32 default minus
# reference types, i.e. bulk memory, non-trapping float-to-int, sign extension, multivalue and
# mutable globals: Chrome 86, Firefox 79, Safari 15. Measured 2026-12-07 against the default
# (which adds reference types: Chrome 96, Safari 15.1): core wasm -515 B gzip, segments wasm
# -443 B, analytics.min.js +5 B (wasm-bindgen's JS heap instead of an externref table).
# Bulk memory and non-trapping float-to-int off as well (Safari 14.1, Firefox 78): core
# +1,058 B, segments +1,164 B against this set (memcpy/memset loops instead of memory.copy and
# memory.fill), for Safari 14.x only: kept on. Multivalue off: -32/-26 B, but
# wasm-bindgen's string returns change shape (scripts/bundle.mjs's glue edits): kept on.
# `call-indirect-overlong` is the encoding half of reference types (rustc warns that it does
# not know it; LLVM does). wasm-opt starts from MVP, so it refuses a module using more.
WASM_FEATURES="-Ctarget-feature=-reference-types,-call-indirect-overlong"
WASM_OPT_FEATURES="--mvp-features --enable-bulk-memory --enable-bulk-memory-opt --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals --enable-multivalue"

# cargo_wasm FEATURES: builds $WASM with only those features.
# -inline-threshold=12 (an LLVM knob, measured on the script-tag wasm against no override):
# -175 B gzip at 12 and 14 (10: -43; on earlier trees 16: -82, 25: -23, 50: +1.1 KB); the
# segments wasm -98 B gzip. Both builds share the flags, so they share one build of std.
cargo_wasm() {
  RUSTC_BOOTSTRAP=1 \
  RUSTFLAGS="${SIEVE_LINKER_FLAG:-} -Zunstable-options -Cpanic=immediate-abort -Zfmt-debug=none -Zlocation-detail=none -Cllvm-args=-inline-threshold=12 $WASM_FEATURES" \
  "$SIEVE_CARGO" build --quiet --release --target wasm32-unknown-unknown -p sieve --lib --no-default-features --features "$1" \
    -Z build-std=std,panic_abort -Z build-std-features=optimize_for_size
}

# bindgen_opt INPUT NAME OUTDIR [PASSES]: wasm-bindgen to target/pkg/NAME.js (the segments
# glue to target/pkg/segments/: both crates' inline_js snippets are numbered from 0 in the
# same crate-named folder, so the two runs must not share one), wasm-opt (PASSES, default
# -Oz) to OUTDIR/NAME_bg.wasm.
bindgen_opt() {
  local pkg=target/pkg
  case "$2" in
    sieve_segments) pkg=target/pkg/segments ;;
    sieve_destinations) pkg=target/pkg/destinations ;;
  esac
  rm -rf "$pkg/snippets"
  wasm-bindgen --target web --out-dir "$pkg" --out-name "$2" "$1"
  # shellcheck disable=SC2086
  node_modules/.bin/wasm-opt ${4:--Oz} --strip-debug --strip-producers --strip-target-features $WASM_OPT_FEATURES \
    "$pkg/$2_bg.wasm" -o "$3/$2_bg.wasm"
}

# The same target dir serves both builds: copy each artefact out before the next build.
cargo_wasm web-core
cp "$WASM" target/sieve-core.wasm
cargo_wasm web-segments
cp "$WASM" target/sieve-segments.wasm
cargo_wasm web-destinations
cp "$WASM" target/sieve-destinations.wasm
cargo_wasm web-segments,segments-parser
cp "$WASM" target/sieve-segments-full.wasm
# Both get extra passes (measured on the script-tag wasm: -1.6 % gzip, ~1 min more build).
# --low-memory-unused is sound here: rust-lld puts the stack first, so addresses < 1024 are
# only reached by a 1 MB stack overflow; it lets binaryen fold constant adds into offsets.
# --one-caller-inline-max-function-size (binaryen's default inlines every function that has
# one caller, whatever its size): measured 2026-12-01, the core wasm -330 B gzip at 20 and
# the segments wasm -4.3 KB at 10 (flatten pipeline, against the default). The exports stop
# being 6-11 KB functions that V8 compiled with TurboFan for 24-32 ms each in the background
# while a burst of calls ran in its baseline tier.
# `core::host`'s functions are linked by name, which also exports them (as the engine's
# `sieve_host_case` below): the exports are removed (JS never calls them).
bindgen_opt target/sieve-core.wasm sieve dist "--remove-exports --pass-arg remove-exports@sieve_host_parse,sieve_host_number --one-caller-inline-max-function-size 20 --low-memory-unused --flatten --rereloop -Oz -Oz"
# The engine's `sieve_host_*` functions (case mapping, regular expressions) are linked by
# name (see src/segments/case.rs, regex.rs), which also exports them: the exports are
# removed here (JS never calls them).
SEG_UNEXPORT="--remove-exports --pass-arg remove-exports@sieve_host_*"
SEG_PASSES="$SEG_UNEXPORT --one-caller-inline-max-function-size 10 --low-memory-unused --flatten --rereloop -Oz -Oz"
# The full engine first, under the same out-name (wasm-bindgen names the wasm's import module
# after it), kept aside: js/segments.js instantiates either wasm with the one glue, so their
# glue must be identical (same exports, same imports).
mkdir -p target/full
bindgen_opt target/sieve-segments-full.wasm sieve_segments target/full "$SEG_PASSES"
mv target/full/sieve_segments_bg.wasm dist/sieve_segments_full_bg.wasm
cp target/pkg/segments/sieve_segments.js target/full/sieve_segments.js
bindgen_opt target/sieve-segments.wasm sieve_segments dist "$SEG_PASSES"
if ! cmp -s target/pkg/segments/sieve_segments.js target/full/sieve_segments.js; then
  echo "build.sh: the segments engine wasm and the full one need the same glue (same #[wasm_bindgen] items)" >&2
  exit 1
fi
# Its `sieve_host_lower` is linked by name the same way (src/destinations/js.rs).
bindgen_opt target/sieve-destinations.wasm sieve_destinations dist "--remove-exports --pass-arg remove-exports@sieve_host_lower --one-caller-inline-max-function-size 10 --low-memory-unused --flatten --rereloop -Oz -Oz"

if [ "${SIEVE_DEMO_CLOCK:-}" = 1 ]; then
  # The full engine with the clock, under both names (it loads compiled definitions too).
  mkdir -p target/demo
  cargo_wasm web-segments,segments-parser,demo-clock
  cp "$WASM" target/sieve-segments-demo.wasm
  wasm-bindgen --target web --out-dir target/demo/pkg --out-name sieve_segments target/sieve-segments-demo.wasm
  # shellcheck disable=SC2086
  node_modules/.bin/wasm-opt $SEG_UNEXPORT -Oz --strip-debug --strip-producers --strip-target-features $WASM_OPT_FEATURES \
    target/demo/pkg/sieve_segments_bg.wasm -o target/demo/sieve_segments_bg.wasm
  cp target/demo/sieve_segments_bg.wasm target/demo/sieve_segments_full_bg.wasm
fi

node scripts/bundle.mjs
