//! The API reference, read from the OpenAPI document the server generates.
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// One operation of the public API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    pub method: String,
    pub path: String,
    pub tag: String,
    pub summary: String,
    pub description: String,
    pub authenticated: bool,
    pub parameters: Vec<(String, String, bool)>,
    pub responses: Vec<(String, String)>,
}

/// Every operation of the OpenAPI document, grouped by tag order.
#[server(endpoint = "api_reference")]
pub async fn api_reference() -> Result<Vec<Operation>, AppError> {
    let state = crate::domain::AppState::from_context()?;
    Ok(operations(&state.openapi))
}

/// Reads the operations out of an OpenAPI 3 document.
#[cfg(feature = "ssr")]
pub fn operations(doc: &serde_json::Value) -> Vec<Operation> {
    let mut out = Vec::new();
    let Some(paths) = doc.get("paths").and_then(|p| p.as_object()) else {
        return out;
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, op) in item {
            let s = |k: &str| op.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
            let parameters = op
                .get("parameters")
                .and_then(|p| p.as_array())
                .map(|ps| {
                    ps.iter()
                        .map(|p| {
                            let f = |k: &str| {
                                p.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string()
                            };
                            (
                                format!("{} ({})", f("name"), f("in")),
                                f("description"),
                                p.get("required").and_then(|v| v.as_bool()).unwrap_or(false),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let responses = op
                .get("responses")
                .and_then(|r| r.as_object())
                .map(|rs| {
                    rs.iter()
                        .map(|(code, r)| {
                            (
                                code.clone(),
                                r.get("description")
                                    .and_then(|v| v.as_str())
                                    .unwrap_or("")
                                    .to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push(Operation {
                method: method.to_uppercase(),
                path: path.clone(),
                tag: op
                    .get("tags")
                    .and_then(|t| t.get(0))
                    .and_then(|t| t.as_str())
                    .unwrap_or("other")
                    .to_string(),
                summary: s("summary"),
                description: s("description"),
                authenticated: op.get("security").is_some(),
                parameters,
                responses,
            });
        }
    }
    out.sort_by(|a, b| (&a.tag, &a.path, &a.method).cmp(&(&b.tag, &b.path, &b.method)));
    out
}

/// The partner guide to webhooks (docs/webhooks.md: what is sent, the
/// signature formats and how to verify them in Rust, Python and
/// JavaScript), as HTML.
#[server(endpoint = "partner_guide")]
pub async fn partner_guide() -> Result<String, AppError> {
    Ok(render_markdown(include_str!("../../../docs/webhooks.md")))
}

/// Markdown (our own documents, not user input) as HTML.
#[cfg(feature = "ssr")]
pub fn render_markdown(text: &str) -> String {
    use pulldown_cmark::{html, Options, Parser};
    let mut out = String::new();
    html::push_html(&mut out, Parser::new_ext(text, Options::ENABLE_TABLES));
    out
}
