#!/usr/bin/env bash
# Builds dist/: the crate four times for wasm32 with different features (size-tuned,
# build-std, immediate-abort) → wasm-bindgen (web target) → wasm-opt -Oz, then the JS bundles:
# - web-core     → dist/sieve_bg.wasm           (AnalyticsWasm: what loads before the first event)
# - web-segments → dist/sieve_segments_bg.wasm  (SegmentsWasm: loaded lazily, only with
#   definitions; it loads compiled definitions, without the parser)
# - web-segments,segments-parser → dist/sieve_segments_full_bg.wasm (the same with the
#   definitions parser: loaded instead when definitions arrive as JSON, and to compile JSON
#   definitions given later to a page that started with compiled ones; one glue for both)
# - web-destinations → dist/sieve_destinations_bg.wasm (DestinationsWasm: loaded lazily, only
#   when the settings name device-mode destinations, without the routing-rules evaluator)
# - web-destinations,destinations-rules → dist/sieve_destinations_rules_bg.wasm (the same with
#   routing rules: loaded instead when the settings have them; one glue for both)
#
#   bash scripts/build.sh          dist/
#   bash scripts/build.sh --demo   dist/, and the demo's segment engine with the demo-only clock
#                                  (time travel) in target/demo/ (scripts/serve.mjs serves it to
#                                  the demo in place of dist/'s; never shipped). `npm start` and
#                                  `npm test` build it.
#
# Every step is skipped when its inputs did not change (`step` below); the warm build takes
# about a second. Assumes scripts/setup.sh ran (it picks the toolchain and writes
# target/toolchain.env).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
source target/toolchain.env
DEMO=0
for arg in "$@"; do
  case "$arg" in
    --demo) DEMO=1 ;;
    *) echo "usage: bash scripts/build.sh [--demo]" >&2; exit 2 ;;
  esac
done

log() { printf '[build] %s\n' "$*" >&2; }

# --- incremental steps: the only caching logic of the build ------------------------------
# step NAME "OUTPUTS" "INPUTS" COMMAND...: runs COMMAND unless target/stamps/NAME holds the
# hash of everything it depends on and every OUTPUT exists. The hash covers the INPUTS
# (files; directories are walked), the command line, this script's shell functions as bash
# prints them (without comments: an edited flag rebuilds, an edited comment does not) and
# the tool versions ($TOOLS). A failed step leaves no stamp, so it runs again next time.
STAMPS=target/stamps
mkdir -p "$STAMPS" target/pkg dist
TOOLS="$("${RUSTC:-rustc}" -vV; "$SIEVE_CARGO" -V; wasm-bindgen --version; echo "$SIEVE_LINKER_FLAG"
  cat node_modules/binaryen/package.json node_modules/esbuild/package.json | grep '"version"')"
hash_inputs() {
  # Paths and contents of every file under the inputs, in a stable order.
  find "$@" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
}
step() {
  local name=$1 outputs=$2 inputs=$3
  shift 3
  local key out missing=0
  # shellcheck disable=SC2086
  key="$({ printf '%s\n' "$*" "$TOOLS"; declare -f; hash_inputs $inputs; } | sha256sum | cut -c1-64)"
  for out in $outputs; do [ -e "$out" ] || missing=1; done
  if [ "$missing" = 0 ] && [ -f "$STAMPS/$name" ] && [ "$(cat "$STAMPS/$name")" = "$key" ]; then
    log "$name: up to date"
    return
  fi
  rm -f "$STAMPS/$name"
  local started=$SECONDS
  log "$name: building…"
  "$@"
  echo "$key" >"$STAMPS/$name"
  log "$name: done in $((SECONDS - started)) s"
}

# --- the steps ----------------------------------------------------------------------------
WASM=target/wasm32-unknown-unknown/release/sieve.wasm
RUST_INPUTS="src Cargo.toml Cargo.lock target/toolchain.env"

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

