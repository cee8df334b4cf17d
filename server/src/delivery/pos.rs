//! The built-in transformer path (seed 004, path 2): the POS provider's
//! `order_dispatch` script turns the order into the POS's own request and
//! auth, from the outlet's install settings (credentials included: the
//! sandbox has no network, clock or file access, so they go nowhere else).
//! Plugboard sends what the script returns, after the same address policy
//! as every outbound request.
use app::domain::orders::dispatch::{self, DISPATCH_TOPIC, NO_ROUTE};
use app::domain::outbound::outcome::{Outcome, Receiver};
use app::domain::scripts::Outcome as ScriptOutcome;
use entity::delivery;
use serde_json::{json, Map, Value};

use super::{Engine, NotSent, Prepared};

/// Builds the POS request of a `pos` delivery.
pub async fn prepare(engine: &Engine, d: &delivery::Model) -> Result<Prepared, NotSent> {
    let provider = d.provider.clone().unwrap_or_default();
    let install = match d.location_id {
        Some(outlet) => dispatch::pos_install(&engine.db, d.merchant_id, outlet, &provider)
            .await
            .map_err(|_| {
                NotSent::Unsendable("internal error reading the outlet's install".into())
            })?,
        None => None,
    };
    let Some(install) = install else {
        return Err(NotSent::Unsendable(NO_ROUTE.into()));
    };
    let mut settings: Map<String, Value> = install.config.as_object().cloned().unwrap_or_default();
    if let Some(sealed) = &install.secrets {
        let secrets =
            engine.keys.current().open_json(sealed).map_err(|_| {
                NotSent::Unsendable("the outlet's credentials cannot be opened".into())
            })?;
        if let Some(s) = secrets.as_object() {
            settings.extend(s.clone());
        }
    }
    let order: Value = serde_json::from_slice(&d.body).unwrap_or(Value::Null);
    let input = json!({
        "event": d.event_type,
        "deliveryId": d.id,
        "order": order,
        "outlet": {"id": d.location_id, "settings": settings},
    });
    let fail = |reason: String| NotSent::Attempt(Outcome::transform_failed(reason));
    let output = match engine
        .transformers
        .run(&provider, DISPATCH_TOPIC, &input)
        .await
    {
        Ok((ScriptOutcome::Output(v), _)) => v,
        Ok((ScriptOutcome::Skip { reason }, _)) => {
            return Err(NotSent::Unsendable(format!(
                "the {provider} transformer skipped the order: {reason}"
            )))
        }
        Err(e) => return Err(fail(format!("transformer failed: {e}"))),
    };
    request_from(engine, &output).map_err(|e| fail(format!("transformer returned {e}")))
}

/// Reads the script's `{method, url, headers, body}`.
fn request_from(engine: &Engine, output: &Value) -> Result<Prepared, String> {
    let url = output.get("url").and_then(Value::as_str).ok_or("no url")?;
    let url = engine
        .policy
        .check_url(url)
        .map_err(|e| format!("a refused url: {e}"))?;
    let method = output
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or("POST")
        .to_ascii_uppercase();
    let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| "an invalid method")?;
    let mut headers = Vec::new();
    if let Some(h) = output.get("headers").and_then(Value::as_object) {
        for (name, value) in h {
            let value = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            headers.push((name.clone(), value));
        }
    }
    let body = match output.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(other) => serde_json::to_vec(other).map_err(|_| "an unencodable body")?,
    };
    Ok(Prepared {
        method,
        url,
        headers,
        body,
        receiver: Receiver::Pos,
    })
}
