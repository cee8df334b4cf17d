//! Types shared by the server and the browser: what server functions and the
//! JSON API send. Database models never cross the wire; these do.
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Who is signed in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Me {
    pub user_id: Uuid,
    pub email: String,
    pub role: Role,
    /// Set for merchant users, `None` for support agents.
    pub merchant_id: Option<Uuid>,
    pub merchant_name: Option<String>,
}

/// What a user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Owner of one merchant.
    Owner,
    /// Plugboard support, across merchants.
    Support,
}

/// A category of the catalog.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Category {
    pub slug: String,
    pub name: String,
    pub description: String,
    /// How many integrations of the catalog are in this category.
    pub integration_count: usize,
}

/// Whether a capability appends to a surface or takes it over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Appends to the surface; several integrations may add, up to the cap.
    Add,
    /// Takes the surface over; one integration per location.
    Replace,
}

/// Whether the runtime dispatches a capability today.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CapabilityStatus {
    /// Dispatched to adapters today.
    Live,
    /// Recognised in the schema; the adapter ships with the first partner.
    Reserved,
}

/// A named surface of the POS.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Capability {
    pub slug: String,
    pub surface: String,
    pub mode: Mode,
    /// Maximum add-mode installs per location; absent when uncapped.
    pub cap: Option<i32>,
    pub status: CapabilityStatus,
    pub capability_version: i32,
}

/// How Plugboard authenticates with a partner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuthShape {
    /// One platform-level secret; Plugboard signs short-lived JWTs.
    PlatformShared,
    /// The merchant pastes a partner-issued key.
    MerchantKey,
    /// OAuth 2.0 authorization code with PKCE.
    Oauth,
}

impl AuthShape {
    /// The wire name (`platform_shared`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            AuthShape::PlatformShared => "platform_shared",
            AuthShape::MerchantKey => "merchant_key",
            AuthShape::Oauth => "oauth",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "platform_shared" => Some(AuthShape::PlatformShared),
            "merchant_key" => Some(AuthShape::MerchantKey),
            "oauth" => Some(AuthShape::Oauth),
            _ => None,
        }
    }

    /// A sentence for merchants: what installing will involve.
    pub fn explain(self) -> &'static str {
        match self {
            AuthShape::PlatformShared => {
                "Nothing to sign up for: Plugboard vouches for your shop with short-lived signed tokens."
            }
            AuthShape::MerchantKey => {
                "You will paste the API key from your account with this partner. It is stored encrypted."
            }
            AuthShape::Oauth => {
                "You will click Connect and sign in with this partner to grant access. Tokens are stored encrypted and refreshed automatically."
            }
        }
    }
}

/// Whether merchants can install an integration yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IntegrationStatus {
    /// Installable now.
    Available,
    /// Listed, not yet installable.
    ComingSoon,
}

/// An integration as listed in the catalog.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct IntegrationSummary {
    pub slug: String,
    pub name: String,
    pub category: String,
    pub summary: String,
    pub auth_shape: AuthShape,
    pub status: IntegrationStatus,
    /// Capability slugs this integration provides.
    pub capabilities: Vec<String>,
}

/// One field of an integration's install form, derived from its JSON Schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConfigField {
    pub name: String,
    pub title: String,
    pub description: Option<String>,
    /// `string`, `integer`, `number`, `boolean` or `enum`.
    pub kind: String,
    pub required: bool,
    /// Secret fields are write-only: stored encrypted, never shown again.
    pub secret: bool,
    pub default: Option<String>,
    pub choices: Vec<String>,
}

/// Everything the detail page and `GET /v1/integrations/catalog/{slug}` show.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct IntegrationDetail {
    pub slug: String,
    pub name: String,
    pub category: Category,
    pub summary: String,
    pub description: String,
    pub partner_url: Option<String>,
    pub auth_shape: AuthShape,
    pub status: IntegrationStatus,
    pub capabilities: Vec<Capability>,
    /// JSON Schema of the per-install configuration.
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub config_schema: serde_json::Value,
    /// The install form's fields, in schema order.
    pub config_fields: Vec<ConfigField>,
}

/// Filters of the catalog; every one optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
pub struct CatalogQuery {
    /// Free text matched against name, summary, description and capabilities.
    pub q: Option<String>,
    /// Category slug.
    pub category: Option<String>,
    /// Capability slug.
    pub capability: Option<String>,
}