# cargo_wasm FEATURES OUT: builds the crate with only those features, copied to OUT (the
# builds share one target dir and $WASM).
# -inline-threshold=12 (an LLVM knob, measured on the script-tag wasm against no override):
# -175 B gzip at 12 and 14 (10: -43; on earlier trees 16: -82, 25: -23, 50: +1.1 KB); the
# segments wasm -98 B gzip. Both builds share the flags, so they share one build of std.
cargo_wasm() {
  RUSTC_BOOTSTRAP=1 \
  RUSTFLAGS="${SIEVE_LINKER_FLAG:-} -Zunstable-options -Cpanic=immediate-abort -Zfmt-debug=none -Zlocation-detail=none -Cllvm-args=-inline-threshold=12 $WASM_FEATURES" \
  "$SIEVE_CARGO" build --release --target wasm32-unknown-unknown -p sieve --lib --no-default-features --features "$1" \
    -Z build-std=std,panic_abort -Z build-std-features=optimize_for_size
  cp "$WASM" "$2"
}

# wasm_opt IN OUT [PASSES]: binaryen's wasm-opt (PASSES, default -Oz) with the features the
# wasm uses.
wasm_opt() {
  # shellcheck disable=SC2086
  node_modules/.bin/wasm-opt ${3:--Oz} --strip-debug --strip-producers --strip-target-features $WASM_OPT_FEATURES \
    "$1" -o "$2"
}

# bindgen_opt INPUT NAME PKG OUTDIR [PASSES]: wasm-bindgen to PKG/NAME.js (the segments glue
# goes to its own folder: both crates' inline_js snippets are numbered from 0 in the same
# crate-named folder, so two runs must not share one), then wasm_opt to OUTDIR/NAME_bg.wasm.
bindgen_opt() {
  rm -rf "$3/snippets"
  wasm-bindgen --target web --out-dir "$3" --out-name "$2" "$1"
  wasm_opt "$3/$2_bg.wasm" "$4/$2_bg.wasm" "${5:-}"
}

# Both get extra passes (measured on the script-tag wasm: -1.6 % gzip, ~1 min more build).
# --low-memory-unused is sound here: rust-lld puts the stack first, so addresses < 1024 are
# only reached by a 1 MB stack overflow; it lets binaryen fold constant adds into offsets.
# --one-caller-inline-max-function-size (binaryen's default inlines every function that has
# one caller, whatever its size): measured 2026-12-01, the core wasm -330 B gzip at 20 and
# the segments wasm -4.3 KB at 10 (flatten pipeline, against the default). The exports stop
# being 6-11 KB functions that V8 compiled with TurboFan for 24-32 ms each in the background
# while a burst of calls ran in its baseline tier.
# `core::host`'s functions are linked by name, which also exports them (as the engine's
# `sieve_host_*` below): the exports are removed (JS never calls them).
CORE_PASSES="--remove-exports --pass-arg remove-exports@sieve_host_parse,sieve_host_number --one-caller-inline-max-function-size 20 --low-memory-unused --flatten --rereloop -Oz -Oz"
# The engine's `sieve_host_*` functions (case mapping, regular expressions) are linked by
# name (see src/segments/case.rs, regex.rs), which also exports them: the exports are
# removed here (JS never calls them).
SEG_UNEXPORT="--remove-exports --pass-arg remove-exports@sieve_host_*"
SEG_PASSES="$SEG_UNEXPORT --one-caller-inline-max-function-size 10 --low-memory-unused --flatten --rereloop -Oz -Oz"
# Its `sieve_host_lower`, `sieve_host_js_number` and `sieve_host_js_string` are linked by name
# the same way (src/destinations/js.rs).
DEST_PASSES="--remove-exports --pass-arg remove-exports@sieve_host_* --one-caller-inline-max-function-size 10 --low-memory-unused --flatten --rereloop -Oz -Oz"

# segments_opt: both engine wasms, the full one first under the same out-name (wasm-bindgen
# names the wasm's import module after it): js/segments.js instantiates either wasm with the
# one glue, so their glue must be identical (same exports, same imports).
segments_opt() {
  mkdir -p target/full
  bindgen_opt target/sieve-segments-full.wasm sieve_segments target/full target/full "$SEG_PASSES"
  mv target/full/sieve_segments_bg.wasm dist/sieve_segments_full_bg.wasm
  bindgen_opt target/sieve-segments.wasm sieve_segments target/pkg/segments dist "$SEG_PASSES"
  if ! cmp -s target/pkg/segments/sieve_segments.js target/full/sieve_segments.js; then
    echo "build.sh: the segments engine wasm and the full one need the same glue (same #[wasm_bindgen] items)" >&2
    exit 1
  fi
}

