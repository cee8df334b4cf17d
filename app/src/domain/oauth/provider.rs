//! Where an integration's OAuth lives: the endpoints in the catalog, and the
//! client the operator registered there (from configuration), which may
//! override the endpoints (a sandbox, or a local test server).
use std::collections::{BTreeMap, HashMap};

use entity::integration;
use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, ClientId, ClientSecret, EndpointNotSet, EndpointSet, RedirectUrl, TokenUrl};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};

/// The `oauth` block of a catalog integration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoints {
    pub authorize_url: String,
    pub token_url: String,
    /// RFC 7009 revocation endpoint, when the provider has one.
    #[serde(default)]
    pub revocation_url: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Extra authorization parameters the provider needs (Google's
    /// `access_type=offline`, say).
    #[serde(default)]
    pub authorize_params: BTreeMap<String, String>,
}

impl Endpoints {
    /// What is wrong with the block, for `catalog check`.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let urls = [
            ("authorize_url", Some(&self.authorize_url)),
            ("token_url", Some(&self.token_url)),
            ("revocation_url", self.revocation_url.as_ref()),
        ];
        for (name, url) in urls {
            if let Some(url) = url {
                if !url.starts_with("https://") {
                    out.push(format!("oauth.{name} must be an https URL (got {url:?})"));
                }
            }
        }
        out
    }
}

/// The operator's OAuth client at one provider.
#[derive(Clone, Default, PartialEq)]
pub struct ClientSettings {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub revocation_url: Option<String>,
    /// Space separated; replaces the catalog's scopes.
    pub scopes: Option<String>,
}

impl std::fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSettings")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "***"))
            .field("authorize_url", &self.authorize_url)
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

/// Everything the OAuth code needs from the configuration.
#[derive(Clone, Debug)]
pub struct OAuthSettings {
    /// The one callback URL, registered exactly at every provider.
    pub redirect_uri: String,
    /// By integration slug with `-` written `_` (the form environment
    /// variables allow).
    pub clients: HashMap<String, ClientSettings>,
    /// Tokens expiring within this much time are refreshed.
    pub refresh_margin: time::Duration,
    /// How long one process may hold an install's refresh lease.
    pub lease: time::Duration,
    /// Client for token, refresh and revocation calls: no redirects, a
    /// timeout.
    pub http: reqwest::Client,
}

impl OAuthSettings {
    /// Settings with the given clients; the HTTP client follows no redirects.
    pub fn new(
        redirect_uri: String,
        clients: HashMap<String, ClientSettings>,
        refresh_margin: time::Duration,
    ) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .unwrap_or_default();
        let clients = clients
            .into_iter()
            .map(|(k, v)| (client_key(&k), v))
            .collect();
        OAuthSettings {
            redirect_uri,
            clients,
            refresh_margin,
            lease: time::Duration::seconds(60),
            http,
        }
    }

    /// The operator's client for an integration.
    pub fn client_for(&self, slug: &str) -> Option<&ClientSettings> {
        self.clients.get(&client_key(slug))
    }
}

/// `google-reviews` → `google_reviews`.
pub fn client_key(slug: &str) -> String {
    slug.to_ascii_lowercase().replace('-', "_")
}

/// An integration's OAuth, ready to use: catalog endpoints with the
/// operator's client and overrides applied.
#[derive(Clone, Debug)]
pub struct Provider {
    pub slug: String,
    pub name: String,
    client: ClientSettings,
    pub authorize_url: String,
    pub token_url: String,
    pub revocation_url: Option<String>,
    pub scopes: Vec<String>,
    pub authorize_params: BTreeMap<String, String>,
}

/// The oauth2 client with the authorization and token endpoints set.
pub type Client =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

