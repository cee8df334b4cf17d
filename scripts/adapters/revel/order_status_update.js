/**
 * Revel `order.finalized` webhook → a Plugboard status update (seed 002).
 * Revel fires order.finalized for every closed order at the establishment,
 * including dine-in orders that never came through Plugboard; the outlet's
 * dining-option ids tell them apart, and other orders are skipped. The
 * Revel order id is the `externalOrderId` Plugboard stored when it
 * dispatched the order (posOrderId).
 *
 * Contract (docs/scripts.md, order_status_update): returns
 * {status, posOrderId, timestamp} or the skip sentinel {skip: true, reason};
 * throws on a malformed payload (the vendor gets a 5xx and retries).
 *
 * @provider revel
 * @topic order_status_update
 * @version 1.0.0
 */
function transform(input) {
  const payload = input.payload;
  const settings = (input.outlet && input.outlet.settings) || {};
  if (payload === null || typeof payload !== "object") {
    throw new TypeError("the payload is not a JSON object");
  }
  const order = payload.order && typeof payload.order === "object" ? payload.order : payload;
  if (order.id === undefined || order.id === null) {
    throw new TypeError("the order has no id");
  }
  const ours = [
    settings.pickup_dining_option,
    settings.delivery_dining_option,
    settings.eatin_dining_option,
  ].filter((d) => d !== undefined && d !== null);
  if (ours.length === 0) {
    throw new RangeError("no dining option ids configured for this outlet");
  }
  const dining = Number(order.dining_option);
  if (!ours.some((d) => Number(d) === dining)) {
    return { skip: true, reason: "non-Plugboard dining option " + order.dining_option };
  }
  return {
    status: "COMPLETED",
    posOrderId: String(order.id),
    timestamp: order.updated_date || order.closed_date || null,
  };
}
