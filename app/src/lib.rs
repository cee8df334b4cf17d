//! Plugboard's web app: Leptos pages and server functions, and (feature
//! `ssr`) the marketplace domain behind them.
#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod error;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod domain;
#[cfg(feature = "ssr")]
pub mod session;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

use crate::components::auth::AuthContext;
use crate::components::nav::Nav;
use crate::pages::{
    api_docs::{ApiDocsPage, PartnerGuidePage},
    auth::SignInPage,
    auth::SignUpPage,
    board::BoardPage,
    cashier::{CashierPage, ChargePage},
    catalog::CatalogPage,
    home::HomePage,
    inbound::InboundPage,
    integration::IntegrationPage,
    location_catalog::LocationCatalogPage,
    locations::LocationsPage,
    not_found::NotFound,
    orders::{OrderPage, OrdersPage},
    settings::SettingsPage,
    support::{SupportEventPage, SupportLocationPage, SupportPage, SupportScriptsPage},
    surfaces::SurfacesPage,
    webhooks::{EndpointPage, WebhooksPage},
};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The app: navigation and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(AuthContext::new());

    // Tests (and people) can tell when the page is interactive.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/plugboard.css"/>
        <Title formatter=|t: String| if t.is_empty() { "Plugboard".to_string() } else { format!("{t} · Plugboard") }/>
        <Router>
            <Nav/>
            <main class="page">
                <Routes fallback=NotFound>
                    // Async rendering: pages are complete HTML without JavaScript,
                    // and the status (404) or redirect is known before headers go out.
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/signin") view=SignInPage ssr=SsrMode::Async/>
                    <Route path=path!("/signup") view=SignUpPage ssr=SsrMode::Async/>
                    <Route path=path!("/integrations") view=CatalogPage ssr=SsrMode::Async/>
                    <Route path=path!("/integrations/:slug") view=IntegrationPage ssr=SsrMode::Async/>
                    <Route path=path!("/locations") view=LocationsPage ssr=SsrMode::Async/>
                    <Route path=path!("/locations/:id/surfaces") view=SurfacesPage ssr=SsrMode::Async/>
                    <Route path=path!("/locations/:id/catalog") view=LocationCatalogPage ssr=SsrMode::Async/>
                    <Route path=path!("/inbound") view=InboundPage ssr=SsrMode::Async/>
                    <Route path=path!("/webhooks") view=WebhooksPage ssr=SsrMode::Async/>
                    <Route path=path!("/webhooks/:id") view=EndpointPage ssr=SsrMode::Async/>
                    <Route path=path!("/orders") view=OrdersPage ssr=SsrMode::Async/>
                    <Route path=path!("/orders/:id") view=OrderPage ssr=SsrMode::Async/>
                    <Route path=path!("/cashier") view=CashierPage ssr=SsrMode::Async/>
                    <Route path=path!("/cashier/:id") view=ChargePage ssr=SsrMode::Async/>
                    <Route path=path!("/board") view=BoardPage ssr=SsrMode::Async/>
                    <Route path=path!("/support") view=SupportPage ssr=SsrMode::Async/>
                    <Route path=path!("/support/events/:id") view=SupportEventPage ssr=SsrMode::Async/>
                    <Route path=path!("/support/locations/:id") view=SupportLocationPage ssr=SsrMode::Async/>
                    <Route path=path!("/support/scripts") view=SupportScriptsPage ssr=SsrMode::Async/>
                    <Route path=path!("/settings") view=SettingsPage ssr=SsrMode::Async/>
                    <Route path=path!("/docs/api") view=ApiDocsPage ssr=SsrMode::Async/>
                    <Route path=path!("/docs/webhooks") view=PartnerGuidePage ssr=SsrMode::Async/>
                </Routes>
            </main>
            <footer class="footer">
                <span>"Plugboard — the open integrations hub for point-of-sale merchants."</span>
                <a href="/v1/openapi.json">"OpenAPI"</a>
            </footer>
        </Router>
    }
}
