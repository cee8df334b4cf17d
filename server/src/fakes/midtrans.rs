//! A Midtrans Core API stand-in: `POST /v2/charge` for `payment_type:
//! "qris"` with Basic auth by server key, Midtrans's validation of
//! `item_details` against `gross_amount`, its duplicate `order_id` refusal,
//! its error bodies (`status_code` and `status_message`, also inside HTTP
//! 200), and the settlement notification signed with `signature_key`,
//! posted to the charge's `X-Override-Notification` URL.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{basic_user, qr_string, Controls, Mode, Recorded};

struct Charge {
    transaction_id: String,
    gross_amount: String,
    notification_url: Option<String>,
}

struct Inner {
    server_key: String,
    controls: Arc<Controls>,
    charges: Mutex<HashMap<String, Charge>>,
    client: reqwest::Client,
}

/// The fake; clones share state.
#[derive(Clone)]
pub struct FakeMidtrans(Arc<Inner>);

fn error(http: StatusCode, code: &str, message: &str) -> Response {
    (
        http,
        Json(json!({"status_code": code, "status_message": message, "id": uuid::Uuid::new_v4()})),
    )
        .into_response()
}

fn wib(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::from_hms(7, 0, 0).unwrap_or(time::UtcOffset::UTC));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

impl FakeMidtrans {
    /// A fake account whose server key is `server_key`.
    pub fn new(server_key: &str) -> Self {
        FakeMidtrans(Arc::new(Inner {
            server_key: server_key.to_string(),
            controls: Arc::default(),
            charges: Mutex::new(HashMap::new()),
            client: reqwest::Client::new(),
        }))
    }

    pub fn set_mode(&self, mode: Mode) {
        self.0.controls.set_mode(mode);
    }

    /// Every charge request received, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.0.controls.requests()
    }

    /// The routes, to serve at the fake's base URL.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v2/charge", post(charge))
            .route("/_fake/pay", post(pay_route))
            .with_state(self.clone())
            .merge(self.0.controls.router())
    }

    /// Sends the settlement notification of the charge `order_id` (signed
    /// as Midtrans signs it); answers the receiver's HTTP status.
    pub async fn pay(&self, order_id: &str) -> Result<u16, String> {
        self.notify(order_id, "settlement").await
    }

    /// Sends a notification with `transaction_status` for `order_id`.
    pub async fn notify(&self, order_id: &str, transaction_status: &str) -> Result<u16, String> {
        let (body, url) = {
            let charges = self.0.charges.lock().unwrap_or_else(|e| e.into_inner());
            let c = charges
                .get(order_id)
                .ok_or_else(|| format!("no charge with order_id {order_id}"))?;
            let status_code = if transaction_status == "settlement" {
                "200"
            } else {
                "201"
            };
            let signature = app::domain::payments::midtrans::signature(
                order_id,
                status_code,
                &c.gross_amount,
                &self.0.server_key,
            );
            let now = wib(entity::now());
            let body = json!({
                "transaction_time": now,
                "transaction_status": transaction_status,
                "transaction_id": c.transaction_id,
                "status_message": "midtrans payment notification",
                "status_code": status_code,
                "signature_key": signature,
                "settlement_time": now,
                "payment_type": "qris",
                "order_id": order_id,
                "merchant_id": "G000000000",
                "gross_amount": c.gross_amount,
                "fraud_status": "accept",
                "currency": "IDR",
                "acquirer": "gopay",
            });
            let url = c
                .notification_url
                .clone()
                .ok_or("the charge named no notification URL")?;
            (body, url)
        };
        let response = self
            .0
            .client
            .post(url)
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        Ok(response.status().as_u16())
    }
}

async fn charge(State(fake): State<FakeMidtrans>, headers: HeaderMap, body: Bytes) -> Response {
    let down = || {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "500",
            "Sorry. Our system is recovering from unexpected issues. Please retry.",
        )
    };
    if let Some(answer) = fake.0.controls.intercept(&headers, &body, down).await {
        return answer;
    }
    if basic_user(&headers).as_deref() != Some(fake.0.server_key.as_str()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "401",
            "Access denied due to unauthorized transaction, please check client or server key",
        );
    }
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "400", "Invalid JSON");
    };
    let mut problems = Vec::new();
    if req["payment_type"] != "qris" {
        problems.push("payment_type must be qris".to_string());
    }
    let order_id = req["transaction_details"]["order_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if order_id.is_empty() || order_id.len() > 50 {
        problems.push("transaction_details.order_id is required (at most 50 characters)".into());
    }
    let gross = req["transaction_details"]["gross_amount"].as_i64();
    match gross {
        Some(g) if g >= 1 => {}
        _ => problems
            .push("transaction_details.gross_amount must be an integer of at least 1".into()),
    }
    if let Some(items) = req["item_details"].as_array() {
        let mut sum = 0i64;
        for item in items {
            match (item["price"].as_i64(), item["quantity"].as_i64()) {
                (Some(p), Some(q)) => sum += p * q,
                _ => problems.push("item_details.price and quantity must be integers".into()),
            }
        }
        if Some(sum) != gross {
            problems.push(
                "transaction_details.gross_amount is not equal to the sum of item_details".into(),
            );
        }
    }
    if !problems.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"status_code": "400",
                "status_message": "One or more parameters in the payload is invalid.",
                "validation_messages": problems})),
        )
            .into_response();
    }
    let gross = gross.unwrap_or_default();
    let notification_url = headers
        .get("x-override-notification")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.split(',').next().unwrap_or(s).trim().to_string());
    let transaction_id = uuid::Uuid::new_v4().to_string();
    {
        let mut charges = fake.0.charges.lock().unwrap_or_else(|e| e.into_inner());
        if charges.contains_key(&order_id) {
            return error(
                StatusCode::NOT_ACCEPTABLE,
                "406",
                "The request could not be completed due to a conflict with the current state of the target resource, please try again",
            );
        }
        charges.insert(
            order_id.clone(),
            Charge {
                transaction_id: transaction_id.clone(),
                gross_amount: format!("{gross}.00"),
                notification_url,
            },
        );
    }
    let now = entity::now();
    let minutes = req["custom_expiry"]["expiry_duration"]
        .as_i64()
        .unwrap_or(15);
    Json(json!({
        "status_code": "201",
        "status_message": "QRIS transaction is created",
        "transaction_id": transaction_id,
        "order_id": order_id,
        "merchant_id": "G000000000",
        "gross_amount": format!("{gross}.00"),
        "currency": "IDR",
        "payment_type": "qris",
        "transaction_time": wib(now),
        "transaction_status": "pending",
        "fraud_status": "accept",
        "acquirer": "gopay",
        "qr_string": qr_string(&order_id, gross),
        "expiry_time": wib(now + time::Duration::minutes(minutes)),
        "actions": [{
            "name": "generate-qr-code",
            "method": "GET",
            "url": format!("https://api.sandbox.midtrans.com/v2/qris/{transaction_id}/qr-code"),
        }],
    }))
    .into_response()
}

#[derive(Deserialize)]
struct PayRequest {
    order_id: String,
    #[serde(default)]
    transaction_status: Option<String>,
}

async fn pay_route(State(fake): State<FakeMidtrans>, Json(req): Json<PayRequest>) -> Response {
    let status = req.transaction_status.as_deref().unwrap_or("settlement");
    match fake.notify(&req.order_id, status).await {
        Ok(code) => Json(json!({"notified": true, "receiverStatus": code})).into_response(),
        Err(e) => (
            StatusCode::NOT_FOUND,
            Json(json!({"notified": false, "error": e})),
        )
            .into_response(),
    }
}
