//! One integration: what it does, which surfaces it fills, and what the
//! merchant will be asked for.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::catalog::auth_label;
use crate::api::catalog::get_integration;
use crate::components::install_panel::InstallPanel;
use crate::model::{CapabilityStatus, IntegrationDetail, IntegrationStatus, Mode};

/// The detail page.
#[component]
pub fn IntegrationPage() -> impl IntoView {
    let params = use_params_map();
    let slug = Memo::new(move |_| params.get().get("slug").unwrap_or_default());
    let detail = Resource::new(move || slug.get(), get_integration);
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => view! { <Detail d/> }.into_any(),
                    Err(e) => {
                        #[cfg(feature = "ssr")]
                        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
                            if let Ok(code) = axum::http::StatusCode::from_u16(e.status()) {
                                resp.set_status(code);
                            }
                        }
                        view! {
                            <section class="empty">
                                <h1>"Integration not found"</h1>
                                <p>{e.to_string()}</p>
                                <a href="/integrations">"Back to the catalog"</a>
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn Detail(d: IntegrationDetail) -> impl IntoView {
    let caps = d
        .capabilities
        .iter()
        .map(|c| {
            let mode = match (c.mode, c.cap) {
                (Mode::Replace, _) => "replace — takes over this surface".to_string(),
                (Mode::Add, Some(cap)) => format!("add — up to {cap} per location"),
                (Mode::Add, None) => "add".to_string(),
            };
            let (status, status_class) = match c.status {
                CapabilityStatus::Live => ("live", "badge badge-live"),
                CapabilityStatus::Reserved => ("reserved", "badge"),
            };
            view! {
                <tr data-capability=c.slug.clone()>
                    <td><code>{c.slug.clone()}</code></td>
                    <td>{c.surface.clone()}</td>
                    <td class="mode">{mode}</td>
                    <td><span class=status_class>{status}</span></td>
                    <td class="muted">{format!("v{}", c.capability_version)}</td>
                </tr>
            }
        })
        .collect_view();
    let fields = d
        .config_fields
        .iter()
        .map(|f| {
            let kind = if f.kind == "enum" {
                format!("one of {}", f.choices.join(", "))
            } else {
                f.kind.clone()
            };
            view! {
                <li class="askfield" data-field=f.name.clone()>
                    <strong>{f.title.clone()}</strong>
                    {f.required.then(|| view! { <span class="req">" required"</span> })}
                    {f.secret.then(|| view! { <span class="badge badge-secret">"secret · stored encrypted"</span> })}
                    <span class="muted small">{format!(" ({kind})")}</span>
                    {f.description.clone().map(|d| view! { <div class="muted small">{d}</div> })}
                </li>
            }
        })
        .collect_view();
    let no_fields = d.config_fields.is_empty();
    let coming = d.status == IntegrationStatus::ComingSoon;
    let initial = d.name.chars().next().unwrap_or('?').to_string();
    view! {
        <Title text=d.name.clone()/>
        <nav class="crumbs"><a href="/integrations">"Catalog"</a>" / "
            <a href=format!("/integrations?category={}", d.category.slug)>{d.category.name.clone()}</a>
        </nav>
        <section class="detail-head">
            <span class="logo logo-lg" aria-hidden="true">{initial}</span>
            <div>
                <h1>{d.name.clone()}</h1>
                <p class="lead">{d.summary.clone()}</p>
                <div class="chips">
                    <span class="chip">{auth_label(d.auth_shape)}</span>
                    {if coming {
                        view! { <span class="badge badge-soon">"Coming soon"</span> }.into_any()
                    } else {
                        view! { <span class="badge badge-live">"Available"</span> }.into_any()
                    }}
                </div>
            </div>
        </section>
        <div class="detail-grid">
            <section class="card">
                <h2>"About"</h2>
                <p>{d.description.clone()}</p>
                {d.partner_url.clone().map(|u| {
                    let text = u.clone();
                    view! { <p><a href=u rel="noopener" target="_blank">{text}</a></p> }
                })}
                <h2>"Capabilities"</h2>
                <table class="table">
                    <thead><tr><th>"Capability"</th><th>"Surface"</th><th>"Mode"</th><th>"Status"</th><th>"Version"</th></tr></thead>
                    <tbody>{caps}</tbody>
                </table>
            </section>
            <div class="side">
            <InstallPanel detail=d.clone()/>
            <section class="card" data-testid="asked-for">
                <h2>"What you'll be asked for"</h2>
                <p class="auth-explain">{d.auth_shape.explain()}</p>
                {if no_fields {
                    view! { <p class="muted">"No settings to fill in."</p> }.into_any()
                } else {
                    view! { <ul class="asklist">{fields}</ul> }.into_any()
                }}
                <p class="muted small">"You choose whether to install for every location or for one location."</p>
            </section>
            </div>
        </div>
    }
}
