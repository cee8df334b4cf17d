//! `/cashier`: create a QRIS charge at an outlet; `/cashier/:id`: the
//! charge screen the customer scans — the QR, the amount, a countdown to
//! expiry and the status as it changes — with the development simulator.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::api::payments::{load_cashier, load_charge, CreateCharge, SimulatePayment};
use crate::components::auth::RequireUser;
use crate::components::form::{last_error, ErrorBanner};
use crate::components::refresh::use_ticker;
use crate::model::payments::Payment;

#[component]
pub fn CashierPage() -> impl IntoView {
    view! {
        <Title text="Cashier"/>
        <RequireUser render=|_| view! { <Cashier/> }/>
    }
}

/// `25000` → `Rp 25.000`.
pub fn rupiah(whole: &str) -> String {
    let digits: Vec<char> = whole.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut out = String::new();
    for (i, c) in digits.iter().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(*c);
    }
    format!("Rp {out}")
}

#[component]
fn Cashier() -> impl IntoView {
    let query = use_query_map();
    let location = move || query.read().get("location");
    let create = ServerAction::<CreateCharge>::new();
    let data = Resource::new(
        move || (location(), create.version().get()),
        |(location, _)| load_cashier(location),
    );
    let error = last_error(create.value());
    // A new charge opens its screen.
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(p)) = create.value().get() {
            navigate(&format!("/cashier/{}", p.id), Default::default());
        }
    });
    view! {
        <h1>"Cashier"</h1>
        <p class="muted">"Charge with QRIS. Plugboard asks your payment providers in priority order and switches to the backup by itself when one is down."</p>
        <ErrorBanner error/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                    Ok(o) => {
                        let chosen = location();
                        let options = o
                            .locations
                            .iter()
                            .map(|l| {
                                let id = l.id.to_string();
                                let selected = chosen.as_deref() == Some(id.as_str());
                                view! { <option value=id selected=selected>{l.name.clone()}</option> }
                            })
                            .collect_view();
                        view! {
                            <ActionForm action=create attr:class="card stack" attr:data-testid="charge-form">
                                <label>"Outlet"<select name="outlet_id">{options}</select></label>
                                <label>"Amount (rupiah)"<input name="amount" inputmode="numeric" required placeholder="25000"/></label>
                                <label>"What for"<input name="description" placeholder="Kopi susu ×2"/></label>
                                <button type="submit" class="btn btn-primary">"Create QRIS charge"</button>
                            </ActionForm>
                            <h2>"Recent charges"</h2>
                            <PaymentList payments=o.payments/>
                        }
                        .into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn PaymentList(payments: Vec<Payment>) -> impl IntoView {
    if payments.is_empty() {
        return view! { <p class="muted">"No charges yet."</p> }.into_any();
    }
    let rows = payments
        .into_iter()
        .map(|p| {
            let href = format!("/cashier/{}", p.id);
            let status_class = format!("badge badge-{}", p.status);
            view! {
                <tr>
                    <td><a href=href>{p.order_reference.clone()}</a></td>
                    <td>{rupiah(&p.gross_amount)}</td>
                    <td>{p.provider.clone()}</td>
                    <td><span class=status_class>{p.status.clone()}</span></td>
                    <td class="muted">{p.created_at.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="table">
            <thead><tr><th>"Order"</th><th>"Amount"</th><th>"Provider"</th><th>"Status"</th><th>"Created"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
pub fn ChargePage() -> impl IntoView {
    view! {
        <Title text="QRIS charge"/>
        <RequireUser render=|_| view! { <Charge/> }/>
    }
}

#[component]
fn Charge() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let simulate = ServerAction::<SimulatePayment>::new();
    let tick = use_ticker(2000);
    let data = Resource::new(
        move || (id(), tick.get(), simulate.version().get()),
        |(id, ..)| load_charge(id),
    );
    let error = last_error(simulate.value());
    view! {
        <p><a href="/cashier">"← Cashier"</a></p>
        <ErrorBanner error/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                    Ok(c) => {
                        let p = c.payment;
                        let pending = p.status == "pending";
                        let status_class = format!("badge badge-{}", p.status);
                        let failover = (!p.failover.is_empty()).then(|| {
                            let tried = p
                                .failover
                                .iter()
                                .map(|f| format!("{} ({})", f.provider, f.error))
                                .collect::<Vec<_>>()
                                .join(", ");
                            view! { <p class="muted" data-testid="failover">"Served by the backup after: " {tried}</p> }
                        });
                        let simulator = (c.simulator && pending).then(|| {
                            let id = p.id.to_string();
                            view! {
                                <ActionForm action=simulate attr:data-testid="simulate">
                                    <input type="hidden" name="id" value=id/>
                                    <button type="submit" class="btn">"Simulate customer payment (development)"</button>
                                </ActionForm>
                            }
                        });
                        view! {
                            <div class="card charge" data-testid="charge">
                                <h1>{rupiah(&p.gross_amount)}</h1>
                                <p>"Order " {p.order_reference.clone()} " · via " <strong data-testid="provider">{p.provider.clone()}</strong></p>
                                <p>"Status: " <span class=status_class data-testid="payment-status">{p.status.clone()}</span></p>
                                {pending.then(|| view! {
                                    <div class="qr" data-testid="qr" inner_html=c.qr_svg.clone()></div>
                                    <p>"Expires in " <Countdown expires_at=p.expires_at.clone()/></p>
                                })}
                                {failover}
                                {simulator}
                            </div>
                        }
                        .into_any()
                    }
                }
            })}
        </Transition>
    }
}

fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
    }
}

/// Minutes and seconds until `expires_at` (RFC 3339), ticking.
#[component]
fn Countdown(expires_at: String) -> impl IntoView {
    let expires_ms =
        time::OffsetDateTime::parse(&expires_at, &time::format_description::well_known::Rfc3339)
            .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
            .unwrap_or(0);
    let tick = use_ticker(1000);
    view! {
        <strong data-testid="countdown">
            {move || {
                tick.get();
                let left = (expires_ms - now_ms()) / 1000;
                if left <= 0 {
                    "expired".to_string()
                } else {
                    format!("{}:{:02}", left / 60, left % 60)
                }
            }}
        </strong>
    }
}

#[cfg(test)]
mod tests {
    use super::rupiah;

    #[test]
    fn rupiah_groups_thousands() {
        assert_eq!(rupiah("25000"), "Rp 25.000");
        assert_eq!(rupiah("1500000"), "Rp 1.500.000");
        assert_eq!(rupiah("999"), "Rp 999");
    }
}
