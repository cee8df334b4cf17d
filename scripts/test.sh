#!/usr/bin/env bash
# Runs every check Plugboard has: formatting, clippy (warnings denied) for the
# server and the wasm build, unit and integration tests (SQLite always,
# PostgreSQL when reachable), and the Playwright suite in Debian's Chromium.
# Installs whatever is missing first.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/setup.sh" --browser
export PATH="$HOME/.cargo/bin:$ROOT/.tools/node/node_modules/.bin:$PATH"

step() { printf '\n\033[1;32m==> %s\033[0m\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "clippy (server side, all targets)"
cargo clippy --workspace --exclude frontend --all-targets -- -D warnings

step "clippy (browser side, wasm32)"
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

step "engines: PostgreSQL, Redis, NATS (started when down)"
"$ROOT/scripts/engines.sh"

step "unit and integration tests"
# PostgreSQL tests use PLUGBOARD_TEST_POSTGRES_URL (default
# postgres://postgres@127.0.0.1:5432/postgres), NATS tests
# PLUGBOARD_TEST_NATS_URL (default nats://127.0.0.1:4222), S3 tests the s3s-fs
# that setup.sh installed in .tools/s3s; each skips, saying why, when its
# engine is unreachable.
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --exclude frontend
else
  cargo test --workspace --exclude frontend
fi

step "build the site (cargo leptos build)"
cargo leptos build

step "Playwright end-to-end tests"
mkdir -p end2end/artifacts
(cd end2end && npx playwright test)

step "all checks passed"
