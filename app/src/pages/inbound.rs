//! `/inbound`: the merchant's provider connections (POS, warehouse, feeds),
//! which provider store is which location, which provider SKU is which
//! item, which provider variant is which variant of an item, and the newest
//! deliveries with their status and Replay.
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::inbound::{
    load_deliveries, load_inbound, AddConnection, AddItemMapping, AddStoreMapping,
    AddVariantMapping, InboundOverview, RemoveConnection, ReplayDelivery,
};
use crate::components::auth::RequireUser;
use crate::components::form::{last_error, ErrorBanner, FieldMessage};
use crate::components::refresh::use_ticker;
use crate::model::{InboundEventSummary, ItemMapping};

#[component]
pub fn InboundPage() -> impl IntoView {
    view! {
        <Title text="Inbound"/>
        <RequireUser render=|_| view! { <Inbound/> }/>
    }
}

#[derive(Clone, Copy)]
struct Actions {
    add: ServerAction<AddConnection>,
    remove: ServerAction<RemoveConnection>,
    store: ServerAction<AddStoreMapping>,
    item: ServerAction<AddItemMapping>,
    variant: ServerAction<AddVariantMapping>,
    replay: ServerAction<ReplayDelivery>,
}

#[component]
fn Inbound() -> impl IntoView {
    let a = Actions {
        add: ServerAction::new(),
        remove: ServerAction::new(),
        store: ServerAction::new(),
        item: ServerAction::new(),
        variant: ServerAction::new(),
        replay: ServerAction::new(),
    };
    let setup = Resource::new(
        move || {
            (
                a.add.version().get(),
                a.remove.version().get(),
                a.store.version().get(),
                a.item.version().get(),
                a.variant.version().get(),
                a.replay.version().get(),
            )
        },
        |_| load_inbound(),
    );
    let created = move || {
        a.add.value().get().and_then(|r| r.ok()).map(|c| {
            view! {
                <div class="alert alert-info" data-testid="connection-secret">
                    <p>{format!("Connected {} account {}. Give the provider this signing secret now; it is not shown again:", c.connection.provider, c.connection.account_id)}</p>
                    <pre class="code">{c.secret}</pre>
                </div>
            }
        })
    };
    let errors = [
        last_error(a.remove.value()),
        last_error(a.replay.value()),
        last_error(a.item.value()),
        last_error(a.variant.value()),
    ];
    view! {
        <h1>"Inbound"</h1>
        <p class="muted">"Webhooks from your POS, warehouse and seller feeds: who sends them, and how their stores, SKUs and variants map to your locations, items and variants."</p>
        {created}
        {errors.map(|e| view! { <ErrorBanner error=e/> })}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match setup.await {
                    Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                    Ok(s) => view! { <Setup s a/> }.into_any(),
                }
            })}
        </Transition>
        // Outside the setup's Transition: its own resource reloads every
        // two seconds, and nested inside, a reload racing the setup's
        // refetch could leave the setup showing its old rows.
        <Deliveries replay=a.replay/>
    }
}

