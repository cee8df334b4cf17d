#!/usr/bin/env bash
# Installs whatever this machine lacks to build, run and test Plugboard.
# Idempotent: every step checks first. Sourced by scripts/run.sh and
# scripts/test.sh; `scripts/setup.sh --browser` also installs Chromium and the
# Playwright packages.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
CARGO_LEPTOS_VERSION="0.3.10"
BINARYEN_VERSION="132.0.0"
S3S_FS_VERSION="0.14.1"
export PATH="$HOME/.cargo/bin:$TOOLS/node/node_modules/.bin:$PATH"

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

need_apt_update=1
apt_install() {
  if [ "$need_apt_update" = 1 ]; then
    say "apt-get update"
    apt-get update -qq
    need_apt_update=0
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Rust: the wasm target and the lint/format components.
if ! rustup target list --installed | grep -q '^wasm32-unknown-unknown$'; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    rustup component add "$component"
  fi
done

# cargo-leptos, pinned: newer releases need a newer rustc than this machine has.
if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 12 minutes on 2 cores)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
fi

# wasm-bindgen CLI: must equal the wasm-bindgen crate in Cargo.lock.
WB_VERSION="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/, ""); print; exit}' "$ROOT/Cargo.lock")"
if [ -z "$WB_VERSION" ]; then
  echo "cannot find wasm-bindgen in Cargo.lock" >&2
  exit 1
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q "$WB_VERSION"; then
  say "installing wasm-bindgen-cli $WB_VERSION"
  # --locked fails here: a pinned transitive version is missing from the registry.
  cargo install wasm-bindgen-cli --version "$WB_VERSION" --force
fi

# wasm-opt for release builds: npm's binaryen (Debian's 108 breaks hydration).
if ! "$TOOLS/node/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -q "${BINARYEN_VERSION%%.*}"; then
  say "installing wasm-opt (npm binaryen $BINARYEN_VERSION)"
  mkdir -p "$TOOLS/node"
  (cd "$TOOLS/node" && { [ -f package.json ] || echo '{"private":true}' > package.json; } \
    && npm install --silent --no-audit --no-fund "binaryen@$BINARYEN_VERSION")
fi

if [ "${1:-}" = "--browser" ]; then
  if [ ! -x /usr/bin/chromium ]; then
    apt_install chromium
  fi
  # The load generator the benchmarks use.
  if ! command -v wrk >/dev/null 2>&1; then
    apt_install wrk
  fi
  # A real S3-protocol server for the object-storage tests and benchmarks
  # (payloads in S3, replicas): s3s-fs from crates.io, pinned to the newest
  # release that builds on this toolchain.
  if ! "$TOOLS/s3s/bin/s3s-fs" --version 2>/dev/null | grep -q "$S3S_FS_VERSION"; then
    say "installing s3s-fs $S3S_FS_VERSION (an S3-compatible server, a few minutes)"
    cargo install s3s-fs --version "$S3S_FS_VERSION" --features binary --locked --root "$TOOLS/s3s" \
      || cargo install s3s-fs --version "$S3S_FS_VERSION" --features binary --root "$TOOLS/s3s"
  fi
  if [ ! -d "$ROOT/end2end/node_modules/@playwright/test" ] || [ ! -d "$ROOT/end2end/node_modules/oidc-provider" ]; then
    say "installing Playwright (without its own browser) and oidc-provider"
    (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --silent --no-audit --no-fund)
  fi
fi
say "tools ready"
