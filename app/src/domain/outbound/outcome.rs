//! What an answer from a receiver means (seed 004): a 2xx without a
//! body-level error is a success, carrying the receiver's order id when it
//! sent one; anything else is a failure with the seed's `reason` text.
use entity::delivery_attempt::outcome;
use serde_json::Value;

/// Longest excerpt of an answer kept with an attempt or put in a reason.
pub const EXCERPT_BYTES: usize = 1024;

/// Who answered: a partner's callback or a POS's own API (the reasons
/// differ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Receiver {
    Callback,
    Pos,
}

/// What came back from one attempt.
pub enum Answer<'a> {
    Http {
        status: u16,
        body: &'a [u8],
    },
    /// No HTTP answer (DNS, connect, TLS, timeout, refused address).
    Transport(String),
}

/// How an attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub success: bool,
    /// `success`, `http_status`, `body_error` or `transport`.
    pub kind: &'static str,
    pub status_code: Option<u16>,
    /// Seed 004's reason; empty on success.
    pub reason: String,
    /// The receiver's order id (`externalOrderId`, `orderId` or `id`).
    pub external_order_id: Option<String>,
    pub excerpt: Option<String>,
}

impl Outcome {
    /// The request could not be built (a POS transformer failed); retried
    /// like any failure, since deploying a fixed script repairs it.
    pub fn transform_failed(reason: String) -> Self {
        Outcome {
            success: false,
            kind: outcome::TRANSFORM,
            status_code: None,
            reason,
            external_order_id: None,
            excerpt: None,
        }
    }
}

impl Outcome {
    /// Nothing was sent, and retrying cannot help until someone changes
    /// something; the delivery fails at once (a resend tries again).
    pub fn unsendable(reason: String) -> Self {
        Outcome {
            success: false,
            kind: outcome::UNSENDABLE,
            status_code: None,
            reason,
            external_order_id: None,
            excerpt: None,
        }
    }

    /// Whether the retry schedule applies.
    pub fn retryable(&self) -> bool {
        !self.success && self.kind != outcome::UNSENDABLE
    }
}

/// The first [`EXCERPT_BYTES`] of a body as text.
pub fn excerpt(body: &[u8]) -> String {
    let cut = body.len().min(EXCERPT_BYTES);
    let mut s = String::from_utf8_lossy(&body[..cut]).into_owned();
    if body.len() > cut {
        s.push('…');
    }
    s
}

/// Classifies one answer.
pub fn classify(receiver: Receiver, answer: Answer<'_>) -> Outcome {
    let (status, body) = match answer {
        Answer::Transport(e) => {
            return Outcome {
                success: false,
                kind: outcome::TRANSPORT,
                status_code: None,
                reason: format!("http request failed: {e}"),
                external_order_id: None,
                excerpt: None,
            }
        }
        Answer::Http { status, body } => (status, body),
    };
    let text = excerpt(body);
    let json: Option<Value> = serde_json::from_slice(body).ok();
    if !(200..300).contains(&status) {
        let reason = match receiver {
            Receiver::Callback => format!("callback returned HTTP {status}"),
            Receiver::Pos => format!("POS returned HTTP {status}: {text}"),
        };
        return Outcome {
            success: false,
            kind: outcome::HTTP_STATUS,
            status_code: Some(status),
            reason,
            external_order_id: None,
            excerpt: Some(text),
        };
    }
    if let Some(message) = json.as_ref().and_then(body_error) {
        let reason = match receiver {
            Receiver::Callback => {
                format!("callback returned 2xx but body indicated error: {message}")
            }
            Receiver::Pos => format!("POS returned 2xx but body indicated error: {message}"),
        };
        return Outcome {
            success: false,
            kind: outcome::BODY_ERROR,
            status_code: Some(status),
            reason,
            external_order_id: None,
            excerpt: Some(text),
        };
    }
    Outcome {
        success: true,
        kind: outcome::SUCCESS,
        status_code: Some(status),
        reason: String::new(),
        external_order_id: json.as_ref().and_then(external_order_id),
        excerpt: (!text.is_empty()).then_some(text),
    }
}