/// The catalog, filtered, with the facets needed to filter further.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Catalog {
    pub categories: Vec<Category>,
    pub capabilities: Vec<Capability>,
    pub integrations: Vec<IntegrationSummary>,
}

/// A location of the signed-in merchant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Location {
    pub id: Uuid,
    pub name: String,
    pub city: String,
    pub timezone: String,
    /// The ids POS providers use for this location.
    pub external_ids: Vec<ExternalId>,
}

/// The id one provider uses for a location.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ExternalId {
    pub provider: String,
    pub external_id: String,
}

/// What a client sends to create or change a location.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LocationInput {
    pub name: String,
    pub city: String,
    /// IANA time-zone name, e.g. `Asia/Jakarta`.
    pub timezone: String,
    /// Replaces the location's external ids when present.
    #[serde(default)]
    pub external_ids: Option<Vec<ExternalId>>,
}

/// An API token as listed (never the secret itself).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApiTokenInfo {
    pub id: Uuid,
    pub name: String,
    /// The first characters of the token, to tell tokens apart.
    pub prefix: String,
    /// RFC 3339.
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

/// A token just created: the only time its secret is shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewApiToken {
    pub info: ApiTokenInfo,
    pub token: String,
}

/// Common IANA time zones offered in forms; any valid IANA name is accepted.
pub const COMMON_TIMEZONES: &[&str] = &[
    "Asia/Jakarta",
    "Asia/Makassar",
    "Asia/Jayapura",
    "Asia/Singapore",
    "Asia/Kuala_Lumpur",
    "Asia/Bangkok",
    "Asia/Manila",
    "Asia/Ho_Chi_Minh",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Europe/London",
    "America/New_York",
    "UTC",
];

/// An installed integration (secret values never included).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Install {
    pub id: Uuid,
    pub integration: String,
    pub integration_name: String,
    /// Absent: every location.
    pub location_id: Option<Uuid>,
    pub location_name: Option<String>,
    pub enabled: bool,
    /// The non-secret settings.
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub config: serde_json::Value,
    /// Secret settings that have a stored value (the values are never sent).
    pub secrets_set: Vec<String>,
    /// `not_required`, `not_connected`, `connected` or `needs_reconnect`.
    pub auth_status: String,
    /// OAuth installs that have connected: the connection's state (never
    /// its tokens).
    #[serde(default)]
    pub connection: Option<OAuthConnection>,
    pub capabilities: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// What a client sends to install an integration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct InstallInput {
    /// Integration slug, e.g. `qlub`.
    pub integration: String,
    /// One location, or absent for every location.
    #[serde(default)]
    pub location_id: Option<Uuid>,
    /// Settings per the integration's `config_schema`.
    #[serde(default = "empty_object")]
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub config: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

/// One integration filling a surface.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SurfaceHolder {
    pub install_id: Uuid,
    pub integration: String,
    pub integration_name: String,
    pub enabled: bool,
    /// Installed for every location rather than this one.
    pub every_location: bool,
}

/// One capability at a location and who fills it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Surface {
    pub capability: Capability,
    pub holders: Vec<SurfaceHolder>,
}

/// Every surface of one location.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LocationSurfaces {
    pub location_id: Uuid,
    pub location_name: String,
    pub surfaces: Vec<Surface>,
}

/// One audit-log entry (never contains secret values).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// `user:<id>`, `token:<id>`, `cli` or `system`.
    pub actor: String,
    pub action: String,
    pub target: String,
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub before: Option<serde_json::Value>,
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub after: Option<serde_json::Value>,
    /// RFC 3339.
    pub at: String,
}

/// The state of an install's OAuth connection; tokens never leave the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OAuthConnection {
    /// Granted scopes, space separated.
    pub scopes: String,
    /// When the access token expires (RFC 3339); absent if it does not.
    pub expires_at: Option<String>,
    pub connected_at: String,
    /// The last successful refresh.
    pub refreshed_at: Option<String>,
    /// Whether the provider issued a refresh token.
    pub refreshable: bool,
    /// Why the last refresh failed, if it did.
    pub last_error: Option<String>,
}

/// How a Connect ended, shown on the integration page after the provider
/// sends the merchant back (`?oauth=<outcome>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuthOutcome {
    Connected,
    Denied,
    ProviderError,
    ExchangeFailed,
    Expired,
    StateMismatch,
    NotConfigured,
    /// The install was removed while the merchant was at the provider.
    Gone,
}

