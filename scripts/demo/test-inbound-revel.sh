#!/usr/bin/env bash
# Smoke test of Revel's order-status webhook against a running Plugboard
# (docs/orders.md, "Revel route"): posts Revel-shaped order.finalized bodies,
# signed with HMAC-SHA1 like Revel signs them, to
# POST /api/v1/inbound/revel/order-status and checks each answer.
#
#   SECRET=<the outlet's webhook_secret> ESTABLISHMENT_ID=<its establishment_id> \
#   DINING_OPTION=<one of its pickup/delivery/eatin dining-option ids> \
#   POS_ORDER_ID=<externalOrderId of an order dispatched to Revel> \
#   scripts/demo/test-inbound-revel.sh happy|skip|not-found|bad-sig|missing-event|all
#
# Optional: BASE (default http://127.0.0.1:3000), SKIP_DINING_OPTION (a dining
# option the outlet does not use, default 987654321), UNKNOWN_POS_ORDER_ID (a
# Revel order id Plugboard never dispatched, default 999999999).
# Get a POS_ORDER_ID with: scripts/demo/test-order-dispatch.sh transformer <outletId> revel
set -uo pipefail

BASE="${BASE:-http://127.0.0.1:3000}"
URL="$BASE/api/v1/inbound/revel/order-status"
SKIP_DINING_OPTION="${SKIP_DINING_OPTION:-987654321}"
UNKNOWN_POS_ORDER_ID="${UNKNOWN_POS_ORDER_ID:-999999999}"
FAILURES=0
BODY_FILE="$(mktemp)"
trap 'rm -f "$BODY_FILE"' EXIT

usage() {
  echo "usage: $0 happy|skip|not-found|bad-sig|missing-event|all" >&2
  echo "env: SECRET, ESTABLISHMENT_ID, DINING_OPTION, POS_ORDER_ID (happy), BASE" >&2
  exit 2
}

need() {
  local name
  for name in "$@"; do
    if [ -z "${!name:-}" ]; then
      echo "missing environment variable $name" >&2
      usage
    fi
  done
}

# A JSON value: bare when it is a number, quoted otherwise.
json_value() {
  if [[ "$1" =~ ^[0-9]+$ ]]; then printf '%s' "$1"; else printf '"%s"' "$1"; fi
}

# Revel's order.finalized body for one order id and dining option.
finalized_body() {
  printf '{"id":%s,"dining_option":%s,"updated_date":"%s"}' \
    "$(json_value "$1")" "$(json_value "$2")" "$(date -u +%Y-%m-%dT%H:%M:%S)"
}

# Hex HMAC-SHA1 of the body, as Revel sends it in X-Revel-Signature.
sign() {
  printf '%s' "$2" | openssl dgst -sha1 -hmac "$1" | awk '{print $NF}'
}

# post <event type or "-" for none> <signature> <body>: sets CODE and RESPONSE.
post() {
  local event="$1" signature="$2" body="$3"
  local args=(-sS -o "$BODY_FILE" -w '%{http_code}' -X POST "$URL"
    -H "Content-Type: application/json"
    -H "X-Revel-Establishment-Id: $ESTABLISHMENT_ID"
    -H "X-Revel-Signature: $signature"
    --data-binary "$body")
  if [ "$event" != "-" ]; then
    args+=(-H "X-Revel-Event-Type: $event")
  fi
  CODE="$(curl "${args[@]}")" || CODE="000"
  RESPONSE="$(cat "$BODY_FILE" 2>/dev/null)"
}

pass() { echo "✔ PASS $1 — HTTP $CODE$2"; }
fail() {
  echo "✘ FAIL $1 — HTTP $CODE, expected $2; answer: ${RESPONSE:-<none>}"
  FAILURES=$((FAILURES + 1))
}

# The value of a top-level string field of the (compact) JSON answer.
field() {
  printf '%s' "$RESPONSE" | sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"
}

happy() {
  need SECRET ESTABLISHMENT_ID DINING_OPTION POS_ORDER_ID
  local body name="happy path"
  body="$(finalized_body "$POS_ORDER_ID" "$DINING_OPTION")"
  post order.finalized "$(sign "$SECRET" "$body")" "$body"
  if [ "$CODE" = 200 ] && [ "$(field currentStatus)" = COMPLETED ]; then
    pass "$name" ", prev=$(field previousStatus), current=$(field currentStatus)"
  else
    fail "$name" "200 with currentStatus COMPLETED"
  fi
}

skip() {
  need SECRET ESTABLISHMENT_ID DINING_OPTION
  local body name="skip non-Plugboard dining option"
  if [ "$SKIP_DINING_OPTION" = "$DINING_OPTION" ]; then
    echo "SKIP_DINING_OPTION must differ from DINING_OPTION" >&2
    exit 2
  fi
  body="$(finalized_body "$POS_ORDER_ID_OR_ANY" "$SKIP_DINING_OPTION")"
  post order.finalized "$(sign "$SECRET" "$body")" "$body"
  if [ "$CODE" = 200 ] && [ "$(field status)" = skipped ]; then
    pass "$name" " ack with skip reason"
  else
    fail "$name" "200 with status skipped"
  fi
}

not_found() {
  need SECRET ESTABLISHMENT_ID DINING_OPTION
  local body name="unknown order silent ack"
  body="$(finalized_body "$UNKNOWN_POS_ORDER_ID" "$DINING_OPTION")"
  post order.finalized "$(sign "$SECRET" "$body")" "$body"
  if [ "$CODE" = 200 ] && [ "$(field status)" = ignored ]; then
    pass "$name" " ack — vendors don't retry"
  else
    fail "$name" "200 with status ignored"
  fi
}

bad_sig() {
  need SECRET ESTABLISHMENT_ID DINING_OPTION
  local body name="bad signature rejected"
  body="$(finalized_body "$POS_ORDER_ID_OR_ANY" "$DINING_OPTION")"
  post order.finalized "$(sign "not-$SECRET" "$body")" "$body"
  if [ "$CODE" = 401 ]; then pass "$name" ""; else fail "$name" 401; fi
}

missing_event() {
  need SECRET ESTABLISHMENT_ID DINING_OPTION
  local body
  body="$(finalized_body "$POS_ORDER_ID_OR_ANY" "$DINING_OPTION")"
  post - "$(sign "$SECRET" "$body")" "$body"
  if [ "$CODE" = 400 ]; then pass "missing event type rejected" ""; else fail "missing event type rejected" 400; fi
  post order.created "$(sign "$SECRET" "$body")" "$body"
  if [ "$CODE" = 400 ]; then pass "wrong event type rejected" ""; else fail "wrong event type rejected" 400; fi
}

# Scenarios that do not need a real order use POS_ORDER_ID when set.
POS_ORDER_ID_OR_ANY="${POS_ORDER_ID:-$UNKNOWN_POS_ORDER_ID}"

command -v openssl >/dev/null || { echo "openssl is required" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is required" >&2; exit 2; }

case "${1:-}" in
  happy) happy ;;
  skip) skip ;;
  not-found) not_found ;;
  bad-sig) bad_sig ;;
  missing-event) missing_event ;;
  all)
    happy
    skip
    not_found
    bad_sig
    missing_event
    ;;
  *) usage ;;
esac

if [ "$FAILURES" -gt 0 ]; then
  echo "$FAILURES check(s) failed" >&2
  exit 1
fi
