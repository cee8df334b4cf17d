//! The catalog: categories, text search and a capability filter, all in the
//! URL so a filtered view can be shared and works before the wasm loads.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::api::catalog::list_catalog;
use crate::model::{AuthShape, CatalogQuery, IntegrationStatus, IntegrationSummary, Mode};

/// A short label for an auth shape.
pub fn auth_label(shape: AuthShape) -> &'static str {
    match shape {
        AuthShape::PlatformShared => "No account needed",
        AuthShape::MerchantKey => "API key",
        AuthShape::Oauth => "Connect (OAuth)",
    }
}

fn query_href(query: &CatalogQuery, category: Option<&str>) -> String {
    let mut parts = Vec::new();
    if let Some(q) = query.q.as_deref().filter(|q| !q.is_empty()) {
        parts.push(format!("q={}", urlencode(q)));
    }
    if let Some(c) = category {
        parts.push(format!("category={}", urlencode(c)));
    }
    if let Some(c) = query.capability.as_deref().filter(|c| !c.is_empty()) {
        parts.push(format!("capability={}", urlencode(c)));
    }
    if parts.is_empty() {
        "/integrations".into()
    } else {
        format!("/integrations?{}", parts.join("&"))
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The catalog page.
#[component]
pub fn CatalogPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        let p = params.get();
        CatalogQuery {
            q: p.get("q"),
            category: p.get("category"),
            capability: p.get("capability"),
        }
    });
    let catalog = Resource::new(
        move || query.get(),
        |q| list_catalog(q.q, q.category, q.capability),
    );

    view! {
        <Title text="Integrations catalog"/>
        <crate::components::install_panel::OAuthNotice/>
        <div class="catalog">
            <Transition fallback=|| view! { <p class="muted">"Loading the catalog…"</p> }>
                {move || Suspend::new(async move {
                    let q = query.get();
                    match catalog.await {
                        Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                        Ok(cat) => {
                            let all_href = query_href(&q, None);
                            let current = q.category.clone().unwrap_or_default();
                            let cats = cat.categories.clone().into_iter().map(|c| {
                                let href = query_href(&q, Some(&c.slug));
                                let active = current == c.slug;
                                view! {
                                    <li>
                                        <a href=href class:active=active data-category=c.slug.clone()>
                                            <span>{c.name}</span>
                                            <span class="count">{c.integration_count}</span>
                                        </a>
                                    </li>
                                }
                            }).collect_view();
                            let selected_cap = q.capability.clone().unwrap_or_default();
                            let cap_options = cat.capabilities.clone().into_iter().map(|c| {
                                let selected = selected_cap == c.slug;
                                let mode = if c.mode == Mode::Replace { "replace" } else { "add" };
                                view! { <option value=c.slug.clone() selected=selected>{format!("{} ({mode})", c.slug)}</option> }
                            }).collect_view();
                            let count = cat.integrations.len();
                            let cards = cat.integrations.into_iter().map(|i| view! { <IntegrationCard integration=i/> }).collect_view();
                            view! {
                                <aside class="sidebar">
                                    <h2>"Categories"</h2>
                                    <ul class="catlist">
                                        <li><a href=all_href class:active=current.is_empty()>"All integrations"</a></li>
                                        {cats}
                                    </ul>
                                </aside>
                                <section class="catalog-main">
                                    <h1>"Integrations"</h1>
                                    <Form method="GET" action="/integrations" attr:class="filters" attr:role="search">
                                        <input type="search" name="q" placeholder="Search integrations, e.g. QR, accounting, WhatsApp"
                                            aria-label="Search integrations" value=q.q.clone().unwrap_or_default()/>
                                        <select name="capability" aria-label="Capability">
                                            <option value="">"Any capability"</option>
                                            {cap_options}
                                        </select>
                                        {q.category.clone().map(|c| view! { <input type="hidden" name="category" value=c/> })}
                                        <button type="submit" class="btn">"Search"</button>
                                    </Form>
                                    <p class="muted results-count" data-testid="results-count">
                                        {match count { 0 => "No integrations match.".to_string(), 1 => "1 integration".to_string(), n => format!("{n} integrations") }}
                                    </p>
                                    <div class="grid">{cards}</div>
                                </section>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </div>
    }
}

/// One integration in the grid.
#[component]
fn IntegrationCard(integration: IntegrationSummary) -> impl IntoView {
    let href = format!("/integrations/{}", integration.slug);
    let coming = integration.status == IntegrationStatus::ComingSoon;
    let initial = integration.name.chars().next().unwrap_or('?');
    let caps = integration
        .capabilities
        .iter()
        .map(|c| view! { <span class="chip">{c.clone()}</span> })
        .collect_view();
    view! {
        <a class="card integration-card" href=href data-slug=integration.slug.clone()>
            <div class="card-head">
                <span class="logo" aria-hidden="true">{initial.to_string()}</span>
                <div>
                    <h3>{integration.name.clone()}</h3>
                    <span class="muted small">{integration.category.clone()}</span>
                </div>
                {coming.then(|| view! { <span class="badge badge-soon">"Coming soon"</span> })}
            </div>
            <p>{integration.summary.clone()}</p>
            <div class="chips">{caps}</div>
            <span class="auth small">{auth_label(integration.auth_shape)}</span>
        </a>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_other_filters() {
        let q = CatalogQuery {
            q: Some("qr code".into()),
            category: Some("payments".into()),
            capability: Some("receipt_qr".into()),
        };
        assert_eq!(
            query_href(&q, Some("receipt")),
            "/integrations?q=qr%20code&category=receipt&capability=receipt_qr"
        );
        assert_eq!(query_href(&CatalogQuery::default(), None), "/integrations");
    }
}
