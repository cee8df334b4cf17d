//! `/orders`: the merchant's orders per location with their live status and
//! dispatch state, and a test order; `/orders/:id`: one order's status
//! history, every dispatch with its attempts (and Resend), and its receipt.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::outbound::{
    load_order, load_orders, DispatchTestOrder, OrdersOverview, ResendDelivery,
};
use crate::components::auth::RequireUser;
use crate::components::form::{last_error, ErrorBanner};
use crate::components::refresh::use_ticker;
use crate::model::outbound::OrderDetail;

#[component]
pub fn OrdersPage() -> impl IntoView {
    view! {
        <Title text="Orders"/>
        <RequireUser render=|_| view! { <Orders/> }/>
    }
}

#[component]
fn Orders() -> impl IntoView {
    let query = use_query_map();
    let location = move || query.read().get("location");
    let dispatch = ServerAction::<DispatchTestOrder>::new();
    let tick = use_ticker(2000);
    let data = Resource::new(
        move || (location(), dispatch.version().get(), tick.get()),
        |(location, ..)| load_orders(location),
    );
    // The form sits outside the refreshing list, so a choice survives reloads.
    let locations = Resource::new(|| (), |_| load_orders(None));
    let error = last_error(dispatch.value());
    view! {
        <h1>"Orders"</h1>
        <p class="muted">"Orders dispatched to your partners and POS, with their status as it changes. The list follows along by itself."</p>
        <ErrorBanner error/>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let options = locations
                    .await
                    .map(|o| o.locations)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|l| view! { <option value=l.id.to_string()>{l.name}</option> })
                    .collect_view();
                view! {
                    <ActionForm action=dispatch attr:class="row-form" attr:data-testid="dispatch-test-order">
                        <label>"Location"<select name="outlet_id">{options}</select></label>
                        <button type="submit" class="btn btn-primary">"Dispatch a test order"</button>
                    </ActionForm>
                }
            })}
        </Transition>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                    Ok(o) => view! { <OrderList o/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn OrderList(o: OrdersOverview) -> impl IntoView {
    let filters = o
        .locations
        .iter()
        .map(|l| {
            let href = format!("/orders?location={}", l.id);
            view! { <a class="chip" href=href>{l.name.clone()}</a> }
        })
        .collect_view();
    let location_name = {
        let locations = o.locations.clone();
        move |id: uuid::Uuid| {
            locations
                .iter()
                .find(|l| l.id == id)
                .map(|l| l.name.clone())
                .unwrap_or_default()
        }
    };
    let rows = o
        .orders
        .into_iter()
        .map(|order| {
            let href = format!("/orders/{}", order.id);
            let dispatch = match &order.dispatch_reason {
                Some(r) if order.dispatch_status != "dispatched" => {
                    format!("{} · {r}", order.dispatch_status)
                }
                _ => order.dispatch_status.clone(),
            };
            view! {
                <tr data-order=order.reference.clone()>
                    <td><a href=href>{order.reference.clone()}</a></td>
                    <td>{location_name(order.outlet_id)}</td>
                    <td><span class="badge" data-testid="order-status">{order.status.clone()}</span></td>
                    <td class="reason" data-testid="dispatch-status">{dispatch}</td>
                    <td>{order.external_order_id.clone().unwrap_or_default()}</td>
                    <td class="small">{order.updated_at.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p class="chips"><a class="chip" href="/orders">"All locations"</a>{filters}</p>
        <section class="card">
            <table class="table" data-testid="orders">
                <thead><tr><th>"Order"</th><th>"Location"</th><th>"Status"</th><th>"Dispatch"</th><th>"Receiver's id"</th><th>"Updated"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}

#[component]
pub fn OrderPage() -> impl IntoView {
    view! {
        <Title text="Order"/>
        <RequireUser render=|_| view! { <OrderView/> }/>
    }
}

#[component]
fn OrderView() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let resend = ServerAction::<ResendDelivery>::new();
    let tick = use_ticker(2000);
    let data = Resource::new(
        move || (id(), resend.version().get(), tick.get()),
        |(id, ..)| load_order(id),
    );
    let error = last_error(resend.value());
    view! {
        <p><a href="/orders">"← Orders"</a></p>
        <ErrorBanner error/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                    Ok(d) => view! { <OrderDetailView d resend/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn OrderDetailView(d: OrderDetail, resend: ServerAction<ResendDelivery>) -> impl IntoView {
    let o = d.order.clone();
    let history = d
        .history
        .iter()
        .map(|h| {
            view! {
                <li>{format!("{} → {} (v{}, by {}) at {}", h.from.clone().unwrap_or_else(|| "new".into()), h.to, h.version, h.source, h.at)}</li>
            }
        })
        .collect_view();
    let deliveries = d
        .deliveries
        .iter()
        .cloned()
        .map(|dd| {
            let del = dd.delivery;
            let did = del.id.to_string();
            let target = del
                .endpoint_url
                .clone()
                .or_else(|| del.provider.clone().map(|p| format!("{p} (POS transformer)")))
                .unwrap_or_default();
            let can_resend = del.status != "succeeded";
            let resend_id = did.clone();
            let attempts = dd
                .attempts
                .into_iter()
                .map(|a| {
                    let outcome = a.outcome.clone();
                    view! {
                        <tr data-outcome=outcome>
                            <td>{a.attempt}</td>
                            <td class="small">{a.attempted_at}</td>
                            <td>{a.status_code.map(|c| c.to_string()).unwrap_or_else(|| "—".into())}</td>
                            <td>{format!("{} ms", a.latency_ms)}</td>
                            <td>{a.outcome}</td>
                            <td class="reason">{a.error.unwrap_or_default()}</td>
                            <td class="small"><code>{a.response_excerpt.unwrap_or_default()}</code></td>
                        </tr>
                    }
                })
                .collect_view();
            view! {
                <section class="card" data-delivery=did data-status=del.status.clone()>
                    <h3 class="break">{format!("{} → {target}", del.event_type)}</h3>
                    <p>
                        <span class="badge" data-testid="delivery-status">{del.status.clone()}</span>
                        {del.next_attempt_at.clone().filter(|_| del.status == "pending").map(|t| view! { <span class="muted small">{format!(" next attempt {t}")}</span> })}
                    </p>
                    {can_resend.then(move || view! {
                        <ActionForm action=resend attr:class="inline">
                            <input type="hidden" name="id" value=resend_id/>
                            <button type="submit" class="btn btn-small" data-testid="resend">"Resend"</button>
                        </ActionForm>
                    })}
                    <table class="table" data-testid="attempts">
                        <thead><tr><th>"#"</th><th>"At"</th><th>"HTTP"</th><th>"Took"</th><th>"Outcome"</th><th>"Reason"</th><th>"Answer"</th></tr></thead>
                        <tbody>{attempts}</tbody>
                    </table>
                </section>
            }
        })
        .collect_view();
    let receipt = d
        .receipt
        .attachments
        .iter()
        .map(|a| {
            view! {
                <li data-integration=a.integration.clone()>
                    <strong>{a.label.clone()}</strong>" "<span class="muted small">{format!("({}, {})", a.integration, a.kind)}</span>
                    <br/><a class="small break" href=a.content.clone() rel="noopener noreferrer">{a.content.clone()}</a>
                </li>
            }
        })
        .collect_view();
    let refunds = (!d.refunds.is_empty()).then(|| {
        let rows = d
            .refunds
            .iter()
            .map(|r| {
                view! {
                    <tr>
                        <td>{format!("{} {}", r.amount, r.currency)}</td>
                        <td>{r.reason.clone()}</td>
                        <td class="muted">{r.created_at.clone()}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <section class="card">
                <h2>"Refunds"</h2>
                <table class="table" data-testid="refunds">
                    <thead><tr><th>"Amount"</th><th>"Reason"</th><th>"When"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </section>
        }
    });
    let payload = serde_json::to_string_pretty(&d.payload).unwrap_or_default();
    view! {
        <h1>{format!("Order {}", o.reference)}</h1>
        <p>
            <span class="badge" data-testid="order-status">{o.status.clone()}</span>
            {format!(" · version {} · {} {} · dispatch {}", o.version, o.total, o.currency, o.dispatch_status)}
            {o.external_order_id.clone().map(|e| format!(" · receiver's id {e}"))}
        </p>
        {o.dispatch_reason.clone().filter(|_| o.dispatch_status != "dispatched").map(|r| view! { <p class="alert alert-warn" data-testid="dispatch-reason">{r}</p> })}
        <section class="card">
            <h2>"Status history"</h2>
            <ol data-testid="history">{history}</ol>
        </section>
        <section class="card">
            <h2>"Receipt"</h2>
            {if d.receipt.attachments.is_empty() {
                view! { <p class="muted">"Nothing added to the receipt."</p> }.into_any()
            } else {
                view! { <ol data-testid="receipt">{receipt}</ol> }.into_any()
            }}
        </section>
        {refunds}
        <h2>"Dispatches"</h2>
        {deliveries}
        <section class="card">
            <h2>"Order as dispatched"</h2>
            <pre class="code">{payload}</pre>
        </section>
    }
}