impl OAuthOutcome {
    /// Every outcome.
    pub const ALL: [OAuthOutcome; 8] = [
        OAuthOutcome::Connected,
        OAuthOutcome::Denied,
        OAuthOutcome::ProviderError,
        OAuthOutcome::ExchangeFailed,
        OAuthOutcome::Expired,
        OAuthOutcome::StateMismatch,
        OAuthOutcome::NotConfigured,
        OAuthOutcome::Gone,
    ];

    /// The query-string form.
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthOutcome::Connected => "connected",
            OAuthOutcome::Denied => "denied",
            OAuthOutcome::ProviderError => "provider_error",
            OAuthOutcome::ExchangeFailed => "exchange_failed",
            OAuthOutcome::Expired => "expired",
            OAuthOutcome::StateMismatch => "state_mismatch",
            OAuthOutcome::NotConfigured => "not_configured",
            OAuthOutcome::Gone => "gone",
        }
    }

    /// Reads the query-string form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// What the merchant reads.
    pub fn message(self) -> &'static str {
        match self {
            OAuthOutcome::Connected => "Connected. Plugboard keeps the connection fresh in the background.",
            OAuthOutcome::Denied => "Access was declined on the provider's page, so nothing was connected. Press Connect to try again when you are ready.",
            OAuthOutcome::ProviderError => "The provider could not complete the sign-in, so nothing was connected. Try Connect again; if it keeps failing, contact support.",
            OAuthOutcome::ExchangeFailed => "The provider did not accept the sign-in code, so nothing was connected. Try Connect again.",
            OAuthOutcome::Expired => "The sign-in took more than 10 minutes and expired. Nothing was connected; press Connect to start again.",
            OAuthOutcome::StateMismatch => "This sign-in response was rejected: it does not match a sign-in started in this browser session (it may have been used already, or come from somewhere else). Nothing was connected.",
            OAuthOutcome::NotConfigured => "Connecting this integration is not set up on this Plugboard yet. Ask the operator to add an OAuth client for it (docs/oauth.md).",
            OAuthOutcome::Gone => "The install was removed while you were signing in, so nothing was connected.",
        }
    }

    /// Whether the outcome is good news.
    pub fn is_success(self) -> bool {
        self == OAuthOutcome::Connected
    }
}

/// A merchant's account at an inbound provider (POS, WMS, seller feed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProviderConnection {
    pub id: Uuid,
    /// Adapter name, e.g. `restopos`.
    pub provider: String,
    /// The provider's id for the merchant's account (sent in its webhooks).
    pub account_id: String,
    /// Unknown SKUs create items instead of failing mapping.
    pub allow_new_items: bool,
    /// Sender addresses or CIDR blocks allowed; empty allows any.
    pub ip_allowlist: Vec<String>,
    pub enabled: bool,
    pub created_at: String,
}

/// What creating a connection answers: the signing secret, shown once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProviderConnectionCreated {
    pub connection: ProviderConnection,
    /// Give it to the provider as the webhook signing secret; it is stored
    /// encrypted and never shown again.
    pub secret: String,
}

/// What a client sends to connect a provider account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProviderConnectionInput {
    pub provider: String,
    pub account_id: String,
    #[serde(default)]
    pub allow_new_items: bool,
    #[serde(default)]
    pub ip_allowlist: Vec<String>,
}

/// A provider store mapped to a location.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StoreMapping {
    pub provider: String,
    pub provider_store_id: String,
    pub location_id: Uuid,
}

/// One inbound delivery, as support sees it (no body here).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct InboundEventSummary {
    pub id: Uuid,
    pub provider: String,
    pub family: String,
    pub topic: String,
    pub received_at: String,
    /// `received`, `processed`, `skipped`, `failed` or `duplicate`.
    pub status: String,
    /// `mapping`, `validation`, `processing` or `duplicate`.
    pub failure_class: Option<String>,
    pub failure_reason: Option<String>,
    pub duplicate_of: Option<Uuid>,
    pub location_id: Option<Uuid>,
    pub body_size: i64,
    /// A processor is working on it now (a large import takes a while).
    pub in_progress: bool,
    /// Canonical commands it applied (rows of an import, items of a menu);
    /// while a large import is applied, those done so far.
    pub commands_applied: Option<i64>,
    /// Canonical commands it holds, once planned: the total that a large
    /// import's progress (`commands_applied`) counts towards.
    pub commands_total: Option<i64>,
}

