//! Xendit QR Codes API (version 2022-07-31): `POST /qr_codes` with Basic
//! auth (secret API key as the user name), `reference_id`, `type:
//! "DYNAMIC"`, `currency`, `amount`, `expires_at`; the `qr.payment`
//! callback carries the dashboard's callback verification token in
//! `x-callback-token`.
use base64::Engine;
use serde_json::{json, Map, Value};

use super::items::whole_units;
use super::{
    header, setting, text, ChargeError, ChargeInput, Created, HttpRequest, Notice, NoticeOutcome,
    PaymentProvider,
};
use crate::domain::inbound::verify::{self, AuthFailure};

pub struct Xendit;

/// The API version Plugboard speaks.
pub const API_VERSION: &str = "2022-07-31";

impl PaymentProvider for Xendit {
    fn name(&self) -> &'static str {
        "xendit"
    }

    fn default_priority(&self) -> i64 {
        2
    }

    fn default_base_url(&self, _settings: &Map<String, Value>) -> String {
        "https://api.xendit.co".into()
    }

    fn credentials_ready(&self, settings: &Map<String, Value>) -> Result<(), String> {
        setting(settings, "secret_key")
            .map(|_| ())
            .ok_or_else(|| "the Xendit install has no secret API key".into())
    }

    fn charge_request(
        &self,
        base_url: &str,
        settings: &Map<String, Value>,
        charge: &ChargeInput,
    ) -> HttpRequest {
        let amount = whole_units(charge.amount_minor, &charge.currency);
        let body = json!({
            "reference_id": charge.reference,
            "type": "DYNAMIC",
            "currency": charge.currency,
            "amount": amount,
            "expires_at": crate::domain::rfc3339(charge.expires_at),
        });
        let key = setting(settings, "secret_key").unwrap_or_default();
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
        HttpRequest {
            url: format!("{base_url}/qr_codes"),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Authorization".into(), format!("Basic {auth}")),
                ("api-version".into(), API_VERSION.into()),
            ],
            body: serde_json::to_vec(&body).unwrap_or_default(),
        }
    }

    fn read_charge(&self, status: u16, body: &[u8]) -> Result<Created, ChargeError> {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        if status >= 300 {
            let message = match (text(&v, "error_code"), text(&v, "message")) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c,
                (None, Some(m)) => m,
                (None, None) => String::from_utf8_lossy(&body[..body.len().min(200)]).into(),
            };
            return Err(if status >= 500 {
                ChargeError::Unavailable { status, message }
            } else {
                ChargeError::Rejected { status, message }
            });
        }
        let (Some(id), Some(qr_string), Some(amount)) =
            (text(&v, "id"), text(&v, "qr_string"), text(&v, "amount"))
        else {
            return Err(ChargeError::Malformed(
                "no id, qr_string or amount in the QR code answer".into(),
            ));
        };
        Ok(Created {
            transaction_id: id,
            qr_string,
            gross_amount: amount,
        })
    }

    fn notification_reference(&self, body: &[u8]) -> Option<String> {
        let v: Value = serde_json::from_slice(body).ok()?;
        text(v.get("data")?, "reference_id")
    }

    fn verify_notification(
        &self,
        headers: &[(String, String)],
        _body: &[u8],
        settings: &Map<String, Value>,
    ) -> Result<(), AuthFailure> {
        let token = setting(settings, "callback_token").ok_or(AuthFailure::UnknownAccount)?;
        verify::api_key(token.as_bytes(), header(headers, "x-callback-token"))
    }

    fn read_notification(&self, body: &[u8]) -> Result<Notice, String> {
        let v: Value =
            serde_json::from_slice(body).map_err(|e| format!("not a Xendit callback: {e}"))?;
        let data = v.get("data").ok_or("no data")?;
        let reference = text(data, "reference_id").ok_or("no data.reference_id")?;
        let status = text(data, "status").ok_or("no data.status")?;
        let outcome = match (text(&v, "event").as_deref(), status.as_str()) {
            (_, "SUCCEEDED" | "COMPLETED") => NoticeOutcome::Paid,
            (_, "EXPIRED" | "INACTIVE") => NoticeOutcome::Expired,
            (_, "FAILED") => NoticeOutcome::Failed,
            (_, "PENDING" | "ACTIVE") => NoticeOutcome::Pending,
            (_, other) => return Err(format!("unknown data.status {other:?}")),
        };
        Ok(Notice {
            reference,
            transaction_id: text(data, "id").unwrap_or_default(),
            outcome,
            provider_status: status,
            gross_amount: text(data, "amount"),
        })
    }

    fn notification_key(&self, headers: &[(String, String)], body: &[u8]) -> Option<String> {
        if let Some(id) = header(headers, "webhook-id").filter(|s| !s.trim().is_empty()) {
            return Some(format!("xendit:webhook:{}", id.trim()));
        }
        let v: Value = serde_json::from_slice(body).ok()?;
        let data = v.get("data")?;
        Some(format!(
            "xendit:{}:{}",
            text(data, "id")?,
            text(data, "status")?
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_in_xendit_shape_are_read() {
        let e = Xendit
            .read_charge(401, br#"{"error_code":"INVALID_API_KEY","message":"no"}"#)
            .unwrap_err();
        assert_eq!(
            e,
            ChargeError::Rejected {
                status: 401,
                message: "INVALID_API_KEY: no".into()
            }
        );
        assert!(Xendit.read_charge(503, b"").unwrap_err().fails_over());
    }

    #[test]
    fn callback_token_must_match() {
        let settings = json!({"callback_token": "tok-123456"})
            .as_object()
            .unwrap()
            .clone();
        let good = vec![("x-callback-token".to_string(), "tok-123456".to_string())];
        let bad = vec![("x-callback-token".to_string(), "tok-999999".to_string())];
        assert_eq!(Xendit.verify_notification(&good, b"{}", &settings), Ok(()));
        assert_eq!(
            Xendit.verify_notification(&bad, b"{}", &settings),
            Err(AuthFailure::SignatureMismatch)
        );
        assert_eq!(
            Xendit.verify_notification(&[], b"{}", &settings),
            Err(AuthFailure::MissingSignature)
        );
    }
}