#[component]
fn Setup(s: InboundOverview, a: Actions) -> impl IntoView {
    let add_error = last_error(a.add.value());
    let store_error = last_error(a.store.value());
    let provider_options = move |list: &[String]| {
        list.iter()
            .map(|p| view! { <option value=p.clone()>{p.clone()}</option> })
            .collect_view()
    };
    let location_name = {
        let locations = s.locations.clone();
        move |id: uuid::Uuid| {
            locations
                .iter()
                .find(|l| l.id == id)
                .map(|l| l.name.clone())
                .unwrap_or_else(|| id.to_string())
        }
    };
    let connections = s
        .connections
        .iter()
        .cloned()
        .map(|c| {
            let id = c.id.to_string();
            let account = c.account_id.clone();
            view! {
                <tr data-connection=account>
                    <td>{c.provider}</td><td><code>{c.account_id}</code></td>
                    <td>{if c.allow_new_items { "creates items" } else { "mapped SKUs only" }}</td>
                    <td>{if c.ip_allowlist.is_empty() { "any address".to_string() } else { c.ip_allowlist.join(", ") }}</td>
                    <td>
                        <ActionForm action=a.remove attr:class="inline">
                            <input type="hidden" name="id" value=id/>
                            <button type="submit" class="btn btn-small btn-danger">"Disconnect"</button>
                        </ActionForm>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let stores = s
        .store_mappings
        .iter()
        .cloned()
        .map(|m| {
            let loc = location_name(m.location_id);
            view! { <tr><td>{m.provider}</td><td><code>{m.provider_store_id}</code></td><td>{loc}</td></tr> }
        })
        .collect_view();
    let items = s
        .item_mappings
        .iter()
        .cloned()
        .map(|m| {
            view! { <tr><td>{m.provider}</td><td><code>{m.provider_sku}</code></td><td class="small">{m.item_id.map(|i| i.to_string()).unwrap_or_default()}</td></tr> }
        })
        .collect_view();
    let item_label = {
        let mappings = s.item_mappings.clone();
        move |id: uuid::Uuid| {
            mappings
                .iter()
                .find(|m| m.item_id == Some(id))
                .map(sku_label)
                .unwrap_or_else(|| id.to_string())
        }
    };
    let variants = s
        .variant_mappings
        .iter()
        .cloned()
        .map(|m| {
            let item = item_label(m.item_id);
            let key = m.provider_variant_id.clone();
            view! {
                <tr data-variant=key>
                    <td>{m.provider}</td><td><code>{m.provider_variant_id}</code></td><td>{item}</td>
                    <td class="small">{m.variant_id.map(|v| v.to_string()).unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    let item_options = s
        .item_mappings
        .iter()
        .filter_map(|m| {
            let id = m.item_id?;
            Some(view! { <option value=id.to_string()>{sku_label(m)}</option> })
        })
        .collect_view();
    let (providers_a, providers_b, providers_c, providers_d) = (
        provider_options(&s.providers),
        provider_options(&s.providers),
        provider_options(&s.providers),
        provider_options(&s.providers),
    );
    let location_options = s
        .locations
        .iter()
        .map(|l| view! { <option value=l.id.to_string()>{l.name.clone()}</option> })
        .collect_view();
    view! {
        <section class="card">
            <h2>"Connections"</h2>
            <table class="table" data-testid="connections">
                <thead><tr><th>"Provider"</th><th>"Account"</th><th>"New SKUs"</th><th>"Allowed senders"</th><th></th></tr></thead>
                <tbody>{connections}</tbody>
            </table>
            <ErrorBanner error=add_error/>
            <ActionForm action=a.add attr:class="row-form" attr:data-testid="add-connection">
                <label>"Provider"<select name="provider">{providers_a}</select></label>
                <label>"Account id"<input type="text" name="account_id" required maxlength="200"/>
                    <FieldMessage error=add_error field="account_id"/></label>
                <label>"Allowed senders"<input type="text" name="ip_allowlist" placeholder="any, or 203.0.113.0/24"/>
                    <FieldMessage error=add_error field="ip_allowlist"/></label>
                <label class="check"><input type="checkbox" name="allow_new_items" value="on"/>"Create items for new SKUs"</label>
                <button type="submit" class="btn btn-primary">"Connect"</button>
            </ActionForm>
        </section>
        <section class="card">
            <h2>"Stores → locations"</h2>
            <table class="table" data-testid="store-mappings">
                <thead><tr><th>"Provider"</th><th>"Provider store"</th><th>"Location"</th></tr></thead>
                <tbody>{stores}</tbody>
            </table>
            <ErrorBanner error=store_error/>
            <ActionForm action=a.store attr:class="row-form" attr:data-testid="add-store-mapping">
                <label>"Provider"<select name="provider">{providers_b}</select></label>
                <label>"Provider store id"<input type="text" name="provider_store_id" required maxlength="200"/>
                    <FieldMessage error=store_error field="provider_store_id"/></label>
                <label>"Location"<select name="location_id" required>{location_options}</select>
                    <FieldMessage error=store_error field="location_id"/></label>
                <button type="submit" class="btn">"Map store"</button>
            </ActionForm>
        </section>
        <section class="card">
            <h2>"SKUs → items"</h2>
            <table class="table" data-testid="item-mappings">
                <thead><tr><th>"Provider"</th><th>"Provider SKU"</th><th>"Item"</th></tr></thead>
                <tbody>{items}</tbody>
            </table>
            <ActionForm action=a.item attr:class="row-form" attr:data-testid="add-item-mapping">
                <label>"Provider"<select name="provider">{providers_c}</select></label>
                <label>"Provider SKU"<input type="text" name="provider_sku" required maxlength="200"/></label>
                <button type="submit" class="btn">"Map to a new item"</button>
            </ActionForm>
        </section>
        <section class="card">
            <h2>"Variants → items"</h2>
            <table class="table" data-testid="variant-mappings">
                <thead><tr><th>"Provider"</th><th>"Provider variant"</th><th>"Item"</th><th>"Variant"</th></tr></thead>
                <tbody>{variants}</tbody>
            </table>
            <ActionForm action=a.variant attr:class="row-form" attr:data-testid="add-variant-mapping">
                <label>"Provider"<select name="provider">{providers_d}</select></label>
                <label>"Provider variant id"<input type="text" name="provider_variant_id" required maxlength="200"/></label>
                <label>"Item"<select name="item_id" required>{item_options}</select></label>
                <button type="submit" class="btn">"Map to a new variant"</button>
            </ActionForm>
        </section>
    }
}

/// The newest deliveries with their status, reloaded every two seconds
/// (a large import shows its progress as its chunks commit).
#[component]
fn Deliveries(replay: ServerAction<ReplayDelivery>) -> impl IntoView {
    let tick = use_ticker(2_000);
    let deliveries = Resource::new(
        move || (tick.get(), replay.version().get()),
        |_| load_deliveries(),
    );
    let rows = move || {
        Suspend::new(async move {
            match deliveries.await {
                Err(e) => view! { <tr><td colspan="5" class="alert alert-error">{e.to_string()}</td></tr> }.into_any(),
                Ok(list) => list.into_iter().map(|e| delivery_row(e, replay)).collect_view().into_any(),
            }
        })
    };
    view! {
        <section class="card">
            <h2>"Newest deliveries"</h2>
            <p class="muted small">"A large import is applied 500 rows at a time; its status counts them as they land."</p>
            <table class="table" data-testid="deliveries">
                <thead><tr><th>"Received"</th><th>"From"</th><th>"Status"</th><th>"Reason"</th><th></th></tr></thead>
                <tbody>
                    <Transition fallback=|| view! { <tr><td colspan="5" class="muted">"Loading…"</td></tr> }>
                        {rows}
                    </Transition>
                </tbody>
            </table>
        </section>
    }
}

/// One delivery: what became of it, and Replay when it failed.
fn delivery_row(e: InboundEventSummary, replay: ServerAction<ReplayDelivery>) -> impl IntoView {
    let id = e.id.to_string();
    let failed = e.status == "failed";
    let status = match (&e.failure_class, e.in_progress, e.commands_applied) {
        (Some(c), _, _) if failed => format!("failed · {c}"),
        (_, true, Some(done)) => format!(
            "processing… {done} of {}",
            e.commands_total.unwrap_or_default()
        ),
        (_, true, None) => "processing…".to_string(),
        (_, _, Some(n)) if e.status == "processed" => format!("processed · {n} applied"),
        _ => e.status.clone(),
    };
    let row_id = id.clone();
    view! {
        <tr data-event=row_id>
            <td class="small">{e.received_at}</td>
            <td>{format!("{} / {}", e.provider, e.topic)}</td>
            <td><span class="badge">{status}</span></td>
            <td class="reason">{e.failure_reason.unwrap_or_default()}</td>
            <td>{failed.then(|| view! {
                <ActionForm action=replay attr:class="inline">
                    <input type="hidden" name="id" value=id.clone()/>
                    <button type="submit" class="btn btn-small">"Replay"</button>
                </ActionForm>
            })}</td>
        </tr>
    }
}

/// How the page names an item: items have no name of their own here, so
/// by the provider SKU mapped to it.
fn sku_label(m: &ItemMapping) -> String {
    format!("{} · {}", m.provider, m.provider_sku)
}
