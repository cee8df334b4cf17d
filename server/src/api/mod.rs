//! The JSON APIs, one module per resource, collected with their OpenAPI
//! description.
pub mod auth;
pub mod catalog;
pub mod error;
pub mod health;
pub mod inbound;
pub mod installs;
pub mod locations;
pub mod me;
pub mod oauth;
pub mod orders;
pub mod payments;
pub mod webhooks;

use app::domain::AppState;
use axum::Router;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Plugboard API",
        description = "The integrations hub for point-of-sale merchants. Errors always use the envelope {\"error\":{\"code\",\"message\"}}.",
        license(name = "Apache-2.0")
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "catalog", description = "The integrations catalog (public)"),
        (name = "locations", description = "A merchant's locations"),
        (name = "installs", description = "Installing, configuring, disabling and uninstalling integrations"),
        (name = "account", description = "The token's merchant"),
        (name = "inbound", description = "Provider connections, store mappings and inbound deliveries"),
        (name = "webhooks", description = "Partner webhook endpoints, signed deliveries, attempts and resends"),
        (name = "orders", description = "Order dispatch, status updates and receipts"),
        (name = "payments", description = "QRIS charges with provider failover, and the live order board"),
        (name = "meta", description = "Health and API description")
    )
)]
struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Every JSON route, and the OpenAPI document that describes them.
pub fn router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(catalog::list))
        .routes(routes!(catalog::detail))
        .routes(routes!(me::me))
        .routes(routes!(locations::list, locations::create))
        .routes(routes!(
            locations::get,
            locations::update,
            locations::delete
        ))
        .routes(routes!(installs::list, installs::create))
        .routes(routes!(
            installs::get,
            installs::configure,
            installs::uninstall
        ))
        .routes(routes!(installs::disable))
        .routes(routes!(installs::enable))
        .routes(routes!(installs::surfaces))
        .routes(routes!(installs::audit))
        .routes(routes!(installs::platform_token))
        .routes(routes!(installs::webhook_secret))
        .routes(routes!(oauth::refresh))
        .routes(routes!(oauth::disconnect))
        .routes(routes!(
            inbound::create_connection,
            inbound::list_connections
        ))
        .routes(routes!(inbound::delete_connection))
        .routes(routes!(inbound::map_store, inbound::store_mappings))
        .routes(routes!(inbound::events))
        .routes(routes!(inbound::location_catalog))
        .routes(routes!(inbound::availability))
        .routes(routes!(inbound::replay))
        .routes(routes!(inbound::map_item, inbound::item_mappings))
        .routes(routes!(inbound::map_variant, inbound::variant_mappings))
        .routes(routes!(webhooks::register))
        .routes(routes!(webhooks::list))
        .routes(routes!(webhooks::get, webhooks::delete))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::enable))
        .routes(routes!(webhooks::disable))
        .routes(routes!(webhooks::delivery))
        .routes(routes!(webhooks::resend))
        .routes(routes!(orders::dispatch))
        .routes(routes!(orders::list))
        .routes(routes!(orders::get))
        .routes(routes!(orders::receipt))
        .routes(routes!(orders::update_status))
        .routes(routes!(orders::refund))
        .routes(routes!(payments::create, payments::list))
        .routes(routes!(payments::get))
        .routes(routes!(payments::qr))
        .routes(routes!(payments::simulate))
        .routes(routes!(crate::live::sse::api_stream))
        .split_for_parts()
}