impl Provider {
    /// The provider of an integration, or why there is none.
    pub fn resolve(
        settings: &OAuthSettings,
        integration: &integration::Model,
    ) -> Result<Self, ResolveError> {
        if integration.auth_shape != "oauth" {
            return Err(ResolveError::NotOAuth(integration.name.clone()));
        }
        let Some(client) = settings.client_for(&integration.slug) else {
            return Err(ResolveError::NotConfigured(integration.name.clone()));
        };
        let endpoints: Option<Endpoints> = integration
            .oauth
            .clone()
            .and_then(|v| serde_json::from_value(v).ok());
        let pick = |over: &Option<String>, base: Option<&String>| -> Option<String> {
            over.clone().or_else(|| base.cloned())
        };
        let authorize_url = pick(
            &client.authorize_url,
            endpoints.as_ref().map(|e| &e.authorize_url),
        );
        let token_url = pick(&client.token_url, endpoints.as_ref().map(|e| &e.token_url));
        let (Some(authorize_url), Some(token_url)) = (authorize_url, token_url) else {
            return Err(ResolveError::NotConfigured(integration.name.clone()));
        };
        let revocation_url = pick(
            &client.revocation_url,
            endpoints.as_ref().and_then(|e| e.revocation_url.as_ref()),
        );
        let scopes = match &client.scopes {
            Some(s) => s.split_whitespace().map(str::to_string).collect(),
            None => endpoints
                .as_ref()
                .map(|e| e.scopes.clone())
                .unwrap_or_default(),
        };
        Ok(Provider {
            slug: integration.slug.clone(),
            name: integration.name.clone(),
            client: client.clone(),
            authorize_url,
            token_url,
            revocation_url,
            scopes,
            authorize_params: endpoints.map(|e| e.authorize_params).unwrap_or_default(),
        })
    }

    /// The oauth2 client for this provider and `redirect_uri`.
    pub fn client(&self, redirect_uri: &str) -> AppResult<Client> {
        let bad = |what: &str, e: oauth2::url::ParseError| {
            tracing::error!(integration = %self.slug, error = %e, "invalid OAuth {what}");
            AppError::Internal
        };
        let mut client = BasicClient::new(ClientId::new(self.client.client_id.clone()))
            .set_auth_uri(
                AuthUrl::new(self.authorize_url.clone()).map_err(|e| bad("authorize_url", e))?,
            )
            .set_token_uri(TokenUrl::new(self.token_url.clone()).map_err(|e| bad("token_url", e))?)
            .set_redirect_uri(
                RedirectUrl::new(redirect_uri.to_string()).map_err(|e| bad("redirect_uri", e))?,
            );
        if let Some(secret) = &self.client.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.clone()));
        }
        Ok(client)
    }
}

impl Provider {
    /// Revokes one token at the provider's RFC 7009 endpoint, authenticating
    /// as the client (HTTP Basic, or `client_id` for public clients). Plain
    /// http is refused except on loopback (local providers and tests).
    pub async fn revoke(
        &self,
        http: &reqwest::Client,
        token: &str,
        hint: &str,
    ) -> Result<(), super::ProviderCallError> {
        use super::ProviderCallError;
        let Some(url) = &self.revocation_url else {
            return Err(ProviderCallError::Refused("no revocation endpoint".into()));
        };
        if !secure_or_loopback(url) {
            return Err(ProviderCallError::Refused(format!(
                "refusing to send a token to {url} over plain http"
            )));
        }
        let mut form = vec![("token", token), ("token_type_hint", hint)];
        let mut request = http.post(url);
        match &self.client.client_secret {
            Some(secret) => request = request.basic_auth(&self.client.client_id, Some(secret)),
            None => form.push(("client_id", &self.client.client_id)),
        }
        let resp = request
            .form(&form)
            .send()
            .await
            .map_err(|e| ProviderCallError::Unavailable(e.to_string()))?;
        let status = resp.status();
        if status.is_success() {
            Ok(())
        } else if status.is_server_error() || status.as_u16() == 429 {
            Err(ProviderCallError::Unavailable(format!("HTTP {status}")))
        } else {
            Err(ProviderCallError::Refused(format!("HTTP {status}")))
        }
    }
}

/// https, or http to a loopback host.
pub fn secure_or_loopback(url: &str) -> bool {
    match reqwest::Url::parse(url) {
        Ok(u) if u.scheme() == "https" => true,
        Ok(u) if u.scheme() == "http" => match u.host() {
            Some(oauth2::url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(oauth2::url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(oauth2::url::Host::Domain(d)) => d == "localhost",
            None => false,
        },
        _ => false,
    }
}

/// Why an integration has no usable OAuth provider.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum ResolveError {
    /// The integration uses another auth shape.
    #[error("{0} does not connect with OAuth.")]
    NotOAuth(String),
    /// No client for it in the configuration (or no endpoints).
    #[error("Connecting {0} is not set up on this Plugboard yet: the operator must register an OAuth client with {0} and add it to the configuration (docs/oauth.md).")]
    NotConfigured(String),
}

impl From<ResolveError> for AppError {
    fn from(err: ResolveError) -> Self {
        AppError::invalid(err.to_string())
    }
}
