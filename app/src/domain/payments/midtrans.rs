//! Midtrans Core API: `POST /v2/charge` with `payment_type: "qris"`, Basic
//! auth with the server key, and the HTTP notification whose
//! `signature_key` is `SHA512(order_id + status_code + gross_amount +
//! server_key)` over the values exactly as sent.
use base64::Engine;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

use super::items::{whole_lines, whole_units};
use super::{
    setting, text, ChargeError, ChargeInput, Created, HttpRequest, Notice, NoticeOutcome,
    PaymentProvider,
};
use crate::domain::inbound::verify::AuthFailure;

pub struct Midtrans;

/// The signature Midtrans puts in `signature_key`.
pub fn signature(
    order_id: &str,
    status_code: &str,
    gross_amount: &str,
    server_key: &str,
) -> String {
    let mut h = Sha512::new();
    h.update(order_id.as_bytes());
    h.update(status_code.as_bytes());
    h.update(gross_amount.as_bytes());
    h.update(server_key.as_bytes());
    hex::encode(h.finalize())
}

impl PaymentProvider for Midtrans {
    fn name(&self) -> &'static str {
        "midtrans"
    }

    fn default_priority(&self) -> i64 {
        1
    }

    fn default_base_url(&self, settings: &Map<String, Value>) -> String {
        match setting(settings, "environment") {
            Some("production") => "https://api.midtrans.com".into(),
            _ => "https://api.sandbox.midtrans.com".into(),
        }
    }

    fn credentials_ready(&self, settings: &Map<String, Value>) -> Result<(), String> {
        setting(settings, "server_key")
            .map(|_| ())
            .ok_or_else(|| "the Midtrans install has no server key".into())
    }

    fn charge_request(
        &self,
        base_url: &str,
        settings: &Map<String, Value>,
        charge: &ChargeInput,
    ) -> HttpRequest {
        let gross = whole_units(charge.amount_minor, &charge.currency);
        let lines = whole_lines(&charge.items, &charge.currency, gross, "Order");
        let minutes = ((charge.expires_at - entity::now()).whole_seconds() as f64 / 60.0)
            .ceil()
            .max(1.0) as i64;
        let body = json!({
            "payment_type": "qris",
            "transaction_details": {
                "order_id": charge.reference,
                "gross_amount": gross,
            },
            "item_details": lines.iter().map(|l| json!({
                "id": l.id,
                "name": l.name,
                "price": l.price,
                "quantity": l.quantity,
            })).collect::<Vec<_>>(),
            "qris": {"acquirer": "gopay"},
            "custom_expiry": {"expiry_duration": minutes, "unit": "minute"},
        });
        let key = setting(settings, "server_key").unwrap_or_default();
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
        HttpRequest {
            url: format!("{base_url}/v2/charge"),
            headers: vec![
                ("Accept".into(), "application/json".into()),
                ("Content-Type".into(), "application/json".into()),
                ("Authorization".into(), format!("Basic {auth}")),
                // Midtrans posts this charge's notifications here instead
                // of the dashboard's URL.
                (
                    "X-Override-Notification".into(),
                    charge.notification_url.clone(),
                ),
            ],
            body: serde_json::to_vec(&body).unwrap_or_default(),
        }
    }

    fn read_charge(&self, status: u16, body: &[u8]) -> Result<Created, ChargeError> {
        let v: Value = serde_json::from_slice(body).map_err(|_| {
            if status >= 500 {
                ChargeError::Unavailable {
                    status,
                    message: String::from_utf8_lossy(&body[..body.len().min(200)]).into(),
                }
            } else {
                ChargeError::Malformed(format!("HTTP {status}, body is not JSON"))
            }
        })?;
        // Midtrans may answer HTTP 200 with the real outcome in the body.
        let code: u16 = text(&v, "status_code")
            .and_then(|c| c.parse().ok())
            .unwrap_or(status);
        let message = text(&v, "status_message").unwrap_or_default();
        let worst = code.max(if status >= 300 { status } else { 0 });
        if worst >= 500 {
            return Err(ChargeError::Unavailable {
                status: worst,
                message,
            });
        }
        if worst >= 300 {
            return Err(ChargeError::Rejected {
                status: worst,
                message,
            });
        }
        let (Some(transaction_id), Some(qr_string), Some(gross_amount)) = (
            text(&v, "transaction_id"),
            text(&v, "qr_string"),
            text(&v, "gross_amount"),
        ) else {
            return Err(ChargeError::Malformed(
                "no transaction_id, qr_string or gross_amount in the charge answer".into(),
            ));
        };
        Ok(Created {
            transaction_id,
            qr_string,
            gross_amount,
        })
    }

    fn notification_reference(&self, body: &[u8]) -> Option<String> {
        let v: Value = serde_json::from_slice(body).ok()?;
        text(&v, "order_id")
    }

    fn verify_notification(
        &self,
        _headers: &[(String, String)],
        body: &[u8],
        settings: &Map<String, Value>,
    ) -> Result<(), AuthFailure> {
        let key = setting(settings, "server_key").ok_or(AuthFailure::UnknownAccount)?;
        let v: Value = serde_json::from_slice(body).map_err(|_| AuthFailure::MalformedSignature)?;
        let sent = text(&v, "signature_key").ok_or(AuthFailure::MissingSignature)?;
        let (Some(order_id), Some(status_code), Some(gross)) = (
            text(&v, "order_id"),
            text(&v, "status_code"),
            v.get("gross_amount").and_then(Value::as_str),
        ) else {
            return Err(AuthFailure::MalformedSignature);
        };
        let expected = signature(&order_id, &status_code, gross, key);
        if expected
            .as_bytes()
            .ct_eq(sent.trim().to_ascii_lowercase().as_bytes())
            .into()
        {
            Ok(())
        } else {
            Err(AuthFailure::SignatureMismatch)
        }
    }

    fn read_notification(&self, body: &[u8]) -> Result<Notice, String> {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| format!("not a Midtrans notification: {e}"))?;
        let reference = text(&v, "order_id").ok_or("no order_id")?;
        let status = text(&v, "transaction_status").ok_or("no transaction_status")?;
        let fraud = text(&v, "fraud_status").unwrap_or_else(|| "accept".into());
        // The signature covers status_code, not transaction_status: a paid
        // notice must carry Midtrans's paid status code too.
        let code = text(&v, "status_code").unwrap_or_default();
        if matches!(status.as_str(), "settlement" | "capture") && code != "200" {
            return Err(format!(
                "transaction_status {status:?} with status_code {code:?} (a paid notice has 200)"
            ));
        }
        let outcome = match status.as_str() {
            "settlement" => NoticeOutcome::Paid,
            "capture" if fraud == "accept" => NoticeOutcome::Paid,
            "capture" | "pending" | "authorize" => NoticeOutcome::Pending,
            "expire" => NoticeOutcome::Expired,
            "cancel" | "deny" | "failure" => NoticeOutcome::Failed,
            other => return Err(format!("unknown transaction_status {other:?}")),
        };
        Ok(Notice {
            reference,
            transaction_id: text(&v, "transaction_id").unwrap_or_default(),
            outcome,
            provider_status: status,
            gross_amount: text(&v, "gross_amount"),
        })
    }

    fn notification_key(&self, _headers: &[(String, String)], body: &[u8]) -> Option<String> {
        let v: Value = serde_json::from_slice(body).ok()?;
        Some(format!(
            "midtrans:{}:{}",
            text(&v, "transaction_id")?,
            text(&v, "transaction_status")?
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::payments::LineItem;

    fn settings() -> Map<String, Value> {
        json!({"server_key": "SB-Mid-server-abc"})
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn charge_is_qris_with_basic_auth_and_lines_adding_up() {
        let req = Midtrans.charge_request(
            "http://127.0.0.1:9",
            &settings(),
            &ChargeInput {
                reference: "p-1".into(),
                amount_minor: 1_000_000,
                currency: "IDR".into(),
                items: vec![LineItem {
                    id: "a".into(),
                    name: "A".into(),
                    price_minor: 333_333,
                    quantity: 3,
                }],
                expires_at: entity::now() + time::Duration::minutes(15),
                notification_url: "http://127.0.0.1:9/n".into(),
            },
        );
        assert_eq!(req.url, "http://127.0.0.1:9/v2/charge");
        let auth = base64::engine::general_purpose::STANDARD.encode("SB-Mid-server-abc:");
        assert!(req
            .headers
            .contains(&("Authorization".into(), format!("Basic {auth}"))));
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(body["payment_type"], "qris");
        assert_eq!(body["transaction_details"]["gross_amount"], 10_000);
        let sum: i64 = body["item_details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["price"].as_i64().unwrap() * i["quantity"].as_i64().unwrap())
            .sum();
        assert_eq!(sum, 10_000);
    }

    #[test]
    fn body_status_codes_decide_failover() {
        let down = br#"{"status_code":"503","status_message":"down"}"#;
        assert!(Midtrans.read_charge(200, down).unwrap_err().fails_over());
        let refused = br#"{"status_code":"401","status_message":"unauthorized"}"#;
        assert!(!Midtrans.read_charge(200, refused).unwrap_err().fails_over());
        assert!(Midtrans
            .read_charge(502, b"<html>")
            .unwrap_err()
            .fails_over());
        let ok = br#"{"status_code":"201","transaction_id":"t","qr_string":"q","gross_amount":"10000.00"}"#;
        assert_eq!(Midtrans.read_charge(200, ok).unwrap().transaction_id, "t");
    }

    #[test]
    fn notification_signature_uses_gross_amount_exactly_as_sent() {
        let sig = signature("p-1", "200", "10000.00", "SB-Mid-server-abc");
        let body = json!({"order_id": "p-1", "status_code": "200", "gross_amount": "10000.00",
            "signature_key": sig, "transaction_status": "settlement", "transaction_id": "t"});
        let raw = serde_json::to_vec(&body).unwrap();
        assert_eq!(Midtrans.verify_notification(&[], &raw, &settings()), Ok(()));
        let mut other = body.clone();
        other["gross_amount"] = json!("10000");
        let raw = serde_json::to_vec(&other).unwrap();
        assert_eq!(
            Midtrans.verify_notification(&[], &raw, &settings()),
            Err(AuthFailure::SignatureMismatch)
        );
        let n = Midtrans
            .read_notification(&serde_json::to_vec(&body).unwrap())
            .unwrap();
        assert_eq!(n.outcome, NoticeOutcome::Paid);
        // A signed pending notice (status_code 201) edited to say
        // settlement is not a payment.
        let mut edited = body.clone();
        edited["status_code"] = json!("201");
        assert!(Midtrans
            .read_notification(&serde_json::to_vec(&edited).unwrap())
            .is_err());
    }
}
