#!/usr/bin/env bash
# Installs what building and testing need, idempotently (fast when all is there):
#   - a Rust toolchain that can build std for wasm32 (rustup's target + rust-src when rustup's
#     host answers within a short timeout; else Debian's rustc-web/cargo-web/rust-web-src
#     with rustup's rust-lld, see ../shared/notes/wasm-toolchain.md);
#   - wasm-bindgen-cli at exactly the version pinned in Cargo.toml;
#   - npm devDependencies (binaryen's wasm-opt, esbuild, playwright-core, puppeteer-core,
#     selenium-webdriver, peers for bench);
#   - the browser engines, from Debian only (never a browser download): chromium +
#     chromium-driver, firefox-esr (driven over WebDriver BiDi by puppeteer-core), WebKitGTK's
#     webkit2gtk-driver under Xvfb (xvfb, xauth), and an en_US.UTF-8 locale compiled into
#     target/locale for WebKit (under C.UTF-8 it reports navigator.language "C").
#   - with --consumer (npm test): tests/consumer's npm packages (Vite, webpack, esbuild,
#     React, TypeScript), which the consumer tests build the packed tarball with;
# Writes target/toolchain.env for scripts/build.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p target
CONSUMER=0
for arg in "$@"; do
  case "$arg" in
    --consumer) CONSUMER=1 ;;
    *) echo "usage: bash scripts/setup.sh [--consumer]" >&2; exit 2 ;;
  esac
done

log() { printf '[setup] %s\n' "$*" >&2; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    apt_updated=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- Rust for wasm32 -------------------------------------------------------------------
host_sysroot="$(rustc --print sysroot)"
lld="$host_sysroot/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld"
have_rustup_wasm() {
  [ -d "$host_sysroot/lib/rustlib/wasm32-unknown-unknown" ] && [ -d "$host_sysroot/lib/rustlib/src/rust/library" ]
}
if ! have_rustup_wasm && command -v rustup >/dev/null; then
  log "trying rustup target add wasm32-unknown-unknown + rust-src (60 s timeout)"
  timeout 60 rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
  timeout 60 rustup component add rust-src >/dev/null 2>&1 || true
fi
if have_rustup_wasm; then
  cat > target/toolchain.env <<ENV
export SIEVE_CARGO=cargo
export SIEVE_LINKER_FLAG=""
ENV
else
  log "rustup's wasm32 target is unreachable: using Debian's rustc-web with -Z build-std"
  if [ ! -x /usr/bin/rustc ] || [ ! -d /usr/lib/rustlib/src/rust/library ]; then
    apt_install rustc-web cargo-web rust-web-src
  fi
  cat > target/toolchain.env <<ENV
export SIEVE_CARGO=/usr/bin/cargo
export RUSTC=/usr/bin/rustc
export RUSTDOC=/usr/bin/rustdoc
export SIEVE_LINKER_FLAG="-C linker=$lld"
ENV
fi

# --- wasm-bindgen CLI, pinned to the crate version ------------------------------------
want_wb="$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml)"
have_wb="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have_wb" != "$want_wb" ]; then
  log "cargo install wasm-bindgen-cli $want_wb (a few minutes, once)"
  # No --locked: its lock file names a crate version this registry does not serve.
  cargo install --quiet wasm-bindgen-cli --version "$want_wb" --force
fi

# --- npm packages -------------------------------------------------------------------------
# npm_ci DIR WHAT: `npm ci` in DIR unless its node_modules is newer than package.json and the
# lock file (a stamp; npm's own cache makes a re-install fast).
npm_ci() {
  local stamp=$1/node_modules/.sieve-installed
  if [ ! -f "$stamp" ] || [ "$1/package.json" -nt "$stamp" ] || [ "$1/package-lock.json" -nt "$stamp" ]; then
    log "npm ci in $1 ($2)"
    (cd "$1" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$stamp"
  fi
}
npm_ci . "devDependencies: esbuild, binaryen, browser drivers, linters, size-limit, peers for the bench"
if [ "$CONSUMER" = 1 ]; then
  npm_ci tests/consumer "Vite, webpack, esbuild, React, TypeScript for the consumer tests"
fi

# --- Browser engines for the browser tests (tests/e2e/engines.mjs) and the bench ---------
missing=()
command -v chromium >/dev/null && command -v chromedriver >/dev/null || missing+=(chromium chromium-driver)
command -v firefox-esr >/dev/null || missing+=(firefox-esr)
command -v WebKitWebDriver >/dev/null || missing+=(webkit2gtk-driver)
command -v Xvfb >/dev/null || missing+=(xvfb)
command -v xauth >/dev/null || missing+=(xauth)
[ -f /usr/share/i18n/locales/en_US ] || missing+=(locales)
if [ "${#missing[@]}" -gt 0 ]; then
  log "browser engines: installing ${missing[*]} (a minute or two, once)"
  apt_install "${missing[@]}"
fi
if [ ! -f target/locale/en_US.UTF-8/LC_CTYPE ]; then
  log "compiling the en_US.UTF-8 locale into target/locale (for WebKit's navigator.language)"
  mkdir -p target/locale
  localedef -i en_US -f UTF-8 target/locale/en_US.UTF-8 >/dev/null 2>&1 || true
fi
exit 0