# destinations_opt: both destinations wasms. The rules build's glue serves both (the page
# instantiates one or the other): the smaller wasm imports a subset of it (no Math.random,
# which only the rules' sampling draws), checked here.
destinations_opt() {
  mkdir -p target/destinations-rules
  bindgen_opt target/sieve-destinations-rules.wasm sieve_destinations target/destinations-rules target/destinations-rules "$DEST_PASSES"
  mv target/destinations-rules/sieve_destinations_bg.wasm dist/sieve_destinations_rules_bg.wasm
  bindgen_opt target/sieve-destinations.wasm sieve_destinations target/pkg/destinations dist "$DEST_PASSES"
  rm -rf target/pkg/destinations/snippets
  cp -r target/destinations-rules/sieve_destinations.js target/destinations-rules/snippets target/pkg/destinations/
  node -e '
    const fs = require("fs");
    const names = (f) => WebAssembly.Module.imports(new WebAssembly.Module(fs.readFileSync(f))).map((i) => i.module + " " + i.name);
    const full = new Set(names("dist/sieve_destinations_rules_bg.wasm"));
    const extra = names("dist/sieve_destinations_bg.wasm").filter((n) => !full.has(n));
    if (extra.length) { console.error("build.sh: the destinations wasm imports what the rules glue lacks:", extra); process.exit(1); }
    const ex = (f) => WebAssembly.Module.exports(new WebAssembly.Module(fs.readFileSync(f))).map((e) => e.name).sort().join();
    if (ex("dist/sieve_destinations_bg.wasm") !== ex("dist/sieve_destinations_rules_bg.wasm")) { console.error("build.sh: the two destinations wasms export different things"); process.exit(1); }'
}

# demo_engine PASSES: the demo's engine, the full segments build plus the `demo-clock`
# feature (it loads compiled definitions too), served under both engine names.
demo_engine() {
  mkdir -p target/demo
  cargo_wasm web-segments,segments-parser,demo-clock target/sieve-segments-demo.wasm
  bindgen_opt target/sieve-segments-demo.wasm sieve_segments target/demo/pkg target/demo "$1"
  cp target/demo/sieve_segments_bg.wasm target/demo/sieve_segments_full_bg.wasm
}

step core-wasm target/sieve-core.wasm "$RUST_INPUTS" cargo_wasm web-core target/sieve-core.wasm
step segments-wasm target/sieve-segments.wasm "$RUST_INPUTS" cargo_wasm web-segments target/sieve-segments.wasm
step segments-full-wasm target/sieve-segments-full.wasm "$RUST_INPUTS" \
  cargo_wasm web-segments,segments-parser target/sieve-segments-full.wasm
step destinations-wasm target/sieve-destinations.wasm "$RUST_INPUTS" \
  cargo_wasm web-destinations target/sieve-destinations.wasm
step destinations-rules-wasm target/sieve-destinations-rules.wasm "$RUST_INPUTS" \
  cargo_wasm web-destinations,destinations-rules target/sieve-destinations-rules.wasm
step core-opt "dist/sieve_bg.wasm target/pkg/sieve.js" target/sieve-core.wasm \
  bindgen_opt target/sieve-core.wasm sieve target/pkg dist "$CORE_PASSES"
step segments-opt "dist/sieve_segments_bg.wasm dist/sieve_segments_full_bg.wasm target/pkg/segments/sieve_segments.js" \
  "target/sieve-segments.wasm target/sieve-segments-full.wasm" segments_opt
step destinations-opt "dist/sieve_destinations_bg.wasm dist/sieve_destinations_rules_bg.wasm target/pkg/destinations/sieve_destinations.js" \
  "target/sieve-destinations.wasm target/sieve-destinations-rules.wasm" destinations_opt
step bundle "dist/analytics.min.js dist/index.js dist/index.d.ts dist/segments.js dist/segments-compile.js dist/destinations.js dist/unavailable.js dist/react.js" \
  "js scripts/bundle.mjs target/pkg node_modules/@segment/facade/package.json" node scripts/bundle.mjs

if [ "$DEMO" = 1 ]; then
  step demo-engine "target/demo/sieve_segments_bg.wasm target/demo/sieve_segments_full_bg.wasm target/demo/pkg/sieve_segments.js" \
    "$RUST_INPUTS" demo_engine "$SEG_UNEXPORT -Oz"
  step demo-bundle "target/demo/segments.js target/demo/segments-compile.js" "js scripts/bundle.mjs target/demo/pkg" \
    node scripts/bundle.mjs --demo
fi