/// One variant of a catalog item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CatalogVariant {
    pub variant_id: Uuid,
    /// The provider's id of the variant.
    pub provider_variant_id: String,
    pub name: String,
    pub price_minor: i64,
    pub price: String,
    pub currency: String,
    pub available: bool,
}

/// One item of a location's catalog, as the inbound pipeline last set it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CatalogItem {
    pub item_id: Uuid,
    pub sku: String,
    pub name: String,
    pub category: String,
    /// In the currency's minor units (ISO 4217 exponent).
    pub price_minor: i64,
    /// The same as a decimal in major units, e.g. `35000.00`.
    pub price: String,
    pub currency: String,
    pub available: bool,
    pub stock_level: Option<f64>,
    pub unit: String,
    pub updated_at: String,
    /// Sizes, flavours: each with its own price and availability.
    pub variants: Vec<CatalogVariant>,
}

/// A location's catalog and whether it is open.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LocationCatalog {
    pub location_id: Uuid,
    /// Absent until a POS reports it.
    pub open: Option<bool>,
    pub closed_reason: Option<String>,
    pub items: Vec<CatalogItem>,
}

/// A provider SKU mapped to a canonical item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ItemMapping {
    pub provider: String,
    pub provider_sku: String,
    /// Absent when creating: a new item id is assigned.
    #[serde(default)]
    pub item_id: Option<Uuid>,
}

/// A failed (or any) inbound event as the support console lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupportEvent {
    pub event: InboundEventSummary,
    pub merchant_id: Uuid,
    pub merchant_name: String,
    pub location_name: Option<String>,
    pub attempts: i32,
}

/// A location, by id and name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LocationRef {
    pub id: Uuid,
    pub name: String,
}

/// Everything support sees of one inbound event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupportEventDetail {
    pub row: SupportEvent,
    /// Request headers as stored (secrets were redacted before storing).
    pub headers: String,
    /// The raw body as text (lossy UTF-8), cut at 256 KiB.
    pub body: String,
    pub body_truncated: bool,
    /// What the adapter (or script) reads from the body now, to prefill
    /// mapping fixes: the provider store and the SKUs.
    pub parsed_store: Option<String>,
    pub skus: Vec<String>,
    /// Why the body cannot be read now, if it cannot.
    pub parse_error: Option<String>,
    /// The merchant's locations, for mapping a store.
    pub locations: Vec<LocationRef>,
    /// The connection creates items for new SKUs (unmapped SKUs are no
    /// failure then).
    pub creates_items: bool,
    /// The store and SKUs of the event's provider already mapped.
    pub mapped_store: Option<LocationRef>,
    pub mapped_skus: Vec<String>,
    pub processed_at: Option<String>,
}

/// What a bulk replay did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplayReport {
    /// Failed events matching the filter.
    pub matched: u64,
    pub processed: u64,
    pub still_failed: u64,
    pub duplicates: u64,
    /// More matched than one bulk replay takes; run it again.
    pub more: bool,
}

/// Refused inbound deliveries of one provider and cause.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuthFailureCount {
    pub provider: String,
    pub cause: String,
    pub last_hour: i64,
    pub last_day: i64,
    pub last_seen: String,
}

/// One stored version of a JS transformer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScriptVersion {
    pub id: Uuid,
    pub provider: String,
    pub topic: String,
    pub version: String,
    pub checksum: String,
    pub active: bool,
    pub deployed_by: String,
    pub created_at: String,
    pub activated_at: Option<String>,
    pub source: String,
}

/// A script tried on a stored delivery.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScriptTrial {
    /// `output`, `skip` or `error`.
    pub outcome: String,
    /// The output (pretty JSON), the skip reason, or the error.
    pub detail: String,
}

/// A provider variant mapped to a variant of an item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct VariantMapping {
    pub provider: String,
    pub provider_variant_id: String,
    /// The item the variant belongs to.
    pub item_id: Uuid,
    /// Absent when creating: a new variant id is assigned.
    #[serde(default)]
    pub variant_id: Option<Uuid>,
}

pub mod outbound;
pub mod payments;
