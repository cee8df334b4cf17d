//! Cross-site request forgery guard for cookie-authenticated posts.
//!
//! Session cookies are `SameSite=Lax`; on top of that, every state-changing
//! browser request (forms and server functions) must come from one of our own
//! origins, told by the `Origin` header (or `Referer` when a browser omits
//! it). This also covers posts without a cookie, so another site cannot sign
//! a visitor into an account of its choosing. Requests authenticated by a
//! bearer token carry no ambient credentials and pass.
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The origins trusted to post.
#[derive(Clone, Debug, Default)]
pub struct TrustedOrigins(pub Arc<Vec<String>>);

fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{host}").to_lowercase())
}

/// Whether `request` may change state.
fn allowed(request: &Request, trusted: &TrustedOrigins) -> bool {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if safe || request.headers().contains_key(header::AUTHORIZATION) {
        return true;
    }
    let headers = request.headers();
    let claimed = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| *o != "null")
        .and_then(origin_of)
        .or_else(|| {
            headers
                .get(header::REFERER)
                .and_then(|v| v.to_str().ok())
                .and_then(origin_of)
        });
    let Some(claimed) = claimed else {
        return false;
    };
    if trusted.0.iter().any(|t| t.eq_ignore_ascii_case(&claimed)) {
        return true;
    }
    // Same origin as the Host the browser addressed.
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    claimed
        .split_once("://")
        .is_some_and(|(_, h)| h.eq_ignore_ascii_case(host))
}

/// Middleware: refuses cross-origin state changes with 403.
pub async fn guard(
    State(trusted): State<TrustedOrigins>,
    request: Request,
    next: Next,
) -> Response {
    if allowed(&request, &trusted) {
        next.run(request).await
    } else {
        tracing::warn!(path = %request.uri().path(), "cross-origin form post refused");
        (
            StatusCode::FORBIDDEN,
            axum::Json(serde_json::json!({"error": {"code": "csrf_rejected",
                "message": "This form was posted from another site and was refused. Reload the page and try again."}})),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn req(method: Method, headers: &[(&str, &str)]) -> Request {
        let mut b = Request::builder().method(method).uri("/api/sign_in");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).unwrap()
    }

    #[test]
    fn same_origin_posts_pass_and_foreign_ones_do_not() {
        let t = TrustedOrigins::default();
        let host = ("host", "127.0.0.1:3000");
        let cookie = ("cookie", "id=1");
        assert!(allowed(
            &req(
                Method::POST,
                &[host, cookie, ("origin", "http://127.0.0.1:3000")]
            ),
            &t
        ));
        assert!(!allowed(
            &req(
                Method::POST,
                &[host, cookie, ("origin", "https://evil.example")]
            ),
            &t
        ));
        assert!(!allowed(&req(Method::POST, &[host, cookie]), &t));
        assert!(allowed(
            &req(
                Method::POST,
                &[host, cookie, ("referer", "http://127.0.0.1:3000/signin")]
            ),
            &t
        ));
        assert!(allowed(&req(Method::GET, &[host, cookie]), &t));
        assert!(
            !allowed(
                &req(Method::POST, &[host, ("origin", "https://evil.example")]),
                &t
            ),
            "login CSRF"
        );
        assert!(allowed(
            &req(Method::POST, &[host, ("authorization", "Bearer x")]),
            &t
        ));
    }

    #[test]
    fn configured_origins_are_trusted() {
        let t = TrustedOrigins(Arc::new(vec!["https://hub.example.com".into()]));
        let r = req(
            Method::POST,
            &[
                ("host", "10.0.0.5:3000"),
                ("cookie", "id=1"),
                ("origin", "https://hub.example.com"),
            ],
        );
        assert!(allowed(&r, &t));
    }
}
