//! Canonical validation: prices in ISO 4217 currencies (to minor units),
//! numeric stock, known units. Pure functions; the processor calls them
//! after identity mapping and records a validation failure with the reason.

/// ISO 4217 codes Plugboard accepts, with their minor-unit exponent.
const CURRENCIES: &[(&str, u32)] = &[
    ("AED", 2),
    ("AUD", 2),
    ("BDT", 2),
    ("BHD", 3),
    ("BND", 2),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EGP", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KHR", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("LAK", 2),
    ("LKR", 2),
    ("MMK", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("NGN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("QAR", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TND", 3),
    ("TRY", 2),
    ("TWD", 2),
    ("UGX", 0),
    ("USD", 2),
    ("VND", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("ZAR", 2),
];

/// Units of measure stock and items may use.
pub const UNITS: &[&str] = &[
    "pcs", "portion", "kg", "g", "l", "ml", "box", "pack", "dozen", "bottle", "can",
];

/// The minor-unit exponent of an ISO 4217 code.
pub fn currency_exponent(code: &str) -> Option<u32> {
    CURRENCIES.iter().find(|(c, _)| *c == code).map(|(_, e)| *e)
}

/// A price such as `"25000"`, `"25000.50"` in `currency`, as minor units.
/// Minor units as a decimal in major units (`3500000`, IDR → `35000.00`).
pub fn format_minor(minor: i64, currency: &str) -> String {
    let exp = currency_exponent(currency).unwrap_or(2);
    if exp == 0 {
        return minor.to_string();
    }
    let scale = 10i64.pow(exp);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        abs / scale as u64,
        abs % scale as u64,
        width = exp as usize
    )
}

pub fn price_minor(price: &str, currency: &str) -> Result<i64, String> {
    let exponent = currency_exponent(currency)
        .ok_or_else(|| format!("currency {currency:?} is not an ISO 4217 code Plugboard knows"))?;
    let price = price.trim();
    let (whole, frac) = price.split_once('.').unwrap_or((price, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !(frac.is_empty() || digits(frac)) {
        return Err(format!(
            "price {price:?} is not a non-negative decimal number"
        ));
    }
    if frac.len() as u32 > exponent {
        return Err(format!(
            "price {price:?} has more decimals than {currency} allows ({exponent})"
        ));
    }
    let whole: i64 = whole
        .parse()
        .map_err(|_| format!("price {price:?} is too large"))?;
    let mut frac_value: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().unwrap_or(0)
    };
    for _ in frac.len() as u32..exponent {
        frac_value *= 10;
    }
    whole
        .checked_mul(10i64.pow(exponent))
        .and_then(|w| w.checked_add(frac_value))
        .filter(|v| *v <= 1_000_000_000_000_000)
        .ok_or_else(|| format!("price {price:?} is too large"))
}

/// A stock quantity or delta (`"12"`, `"-3"`, `"0.5"`).
pub fn quantity(text: &str) -> Result<f64, String> {
    let v: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("stock {text:?} is not a number"))?;
    if !v.is_finite() || v.abs() > 1e12 {
        return Err(format!("stock {text:?} is out of range"));
    }
    Ok(v)
}

/// A unit, defaulting to `pcs`.
pub fn unit(u: Option<&str>) -> Result<String, String> {
    let u = u.map(str::trim).filter(|u| !u.is_empty()).unwrap_or("pcs");
    let lower = u.to_ascii_lowercase();
    if UNITS.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(format!("unit {u:?} is not one of {}", UNITS.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_units_print_as_decimals() {
        assert_eq!(format_minor(2_500_000, "IDR"), "25000.00");
        assert_eq!(format_minor(1250, "USD"), "12.50");
        assert_eq!(format_minor(1234, "KWD"), "1.234");
        assert_eq!(format_minor(500, "JPY"), "500");
        assert_eq!(format_minor(-5, "USD"), "-0.05");
    }

    #[test]
    fn prices_become_minor_units_per_currency() {
        assert_eq!(price_minor("25000", "IDR"), Ok(2_500_000));
        assert_eq!(price_minor("12.5", "USD"), Ok(1250));
        assert_eq!(price_minor("1.234", "KWD"), Ok(1234));
        assert_eq!(price_minor("500", "JPY"), Ok(500));
        assert!(price_minor("5.5", "JPY")
            .unwrap_err()
            .contains("more decimals"));
        assert!(price_minor("-1", "USD").is_err());
        assert!(price_minor("1e3", "USD").is_err());
        assert!(price_minor("", "USD").is_err());
        assert!(price_minor("10", "XYZ").unwrap_err().contains("ISO 4217"));
        assert!(price_minor("99999999999999999999", "USD").is_err());
    }

    #[test]
    fn quantities_and_units() {
        assert_eq!(quantity("-3"), Ok(-3.0));
        assert_eq!(quantity("0.5"), Ok(0.5));
        assert!(quantity("lots").is_err());
        assert!(quantity("NaN").is_err());
        assert_eq!(unit(None), Ok("pcs".into()));
        assert_eq!(unit(Some("KG")), Ok("kg".into()));
        assert!(unit(Some("furlong")).is_err());
    }
}
