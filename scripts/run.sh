#!/usr/bin/env bash
# Builds Plugboard (release) and starts it on the embedded default: SQLite and
# local folders under ./data, demo data on first start.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/setup.sh"
export PATH="$HOME/.cargo/bin:$ROOT/.tools/node/node_modules/.bin:$PATH"

cargo leptos build --release

export PLUGBOARD_ADDR="${PLUGBOARD_ADDR:-127.0.0.1:3000}"
export PLUGBOARD_SITE_ROOT="${PLUGBOARD_SITE_ROOT:-$ROOT/target/site}"
cat <<MSG

  Plugboard is starting on http://$PLUGBOARD_ADDR
  Demo sign-in: demo@plugboard.local / plugboard-demo
  Data lives in ${PLUGBOARD_DATA_DIR:-$ROOT/data}; Ctrl-C stops.

MSG
exec "$ROOT/target/release/plugboard" serve
