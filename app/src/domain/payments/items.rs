//! Amounts as QRIS providers take them: whole units of the currency (IDR
//! has no cents in practice), and — Midtrans checks this — item lines that
//! add up exactly to the gross amount. Rounding each line can miss the
//! total by a few rupiah; the difference becomes one adjustment line.
use serde_json::Value;

use super::LineItem;
use crate::domain::inbound::canonical;

/// The id of the line that absorbs rounding differences.
pub const ADJUSTMENT_ID: &str = "rounding-adjustment";

/// Minor units → whole units, rounding half up.
pub fn whole_units(minor: i64, currency: &str) -> i64 {
    let exp = canonical::currency_exponent(currency).unwrap_or(2);
    let scale = 10i64.pow(exp);
    let half = scale / 2;
    if minor >= 0 {
        (minor + half) / scale
    } else {
        -((-minor + half) / scale)
    }
}

/// A line as sent: id, name, whole-unit price, quantity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WholeLine {
    pub id: String,
    pub name: String,
    pub price: i64,
    pub quantity: i64,
}

/// The charge's lines in whole units, with an adjustment line when the
/// rounded lines do not add up to `gross` exactly. Without lines the whole
/// amount is one line.
pub fn whole_lines(
    items: &[LineItem],
    currency: &str,
    gross: i64,
    fallback: &str,
) -> Vec<WholeLine> {
    let mut lines: Vec<WholeLine> = items
        .iter()
        .map(|i| WholeLine {
            id: clip(&i.id, 50),
            name: clip(&i.name, 50),
            price: whole_units(i.price_minor, currency),
            quantity: i.quantity,
        })
        .collect();
    if lines.is_empty() {
        lines.push(WholeLine {
            id: "order".into(),
            name: clip(fallback, 50),
            price: gross,
            quantity: 1,
        });
    }
    let sum: i64 = lines
        .iter()
        .map(|l| l.price.saturating_mul(l.quantity))
        .sum();
    if sum != gross {
        lines.push(WholeLine {
            id: ADJUSTMENT_ID.into(),
            name: "Rounding adjustment".into(),
            price: gross - sum,
            quantity: 1,
        });
    }
    lines
}

fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// The lines of an order as dispatched (`order.items[]` with `name`,
/// `quantity`, `price` and optional `id`/`sku`), in minor units. Lines the
/// order validation would refuse are skipped (the order was validated).
pub fn from_order(order: &Value, currency: &str) -> Vec<LineItem> {
    let Some(items) = order.get("items").and_then(Value::as_array) else {
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(n, item)| {
            let name = item.get("name").and_then(Value::as_str)?.to_string();
            let quantity = item.get("quantity").and_then(Value::as_i64)?;
            let price = match item.get("price")? {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.clone(),
                _ => return None,
            };
            let price_minor = canonical::price_minor(&price, currency).ok()?;
            let id = ["id", "sku"]
                .iter()
                .find_map(|k| match item.get(*k) {
                    Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                    Some(Value::Number(n)) => Some(n.to_string()),
                    _ => None,
                })
                .unwrap_or_else(|| format!("item-{}", n + 1));
            Some(LineItem {
                id,
                name,
                price_minor,
                quantity,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(price_minor: i64, quantity: i64) -> LineItem {
        LineItem {
            id: format!("i{price_minor}"),
            name: "Item".into(),
            price_minor,
            quantity,
        }
    }

    fn total(lines: &[WholeLine]) -> i64 {
        lines.iter().map(|l| l.price * l.quantity).sum()
    }

    #[test]
    fn whole_units_round_half_up() {
        assert_eq!(whole_units(2_500_000, "IDR"), 25_000);
        assert_eq!(whole_units(333_333, "IDR"), 3_333);
        assert_eq!(whole_units(333_350, "IDR"), 3_334);
        assert_eq!(whole_units(25_000, "JPY"), 25_000, "no minor unit");
    }

    #[test]
    fn lines_that_add_up_get_no_adjustment() {
        let lines = whole_lines(&[line(1_000_000, 2), line(500_000, 1)], "IDR", 25_000, "o");
        assert_eq!(lines.len(), 2);
        assert_eq!(total(&lines), 25_000);
    }

    #[test]
    fn rounded_lines_are_adjusted_to_the_gross_amount() {
        // 3 × 3,333.33 = 9,999.99, charged as 10,000.
        let lines = whole_lines(&[line(333_333, 3)], "IDR", 10_000, "o");
        assert_eq!(lines[0].price, 3_333);
        assert_eq!(lines.last().unwrap().id, ADJUSTMENT_ID);
        assert_eq!(lines.last().unwrap().price, 1);
        assert_eq!(total(&lines), 10_000);
    }

    #[test]
    fn a_discounted_total_gets_a_negative_adjustment() {
        // Items 12,500.50 × 2 = 25,001 rounded up per line to 12,501 × 2 =
        // 25,002; the order's total is 24,000 after a discount.
        let lines = whole_lines(&[line(1_250_050, 2)], "IDR", 24_000, "o");
        assert_eq!(lines.last().unwrap().price, -1_002);
        assert_eq!(total(&lines), 24_000);
    }

    #[test]
    fn no_items_means_one_line_for_the_whole_amount() {
        let lines = whole_lines(&[], "IDR", 15_000, "Order T-1");
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].name, "Order T-1");
        assert_eq!(total(&lines), 15_000);
    }

    #[test]
    fn order_items_are_read_in_minor_units() {
        let order = serde_json::json!({"items": [
            {"sku": "NG-1", "name": "Nasi goreng", "quantity": 2, "price": "12500.50"},
            {"name": "Es teh", "quantity": 1, "price": 5000}
        ]});
        let items = from_order(&order, "IDR");
        assert_eq!(items[0].id, "NG-1");
        assert_eq!(items[0].price_minor, 1_250_050);
        assert_eq!(items[1].id, "item-2");
        assert_eq!(items[1].price_minor, 500_000);
    }
}
