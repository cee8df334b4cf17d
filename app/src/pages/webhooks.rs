//! `/webhooks`: the merchant's partner webhook endpoints (register one, see
//! the secret once), and `/webhooks/:id`: one endpoint's delivery log with
//! every attempt, its success rate over the last day, and Resend.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::outbound::{
    load_endpoint, load_webhooks, RegisterEndpoint, ResendDelivery, SetEndpointEnabled,
    WebhooksOverview,
};
use crate::components::auth::RequireUser;
use crate::components::form::{last_error, ErrorBanner, FieldMessage};
use crate::components::refresh::use_ticker;
use crate::model::outbound::{DeliveryRate, EndpointLog};

#[component]
pub fn WebhooksPage() -> impl IntoView {
    view! {
        <Title text="Webhooks"/>
        <RequireUser render=|_| view! { <Webhooks/> }/>
    }
}

#[component]
fn Webhooks() -> impl IntoView {
    let register = ServerAction::<RegisterEndpoint>::new();
    let data = Resource::new(move || register.version().get(), |_| load_webhooks());
    let created = move || {
        register.value().get().and_then(|r| r.ok()).map(|c| {
            view! {
                <div class="alert alert-info" data-testid="endpoint-secret">
                    <p>{format!("Registered {}. Verify signatures with this secret; it is not shown again:", c.endpoint.url)}</p>
                    <pre class="code">{c.secret}</pre>
                </div>
            }
        })
    };
    view! {
        <h1>"Webhooks"</h1>
        <p class="muted">"Where Plugboard sends your orders and their status changes. Every delivery is signed; failed ones are retried after 1, 5, 15 and 60 minutes. "
            <a href="/docs/api">"API reference"</a>" · "<a href="/docs/webhooks">"how partners verify signatures"</a></p>
        {created}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                    Ok(o) => view! { <EndpointList o register/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn EndpointList(o: WebhooksOverview, register: ServerAction<RegisterEndpoint>) -> impl IntoView {
    let error = last_error(register.value());
    let location_name = {
        let locations = o.locations.clone();
        move |id: Option<uuid::Uuid>| match id {
            None => "every location".to_string(),
            Some(id) => locations
                .iter()
                .find(|l| l.id == id)
                .map(|l| l.name.clone())
                .unwrap_or_else(|| id.to_string()),
        }
    };
    let rows = o
        .endpoints
        .into_iter()
        .map(|e| {
            let href = format!("/webhooks/{}", e.id);
            let state = if e.enabled {
                "enabled".to_string()
            } else {
                "disabled".to_string()
            };
            view! {
                <tr data-endpoint=e.url.clone()>
                    <td><a href=href>{e.url.clone()}</a></td>
                    <td>{location_name(e.outlet_id)}</td>
                    <td>{e.events.join(", ")}</td>
                    <td>{e.format.clone()}</td>
                    <td><span class="badge">{state}</span></td>
                </tr>
            }
        })
        .collect_view();
    let locations = o
        .locations
        .iter()
        .map(|l| view! { <option value=l.id.to_string()>{l.name.clone()}</option> })
        .collect_view();
    view! {
        <section class="card">
            <table class="table" data-testid="endpoints">
                <thead><tr><th>"URL"</th><th>"For"</th><th>"Events"</th><th>"Format"</th><th></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
        <section class="card">
            <h2>"Register an endpoint"</h2>
            <ErrorBanner error/>
            <ActionForm action=register attr:class="row-form" attr:data-testid="register-endpoint">
                <label>"URL"<input type="url" name="url" required placeholder="https://partner.example.com/plugboard"/>
                    <FieldMessage error field="url"/></label>
                <label>"For"<select name="outlet_id"><option value="">"every location"</option>{locations}</select>
                    <FieldMessage error field="outletId"/></label>
                <label>"Events"<input type="text" name="events" value="*" placeholder="* or order.paid, order.ready"/>
                    <FieldMessage error field="events"/></label>
                <label>"Signature format"<select name="format">
                    <option value="cata">"X-Cata-Signature (HMAC-SHA256, hex)"</option>
                    <option value="standard">"Standard Webhooks (webhook-signature)"</option>
                    <option value="posz">"X-Posz-Signature (HMAC-SHA256, hex)"</option>
                </select></label>
                <button type="submit" class="btn btn-primary">"Register"</button>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn EndpointPage() -> impl IntoView {
    view! {
        <Title text="Webhook endpoint"/>
        <RequireUser render=|_| view! { <Endpoint/> }/>
    }
}

#[component]
fn Endpoint() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let resend = ServerAction::<ResendDelivery>::new();
    let toggle = ServerAction::<SetEndpointEnabled>::new();
    // The log follows the workers: it reloads every two seconds.
    let tick = use_ticker(2000);
    let data = Resource::new(
        move || {
            (
                id(),
                resend.version().get(),
                toggle.version().get(),
                tick.get(),
            )
        },
        |(id, ..)| load_endpoint(id),
    );
    let errors = [last_error(resend.value()), last_error(toggle.value())];
    view! {
        <p><a href="/webhooks">"← Webhooks"</a></p>
        {errors.map(|e| view! { <ErrorBanner error=e/> })}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                    Ok(log) => view! { <EndpointLogView log resend toggle/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn EndpointLogView(
    log: EndpointLog,
    resend: ServerAction<ResendDelivery>,
    toggle: ServerAction<SetEndpointEnabled>,
) -> impl IntoView {
    let e = log.endpoint.clone();
    let id = e.id.to_string();
    let disabled = (!e.enabled).then(|| {
        view! {
            <div class="alert alert-error" data-testid="endpoint-disabled">
                <p>{e.disabled_reason.clone().unwrap_or_else(|| "Disabled.".into())}</p>
            </div>
        }
    });
    let failing = e
        .failing_since
        .clone()
        .filter(|_| e.enabled)
        .map(|since| view! { <p class="alert alert-warn">{format!("Every delivery has failed since {since}.")}</p> });
    let rows = log
        .deliveries
        .into_iter()
        .map(|d| {
            let did = d.id.to_string();
            let can_resend = d.status != "succeeded";
            let resend_id = did.clone();
            view! {
                <tr data-delivery=did data-status=d.status.clone()>
                    <td class="small">{d.created_at.clone()}</td>
                    <td>{d.event_type.clone()}</td>
                    <td><span class="badge">{d.status.clone()}</span></td>
                    <td>{d.attempts}</td>
                    <td>{d.last_status_code.map(|c| c.to_string()).unwrap_or_default()}</td>
                    <td class="reason">{d.last_error.clone().unwrap_or_default()}</td>
                    <td>{d.order_id.map(|o| view! { <a href=format!("/orders/{o}")>"order"</a> })}</td>
                    <td>{can_resend.then(move || view! {
                        <ActionForm action=resend attr:class="inline">
                            <input type="hidden" name="id" value=resend_id/>
                            <button type="submit" class="btn btn-small">"Resend"</button>
                        </ActionForm>
                    })}</td>
                </tr>
            }
        })
        .collect_view();
    let (next, label) = if e.enabled {
        ("false", "Disable")
    } else {
        ("true", "Enable")
    };
    view! {
        <h1 class="break">{e.url.clone()}</h1>
        <p class="muted">{format!("{} · events {} · {}", e.format, e.events.join(", "), if e.enabled { "enabled" } else { "disabled" })}</p>
        {disabled}
        {failing}
        <ActionForm action=toggle attr:class="inline">
            <input type="hidden" name="id" value=id/>
            <input type="hidden" name="enabled" value=next/>
            <button type="submit" class="btn" data-testid="toggle-endpoint">{label}</button>
        </ActionForm>
        <section class="card">
            <h2>"Success rate, last 24 hours"</h2>
            <RateChart rates=log.rates.clone()/>
        </section>
        <section class="card">
            <h2>"Deliveries"</h2>
            <table class="table" data-testid="endpoint-deliveries">
                <thead><tr><th>"Created"</th><th>"Event"</th><th>"Status"</th><th>"Attempts"</th><th>"Last HTTP"</th><th>"Last error"</th><th></th><th></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}

/// One bar per hour: green for succeeded deliveries, red for failed ones.
#[component]
fn RateChart(rates: Vec<DeliveryRate>) -> impl IntoView {
    let max = rates
        .iter()
        .map(|r| r.succeeded + r.failed)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let (ok, bad): (u32, u32) = rates
        .iter()
        .fold((0, 0), |(o, b), r| (o + r.succeeded, b + r.failed));
    let total = ok + bad;
    let summary = if total == 0 {
        "No finished deliveries in the last 24 hours.".to_string()
    } else {
        format!(
            "{ok} of {total} delivered ({:.0}%).",
            f64::from(ok) * 100.0 / f64::from(total)
        )
    };
    let bars = rates
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let x = i as f64 * 12.0;
            let h_ok = f64::from(r.succeeded) / max * 60.0;
            let h_bad = f64::from(r.failed) / max * 60.0;
            let title = format!("{}: {} delivered, {} failed", r.hour, r.succeeded, r.failed);
            view! {
                <g>
                    <title>{title}</title>
                    <rect x=x y=60.0 - h_ok width="10" height=h_ok class="bar-ok"/>
                    <rect x=x y=60.0 - h_ok - h_bad width="10" height=h_bad class="bar-failed"/>
                </g>
            }
        })
        .collect_view();
    view! {
        <svg class="rate-chart" viewBox="0 0 288 60" role="img" aria-label=summary.clone() data-testid="rate-chart">{bars}</svg>
        <p class="muted small" data-testid="rate-summary">{summary}</p>
    }
}
