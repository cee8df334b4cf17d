//! A Xendit QR Codes API stand-in (API version 2022-07-31): `POST
//! /qr_codes` with Basic auth by secret key, Xendit's error shape
//! (`error_code`, `message`), its duplicate `reference_id` refusal, and the
//! `qr.payment` callback carrying the callback verification token in
//! `x-callback-token`, posted to the account's callback URL.
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

struct QrCode {
    id: String,
    amount: i64,
    qr_string: String,
    expires_at: String,
}

struct Inner {
    secret_key: String,
    /// The dashboard's callback URL and verification token.
    callback: Mutex<Option<(String, String)>>,
    controls: Arc<Controls>,
    codes: Mutex<HashMap<String, QrCode>>,
    client: reqwest::Client,
}

/// The fake; clones share state.
#[derive(Clone)]
pub struct FakeXendit(Arc<Inner>);

fn error(http: StatusCode, code: &str, message: &str) -> Response {
    (http, Json(json!({"error_code": code, "message": message}))).into_response()
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl FakeXendit {
    /// A fake account whose secret API key is `secret_key`.
    pub fn new(secret_key: &str) -> Self {
        FakeXendit(Arc::new(Inner {
            secret_key: secret_key.to_string(),
            callback: Mutex::new(None),
            controls: Arc::default(),
            codes: Mutex::new(HashMap::new()),
            client: reqwest::Client::new(),
        }))
    }

    /// The dashboard's callback settings: where `qr.payment` goes and the
    /// verification token it carries.
    pub fn set_callback(&self, url: &str, token: &str) {
        *self.0.callback.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((url.to_string(), token.to_string()));
    }

    pub fn set_mode(&self, mode: Mode) {
        self.0.controls.set_mode(mode);
    }

    /// Every QR code request received, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.0.controls.requests()
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/qr_codes", post(create))
            .route("/_fake/pay", post(pay_route))
            .with_state(self.clone())
            .merge(self.0.controls.router())
    }

    /// Sends the `qr.payment` callback of the QR code `reference_id`;
    /// answers the receiver's HTTP status.
    pub async fn pay(&self, reference_id: &str) -> Result<u16, String> {
        let (url, token) = self
            .0
            .callback
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or("no callback URL is set")?;
        let body = {
            let codes = self.0.codes.lock().unwrap_or_else(|e| e.into_inner());
            let qr = codes
                .get(reference_id)
                .ok_or_else(|| format!("no QR code with reference_id {reference_id}"))?;
            let now = rfc3339(entity::now());
            json!({
                "event": "qr.payment",
                "api_version": "v2",
                "business_id": "5f27a14a9bf05c73dd040bc8",
                "created": now,
                "data": {
                    "id": format!("qrpy_{}", uuid::Uuid::new_v4()),
                    "business_id": "5f27a14a9bf05c73dd040bc8",
                    "currency": "IDR",
                    "amount": qr.amount,
                    "status": "SUCCEEDED",
                    "created": now,
                    "qr_id": qr.id,
                    "qr_string": qr.qr_string,
                    "reference_id": reference_id,
                    "type": "DYNAMIC",
                    "channel_code": "ID_DANA",
                    "expires_at": qr.expires_at,
                    "metadata": null,
                    "payment_detail": {"receipt_id": "000000000000", "source": "DANA"},
                },
            })
        };
        let response = self
            .0
            .client
            .post(url)
            .header("x-callback-token", token)
            .header("webhook-id", format!("whk_{}", uuid::Uuid::new_v4()))
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        Ok(response.status().as_u16())
    }
}

async fn create(State(fake): State<FakeXendit>, headers: HeaderMap, body: Bytes) -> Response {
    let down = || {
        error(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVER_ERROR",
                "An unexpected error occured, our team has been notified and will troubleshoot the issue.",
            )
    };
    if let Some(answer) = fake.0.controls.intercept(&headers, &body, down).await {
        return answer;
    }
    if basic_user(&headers).as_deref() != Some(fake.0.secret_key.as_str()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "INVALID_API_KEY",
            "API key is not authorized for this API service",
        );
    }
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "API_VALIDATION_ERROR",
            "Invalid JSON body",
        );
    };
    let reference_id = req["reference_id"].as_str().unwrap_or_default().to_string();
    let amount = req["amount"].as_i64();
    let problem = if reference_id.is_empty() {
        Some("reference_id is required")
    } else if !matches!(req["type"].as_str(), Some("DYNAMIC" | "STATIC")) {
        Some("type must be one of DYNAMIC, STATIC")
    } else if req["currency"] != "IDR" {
        Some("currency must be IDR")
    } else if amount.is_none_or(|a| a < 1) {
        Some("amount must be a whole number of at least 1")
    } else {
        None
    };
    if let Some(message) = problem {
        return error(StatusCode::BAD_REQUEST, "API_VALIDATION_ERROR", message);
    }
    let amount = amount.unwrap_or_default();
    let now = entity::now();
    let expires_at = req["expires_at"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| rfc3339(now + time::Duration::hours(48)));
    let id = format!("qr_{}", uuid::Uuid::new_v4());
    let qr = qr_string(&reference_id, amount);
    {
        let mut codes = fake.0.codes.lock().unwrap_or_else(|e| e.into_inner());
        if codes.contains_key(&reference_id) {
            return error(
                StatusCode::CONFLICT,
                "DUPLICATE_ERROR",
                "A QR code with this reference_id already exists",
            );
        }
        codes.insert(
            reference_id.clone(),
            QrCode {
                id: id.clone(),
                amount,
                qr_string: qr.clone(),
                expires_at: expires_at.clone(),
            },
        );
    }
    (
        StatusCode::CREATED,
        Json(json!({
            "id": id,
            "business_id": "5f27a14a9bf05c73dd040bc8",
            "reference_id": reference_id,
            "type": "DYNAMIC",
            "currency": "IDR",
            "amount": amount,
            "channel_code": "ID_DANA",
            "status": "ACTIVE",
            "qr_string": qr,
            "expires_at": expires_at,
            "created": rfc3339(now),
            "updated": rfc3339(now),
            "metadata": null,
        })),
    )
        .into_response()
}

#[derive(Deserialize)]
struct PayRequest {
    reference_id: String,
}

async fn pay_route(State(fake): State<FakeXendit>, Json(req): Json<PayRequest>) -> Response {
    match fake.pay(&req.reference_id).await {
        Ok(code) => Json(json!({"notified": true, "receiverStatus": code})).into_response(),
        Err(e) => (
            StatusCode::NOT_FOUND,
            Json(json!({"notified": false, "error": e})),
        )
            .into_response(),
    }
}
