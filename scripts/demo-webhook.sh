#!/usr/bin/env bash
# Sends the demo restaurant POS's webhooks to a running Plugboard: a menu
# for the mapped Jakarta store (it appears in Locations → Catalog) and one
# for a store nobody mapped yet (it fails with a mapping error; fix and
# replay it in the support console).
#
#   scripts/demo-webhook.sh <signing secret printed at first start> [base URL]
set -euo pipefail
SECRET="${1:?usage: scripts/demo-webhook.sh <signing secret> [base URL]}"
BASE="${2:-http://127.0.0.1:3000}"
URL="$BASE/v1/integrations/pos/restopos/webhooks/menu"

send() {
  local body="$1" ts sig
  ts="$(date +%s)"
  sig="$(printf '%s' "$ts.$body" | openssl dgst -sha256 -hmac "$SECRET" -hex | sed 's/^.* //')"
  curl -sS -X POST "$URL" \
    -H "Content-Type: application/json" \
    -H "X-Restopos-Account: demo-restopos" \
    -H "X-Restopos-Timestamp: $ts" \
    -H "X-Restopos-Signature: $sig" \
    -H "X-Restopos-Event-Id: demo-$(date +%s%N)" \
    --data "$body"
  echo
}

send '{"store_id":"senopati-1","items":[{"sku":"NG-01","name":"Nasi goreng","category":"Mains","price":"35000","currency":"IDR"},{"sku":"ET-01","name":"Es teh manis","category":"Drinks","price":"8000","currency":"IDR"}]}'
send '{"store_id":"canggu-1","items":[{"sku":"SM-01","name":"Smoothie bowl","category":"Breakfast","price":"65000","currency":"IDR"}]}'
echo "Sent. Jakarta's items: $BASE/locations (Items →). The canggu-1 menu waits in $BASE/support."
