//! The HTTP client every outbound request goes through. Names resolve
//! through [`PolicyResolver`], which drops internal addresses the operator
//! did not allowlist, so a partner URL cannot be pointed at the internal
//! network by DNS (rebinding included); literal addresses are checked by
//! the caller with the same policy. Redirects are not followed (a redirect
//! could lead anywhere).
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::domain::outbound::url_policy::UrlPolicy;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Resolves with the system resolver, keeping only allowed addresses.
struct PolicyResolver {
    policy: UrlPolicy,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| policy.check_ip(a.ip()).is_ok())
                .collect();
            if allowed.is_empty() {
                let refused = found
                    .first()
                    .map(|a| a.ip().to_string())
                    .unwrap_or_else(|| "no address".into());
                return Err(format!(
                    "{host} resolves to {refused}, a private or internal address; ask the operator to allowlist it"
                )
                .into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// A client that only reaches allowed addresses, with a per-request timeout.
pub fn build(policy: UrlPolicy, timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(PolicyResolver { policy }))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .pool_max_idle_per_host(32)
        .user_agent(concat!("Plugboard-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a TLS backend is compiled in")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn names_resolving_to_internal_addresses_are_refused() {
        // A listener that would answer, were the request allowed to go.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                drop(socket);
            }
        });
        let strict = build(UrlPolicy::default(), Duration::from_secs(2));
        let err = strict
            .post(format!("http://localhost:{port}/"))
            .send()
            .await
            .expect_err("localhost resolves to loopback");
        let chain = {
            let mut text = err.to_string();
            let mut source = std::error::Error::source(&err);
            while let Some(s) = source {
                text.push_str(&format!(": {s}"));
                source = s.source();
            }
            text
        };
        assert!(chain.contains("private or internal address"), "{chain}");

        let allowed = build(
            UrlPolicy::new(&["127.0.0.0/8".into(), "::1".into()]).unwrap(),
            Duration::from_secs(2),
        );
        let err = allowed
            .post(format!("http://localhost:{port}/"))
            .send()
            .await
            .expect_err("the listener hangs up without answering");
        assert!(!format!("{err:?}").contains("private or internal"));
    }
}