/// The message of a body that says it failed: `{"status":"ERROR", …}` with
/// the message from `error.message`, `error.details.message`, `error` (a
/// string) or `message`.
fn body_error(json: &Value) -> Option<String> {
    let status = json.get("status")?.as_str()?;
    if !status.eq_ignore_ascii_case("error") {
        return None;
    }
    let error = json.get("error");
    let message = error
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .or_else(|| {
            error
                .and_then(|e| e.get("details"))
                .and_then(|d| d.get("message"))
                .and_then(Value::as_str)
        })
        .or_else(|| error.and_then(Value::as_str))
        .or_else(|| json.get("message").and_then(Value::as_str))
        .map(str::to_string)
        .unwrap_or_else(|| {
            error
                .map(Value::to_string)
                .unwrap_or_else(|| "status ERROR".to_string())
        });
    Some(message)
}

/// The receiver's own id for the order, at the top level or under
/// `result`/`data` (Revel answers `{"status":"OK","result":{"order_id":…}}`).
fn external_order_id(json: &Value) -> Option<String> {
    let pick = |v: &Value| {
        ["externalOrderId", "orderId", "id", "order_id"]
            .iter()
            .find_map(|k| match v.get(*k) {
                Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            })
    };
    pick(json)
        .or_else(|| json.get("result").and_then(pick))
        .or_else(|| json.get("data").and_then(pick))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(receiver: Receiver, status: u16, body: &str) -> Outcome {
        classify(
            receiver,
            Answer::Http {
                status,
                body: body.as_bytes(),
            },
        )
    }

    #[test]
    fn success_takes_the_receivers_order_id() {
        let o = http(Receiver::Callback, 200, r#"{"externalOrderId":"987654"}"#);
        assert!(o.success);
        assert_eq!(o.external_order_id.as_deref(), Some("987654"));
        assert_eq!(
            http(Receiver::Callback, 201, r#"{"orderId":42}"#)
                .external_order_id
                .as_deref(),
            Some("42")
        );
        assert_eq!(
            http(
                Receiver::Pos,
                200,
                r#"{"status":"OK","result":{"order_id":77}}"#
            )
            .external_order_id
            .as_deref(),
            Some("77")
        );
        let empty = http(Receiver::Callback, 204, "");
        assert!(empty.success);
        assert_eq!(empty.external_order_id, None);
    }

    #[test]
    fn failures_carry_the_seeds_reasons() {
        assert_eq!(
            http(Receiver::Callback, 503, "down").reason,
            "callback returned HTTP 503"
        );
        assert_eq!(
            http(Receiver::Pos, 400, "bad cart").reason,
            "POS returned HTTP 400: bad cart"
        );
        let body = http(
            Receiver::Callback,
            200,
            r#"{"status":"ERROR","error":"no such table"}"#,
        );
        assert!(!body.success);
        assert_eq!(body.kind, "body_error");
        assert_eq!(
            body.reason,
            "callback returned 2xx but body indicated error: no such table"
        );
        let revel = http(
            Receiver::Pos,
            200,
            r#"{"status":"ERROR","error":{"code":"X","details":{"message":"Invalid product"}}}"#,
        );
        assert_eq!(
            revel.reason,
            "POS returned 2xx but body indicated error: Invalid product"
        );
        let t = classify(
            Receiver::Pos,
            Answer::Transport("connection refused".into()),
        );
        assert_eq!(t.reason, "http request failed: connection refused");
        assert_eq!(t.kind, "transport");
    }

    #[test]
    fn long_answers_are_cut() {
        let long = "x".repeat(5000);
        let o = http(Receiver::Callback, 500, &long);
        assert!(o.excerpt.unwrap().chars().count() <= EXCERPT_BYTES + 1);
    }
}
