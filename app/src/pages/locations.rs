//! The merchant's locations: add, rename, remove, and POS external ids.
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::locations::{
    list_locations, AddLocation, RemoveLocation, SetExternalId, UpdateLocation,
};
use crate::components::auth::RequireUser;
use crate::components::form::{last_error, ErrorBanner, FieldMessage};
use crate::model::{Location, COMMON_TIMEZONES};

/// The locations page.
#[component]
pub fn LocationsPage() -> impl IntoView {
    view! {
        <Title text="Locations"/>
        <RequireUser render=|_me| view! { <Locations/> }/>
    }
}

#[derive(Clone, Copy)]
struct Actions {
    add: ServerAction<AddLocation>,
    update: ServerAction<UpdateLocation>,
    remove: ServerAction<RemoveLocation>,
    external: ServerAction<SetExternalId>,
}

#[component]
fn Locations() -> impl IntoView {
    let actions = Actions {
        add: ServerAction::<AddLocation>::new(),
        update: ServerAction::<UpdateLocation>::new(),
        remove: ServerAction::<RemoveLocation>::new(),
        external: ServerAction::<SetExternalId>::new(),
    };
    let locations = Resource::new(
        move || {
            (
                actions.add.version().get(),
                actions.update.version().get(),
                actions.remove.version().get(),
                actions.external.version().get(),
            )
        },
        |_| list_locations(),
    );
    let add_error = last_error(actions.add.value());
    let update_error = last_error(actions.update.value());
    let remove_error = last_error(actions.remove.value());
    let external_error = last_error(actions.external.value());
    let tz_options = COMMON_TIMEZONES
        .iter()
        .map(|tz| view! { <option value=*tz/> })
        .collect_view();

    view! {
        <h1>"Locations"</h1>
        <p class="muted">"Each location (outlet) can run its own set of integrations."</p>
        <ErrorBanner error=update_error/>
        <ErrorBanner error=remove_error/>
        <ErrorBanner error=external_error/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match locations.await {
                    Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <p class="empty" data-testid="no-locations">"No locations yet. Add your first outlet below."</p>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="locations" data-testid="locations">
                            {list.into_iter().map(|l| view! { <LocationRow l actions/> }).collect_view()}
                        </ul>
                    }.into_any(),
                }
            })}
        </Transition>
        <datalist id="timezones">{tz_options}</datalist>
        <section class="card">
            <h2>"Add a location"</h2>
            <ErrorBanner error=add_error/>
            <ActionForm action=actions.add attr:class="row-form" attr:data-testid="add-location">
                <label>"Name"<input type="text" name="name" required maxlength="80" placeholder="Jakarta — Kemang"/>
                    <FieldMessage error=add_error field="name"/></label>
                <label>"City"<input type="text" name="city" required maxlength="80" placeholder="Jakarta"/>
                    <FieldMessage error=add_error field="city"/></label>
                <label>"Time zone"<input type="text" name="timezone" required list="timezones" value="Asia/Jakarta"/>
                    <FieldMessage error=add_error field="timezone"/></label>
                <button type="submit" class="btn btn-primary">"Add location"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn LocationRow(l: Location, actions: Actions) -> impl IntoView {
    let id = l.id.to_string();
    let ids = l
        .external_ids
        .clone()
        .into_iter()
        .map(|e| {
            let id = id.clone();
            view! {
                <li class="chip">
                    <span>{format!("{}: {}", e.provider, e.external_id)}</span>
                    <ActionForm action=actions.external attr:class="inline">
                        <input type="hidden" name="location_id" value=id/>
                        <input type="hidden" name="provider" value=e.provider/>
                        <input type="hidden" name="external_id" value=""/>
                        <button type="submit" class="link" title="Remove this id">"×"</button>
                    </ActionForm>
                </li>
            }
        })
        .collect_view();
    let confirm_text = format!(
        "Remove {}? Integrations installed only for it are removed too.",
        l.name
    );
    let surfaces_href = format!("/locations/{id}/surfaces");
    let catalog_href = format!("/locations/{id}/catalog");
    let (update_id, external_id, remove_id) = (id.clone(), id.clone(), id);
    let Location {
        name,
        city,
        timezone,
        ..
    } = l;
    let label = name.clone();
    view! {
        <li class="card location" data-location=label>
            <ActionForm action=actions.update attr:class="row-form">
                <input type="hidden" name="id" value=update_id/>
                <label>"Name"<input type="text" name="name" value=name required maxlength="80"/></label>
                <label>"City"<input type="text" name="city" value=city required maxlength="80"/></label>
                <label>"Time zone"<input type="text" name="timezone" value=timezone list="timezones" required/></label>
                <button type="submit" class="btn">"Save"</button>
            </ActionForm>
            <div class="external-ids">
                <span class="muted small">"POS ids:"</span>
                <ul class="chips">{ids}</ul>
                <ActionForm action=actions.external attr:class="inline-form">
                    <input type="hidden" name="location_id" value=external_id/>
                    <input type="text" name="provider" placeholder="provider, e.g. revel" aria-label="Provider" required/>
                    <input type="text" name="external_id" placeholder="their id" aria-label="External id" required/>
                    <button type="submit" class="btn btn-small">"Link"</button>
                </ActionForm>
            </div>
            <a class="btn btn-small" href=surfaces_href>"Surfaces →"</a>
            <a class="btn btn-small" href=catalog_href>"Items →"</a>
            <ActionForm action=actions.remove attr:class="inline"
                on:submit=move |ev| {
                    #[cfg(feature = "hydrate")]
                    if !window().confirm_with_message(&confirm_text).unwrap_or(false) {
                        ev.prevent_default();
                    }
                    #[cfg(not(feature = "hydrate"))]
                    let _ = (&ev, &confirm_text);
                }>
                <input type="hidden" name="id" value=remove_id/>
                <button type="submit" class="btn btn-danger">"Remove"</button>
            </ActionForm>
        </li>
    }
}
