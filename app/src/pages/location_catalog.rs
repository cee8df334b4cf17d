//! `/locations/:id/catalog`: the merchant's view of one location's catalog
//! and availability, as their POS, warehouse and feeds last set it.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::locations::get_location_catalog;
use crate::components::auth::RequireUser;
use crate::components::catalog_table::CatalogTable;

#[component]
pub fn LocationCatalogPage() -> impl IntoView {
    view! {
        <Title text="Location catalog"/>
        <RequireUser render=|_| view! { <View/> }/>
    }
}

#[component]
fn View() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.get().get("id").unwrap_or_default());
    let catalog = Resource::new(move || id.get(), get_location_catalog);
    view! {
        <p><a href="/locations">"← Locations"</a></p>
        <h1>"Catalog"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match catalog.await {
                    Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                    Ok(c) => view! { <CatalogTable catalog=c/> }.into_any(),
                }
            })}
        </Transition>
    }
}
