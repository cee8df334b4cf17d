/**
 * Square `inventory.count.updated` → stock levels and availability.
 *
 * Square sends the counts of item variations at one location; the catalog
 * object id (the variation) is the SKU mapped to a Plugboard item, the
 * Square location id is the store mapped to a location. Only IN_STOCK
 * counts are stock on hand; other states (SOLD, WASTE, …) are movements
 * Square already netted into the IN_STOCK count.
 *
 * Contract (docs/scripts.md, inbound topics): returns {store, commands}
 * or the skip sentinel {skip: true, reason}; throws on a malformed payload.
 *
 * @provider square
 * @topic inventory
 * @version 1.0.0
 */
function transform(input) {
  const event = input.payload;
  if (event === null || typeof event !== "object") {
    throw new TypeError("the payload is not a JSON object");
  }
  if (event.type !== "inventory.count.updated") {
    return { skip: true, reason: "event type " + event.type + " carries no inventory counts" };
  }
  const object = event.data && event.data.object;
  const counts = object && object.inventory_counts;
  if (!Array.isArray(counts)) {
    throw new TypeError("data.object.inventory_counts is missing");
  }
  const onHand = counts.filter(
    (c) => c.state === "IN_STOCK" && c.catalog_object_type === "ITEM_VARIATION",
  );
  if (onHand.length === 0) {
    return { skip: true, reason: "no IN_STOCK item variation counts" };
  }
  const locations = Array.from(new Set(onHand.map((c) => c.location_id)));
  if (locations.length !== 1) {
    throw new RangeError("counts for " + locations.length + " locations in one event");
  }
  const commands = [];
  for (const c of onHand) {
    if (typeof c.catalog_object_id !== "string" || c.quantity === undefined) {
      throw new TypeError("a count without catalog_object_id or quantity");
    }
    commands.push({ type: "stock_level", sku: c.catalog_object_id, level: String(c.quantity) });
    commands.push({ type: "availability", sku: c.catalog_object_id, available: Number(c.quantity) > 0 });
  }
  return { store: locations[0], commands: commands };
}
