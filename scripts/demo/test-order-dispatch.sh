#!/usr/bin/env bash
# Dispatches a sample paid order through POST /api/v1/orders/dispatch of a
# running Plugboard (docs/orders.md) and prints the answer.
#
#   TOKEN=<merchant API token> scripts/demo/test-order-dispatch.sh webhook <outletId>
#   TOKEN=<merchant API token> scripts/demo/test-order-dispatch.sh transformer <outletId> revel
#
# webhook:     path 1, the signed order JSON to the outlet's registered endpoints.
# transformer: path 2, the provider's order_dispatch script straight to the POS.
#              The items' sku are the POS product ids (PRODUCT_ID, PRODUCT_ID_2).
# Optional: BASE (default http://127.0.0.1:3000), CURRENCY (default IDR),
# DINING (PICKUP, DELIVERY or EAT_IN; default PICKUP), PRODUCT_ID (default 101),
# PRODUCT_ID_2 (default 102). Each run uses a new order id (DEMO-<unix time>-<pid>).
# Create a token with: plugboard tokens create --email <owner e-mail>
set -euo pipefail

usage() {
  echo "usage: $0 webhook <outletId> | transformer <outletId> <provider>" >&2
  echo "env: TOKEN (merchant API token), BASE" >&2
  exit 2
}

BASE="${BASE:-http://127.0.0.1:3000}"
CURRENCY="${CURRENCY:-IDR}"
DINING="${DINING:-PICKUP}"
PRODUCT_ID="${PRODUCT_ID:-101}"
PRODUCT_ID_2="${PRODUCT_ID_2:-102}"
[ -n "${TOKEN:-}" ] || { echo "missing environment variable TOKEN" >&2; usage; }

MODE="${1:-}"
OUTLET="${2:-}"
[ -n "$OUTLET" ] || usage
case "$MODE" in
  webhook) EXTRA="" ;;
  transformer)
    PROVIDER="${3:-}"
    [ -n "$PROVIDER" ] || usage
    EXTRA=",\"builtInTransformer\":\"$PROVIDER\""
    ;;
  *) usage ;;
esac

ORDER_ID="DEMO-$(date +%s)-$$"
BODY=$(cat <<JSON
{"outletId":"$OUTLET","event":"order.paid","order":{"id":"$ORDER_ID","currency":"$CURRENCY","total":"75000","diningOption":"$DINING","guests":2,"items":[{"sku":"$PRODUCT_ID","name":"Nasi Goreng","quantity":2,"price":"25000"},{"sku":"$PRODUCT_ID_2","name":"Es Teh","quantity":1,"price":"25000"}],"customer":{"name":"Ayu","phone":"+6281234","email":"ayu@example.com"},"notes":"demo order"}$EXTRA}
JSON
)

echo "POST $BASE/api/v1/orders/dispatch ($MODE, order $ORDER_ID)"
OUT="$(mktemp)"
trap 'rm -f "$OUT"' EXIT
CODE="$(curl -sS -o "$OUT" -w '%{http_code}' -X POST "$BASE/api/v1/orders/dispatch" \
  -H "Authorization: Bearer $TOKEN" \
  -H "Content-Type: application/json" \
  --data-binary "$BODY")"
echo "HTTP $CODE"
if command -v python3 >/dev/null && python3 -m json.tool "$OUT" >/dev/null 2>&1; then
  python3 -m json.tool "$OUT"
else
  cat "$OUT"
  echo
fi
[ "$CODE" = 200 ] || exit 1
