/**
 * Plugboard order → Revel `POST /specialresources/cart/submit/` (seed 004's
 * built-in transformer path). Revel authenticates with the
 * `API-AUTHENTICATION: <api key>:<api secret>` header; the establishment,
 * the base URL and the dining-option ids come from the outlet's Revel
 * install. Items carry the Revel product id in `sku` (or `posProductId`).
 * Revel answers HTTP 200 with {"status":"OK","result":{"order_id":…}} or
 * {"status":"ERROR","error":{…}}; Plugboard reads both.
 *
 * Contract (docs/scripts.md, order_dispatch): returns
 * {method, url, headers, body}; throws when the order cannot be expressed.
 *
 * @provider revel
 * @topic order_dispatch
 * @version 1.0.0
 */
function transform(input) {
  const order = input.order;
  const settings = (input.outlet && input.outlet.settings) || {};
  if (order === null || typeof order !== "object") {
    throw new TypeError("the order is not a JSON object");
  }
  for (const key of ["base_url", "api_key", "api_secret", "establishment_id"]) {
    if (settings[key] === undefined || settings[key] === "") {
      throw new TypeError("the outlet's Revel settings lack " + key);
    }
  }
  const diningOptions = {
    PICKUP: settings.pickup_dining_option,
    DELIVERY: settings.delivery_dining_option,
    EAT_IN: settings.eatin_dining_option,
  };
  const wanted = String(order.diningOption || "PICKUP").toUpperCase();
  const diningOption = diningOptions[wanted];
  if (diningOption === undefined) {
    throw new RangeError("no Revel dining option configured for " + wanted);
  }
  const items = order.items.map((item, i) => {
    const product = Number(item.posProductId !== undefined ? item.posProductId : item.sku);
    if (!Number.isInteger(product) || product <= 0) {
      throw new TypeError("item " + i + " has no Revel product id (sku or posProductId)");
    }
    return {
      product: product,
      quantity: item.quantity,
      price: Number(item.price),
      modifieritems: (item.modifiers || []).map((m) => ({
        modifier: Number(m.posModifierId !== undefined ? m.posModifierId : m.sku),
        qty: m.quantity || 1,
        modifier_price: Number(m.price || 0),
      })),
    };
  });
  const customer = order.customer || {};
  const base = String(settings.base_url).replace(/\/+$/, "");
  return {
    method: "POST",
    url: base + "/specialresources/cart/submit/",
    headers: {
      "API-AUTHENTICATION": settings.api_key + ":" + settings.api_secret,
    },
    body: {
      skin: "plugboard",
      establishmentId: Number(settings.establishment_id),
      items: items,
      orderInfo: {
        dining_option: diningOption,
        // Revel's own idempotency: the same transaction id is one order.
        transaction_id: "plugboard-" + order.id,
        customer: {
          first_name: customer.name || "Guest",
          phone: customer.phone || "",
          email: customer.email || "",
        },
        notes: order.notes || "",
      },
      paymentInfo: {
        type: 7,
        amount: Number(order.total),
        tip: 0,
        transaction_id: "plugboard-" + order.id,
      },
    },
  };
}
