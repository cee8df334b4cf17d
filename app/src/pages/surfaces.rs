//! One location's surfaces: every capability and which integrations fill it.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::installs::get_surfaces;
use crate::components::auth::RequireUser;
use crate::model::{LocationSurfaces, Mode};

/// The surfaces page.
#[component]
pub fn SurfacesPage() -> impl IntoView {
    view! {
        <Title text="Surfaces"/>
        <RequireUser render=|_me| view! { <Surfaces/> }/>
    }
}

#[component]
fn Surfaces() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.get().get("id").unwrap_or_default());
    let data = Resource::new(move || id.get(), get_surfaces);
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(s) => view! { <Table s/> }.into_any(),
                    Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Table(s: LocationSurfaces) -> impl IntoView {
    let rows = s
        .surfaces
        .into_iter()
        .map(|surface| {
            let c = surface.capability;
            let limit = match (c.mode, c.cap) {
                (Mode::Replace, _) => "replace · 1".to_string(),
                (Mode::Add, Some(n)) => format!("add · up to {n}"),
                (Mode::Add, None) => "add".to_string(),
            };
            let empty = surface.holders.is_empty();
            let holders = surface
                .holders
                .into_iter()
                .map(|h| {
                    let href = format!("/integrations/{}", h.integration);
                    let note = match (h.enabled, h.every_location) {
                        (false, _) => " (disabled)",
                        (true, true) => " (every location)",
                        _ => "",
                    };
                    view! { <a class="chip" href=href data-holder=h.integration.clone()>{format!("{}{note}", h.integration_name)}</a> }
                })
                .collect_view();
            view! {
                <tr data-surface=c.slug.clone()>
                    <td><code>{c.slug.clone()}</code><div class="muted small">{c.surface.clone()}</div></td>
                    <td class="small">{limit}</td>
                    <td class="holders">{if empty { view! { <span class="muted small">"Built-in"</span> }.into_any() } else { holders.into_any() }}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <nav class="crumbs"><a href="/locations">"Locations"</a>" / "{s.location_name.clone()}</nav>
        <h1>{format!("Surfaces of {}", s.location_name)}</h1>
        <p class="muted">"Which integration fills each surface of this location. Replace-mode surfaces have one holder; add-mode surfaces append up to their cap."</p>
        <section class="card">
            <table class="table surfaces" data-testid="surfaces">
                <thead><tr><th>"Capability"</th><th>"Mode"</th><th>"Filled by"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}
