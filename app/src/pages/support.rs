//! The support console: dead-lettered inbound events across merchants
//! (filters, detail, replay single and bulk), the mapping fixes a failure
//! calls for, a location's catalog, refused-delivery counts, and JS
//! transformer versions.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::support::{
    load_support_event, support_auth_failures, support_events, support_location_catalog,
    support_scripts, SupportActivateScript, SupportMapSku, SupportMapStore, SupportReplay,
    SupportReplayMatching, SupportTryScript,
};
use crate::components::auth::RequireUser;
use crate::components::form::{last_error, ErrorBanner, FieldMessage};
use crate::model::{Me, Role, ScriptVersion, SupportEvent, SupportEventDetail};

/// Renders `render` for support agents; others get a plain refusal.
#[component]
fn RequireSupport<F, V>(render: F) -> impl IntoView
where
    F: Fn(Me) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let render = std::sync::Arc::new(render);
    view! {
        <RequireUser render=move |me: Me| {
            if me.role == Role::Support {
                render(me).into_any()
            } else {
                view! { <p class="alert alert-error">"The support console is for support agents."</p> }.into_any()
            }
        }/>
    }
}

fn status_badge(status: &str, class: Option<&str>) -> String {
    match class {
        Some(c) if status == "failed" => format!("failed · {c}"),
        _ => status.to_string(),
    }
}

/// The console's filters as read from the address bar.
#[derive(Clone, Debug, Default, PartialEq)]
struct Filters {
    status: String,
    class: String,
    provider: String,
    merchant: String,
    location: String,
    since: String,
    until: String,
}

impl Filters {
    fn opt(s: &str) -> Option<String> {
        Some(s.trim().to_string()).filter(|s| !s.is_empty())
    }
}

/// `/support`: failed inbound events with filters and bulk replay.
#[component]
pub fn SupportPage() -> impl IntoView {
    view! {
        <Title text="Support console"/>
        <RequireSupport render=|_| view! { <DeadLetters/> }/>
    }
}

#[component]
fn DeadLetters() -> impl IntoView {
    let query = use_query_map();
    let filters = Memo::new(move |_| {
        let q = query.get();
        let get = |k: &str| q.get(k).unwrap_or_default();
        Filters {
            status: get("status"),
            class: get("class"),
            provider: get("provider"),
            merchant: get("merchant"),
            location: get("location"),
            since: get("since"),
            until: get("until"),
        }
    });
    let bulk = ServerAction::<SupportReplayMatching>::new();
    let events = Resource::new(
        move || (filters.get(), bulk.version().get()),
        |(f, _)| {
            support_events(
                Filters::opt(&f.status),
                Filters::opt(&f.class),
                Filters::opt(&f.provider),
                Filters::opt(&f.merchant),
                Filters::opt(&f.location),
                Filters::opt(&f.since),
                Filters::opt(&f.until),
            )
        },
    );
    let failures = Resource::new(|| (), |_| support_auth_failures());
    let bulk_error = last_error(bulk.value());
    let report = move || {
        bulk.value().get().and_then(|r| r.ok()).map(|r| {
            view! {
                <p class="alert alert-info" data-testid="bulk-report">
                    {format!(
                        "Replayed {}: {} processed, {} still failed, {} duplicates.{}",
                        r.matched, r.processed, r.still_failed, r.duplicates,
                        if r.more { " More remain: replay again." } else { "" }
                    )}
                </p>
            }
        })
    };
    view! {
        <h1>"Support console"</h1>
        <p class="muted">"Inbound deliveries that failed, across merchants. Fix the cause (a mapping, a script), then replay."</p>
        <nav class="subnav"><a href="/support/scripts">"JS transformers →"</a></nav>
        {move || {
            let f = filters.get();
            let options = |values: [&'static str; 4], current: &str| {
                values
                    .into_iter()
                    .map(|v| {
                        let selected = v == current;
                        view! { <option value=v selected=selected>{v}</option> }
                    })
                    .collect_view()
            };
            let status_options = options(["received", "processed", "skipped", "duplicate"], &f.status);
            let class_options = options(["mapping", "validation", "processing", "duplicate"], &f.class);
            let (any_status, any_class) = (f.status.is_empty(), f.class.is_empty());
            let form = f.clone();
            view! {
                <Form method="GET" action="/support" attr:class="filters" attr:data-testid="dead-letter-filters">
                    <label>"Status"
                        <select name="status">
                            <option value="" selected=any_status>"failed"</option>
                            {status_options}
                        </select>
                    </label>
                    <label>"Class"
                        <select name="class">
                            <option value="" selected=any_class>"any"</option>
                            {class_options}
                        </select>
                    </label>
                    <label>"Provider"<input type="text" name="provider" value=form.provider placeholder="restopos"/></label>
                    <label>"Merchant"<input type="text" name="merchant" value=form.merchant placeholder="name or id"/></label>
                    <label>"Location"<input type="text" name="location" value=form.location placeholder="name or id"/></label>
                    <label>"From"<input type="date" name="since" value=form.since/></label>
                    <label>"To"<input type="date" name="until" value=form.until/></label>
                    <button type="submit" class="btn">"Filter"</button>
                </Form>
                <ActionForm action=bulk attr:class="inline-form" attr:data-testid="bulk-replay">
                    <input type="hidden" name="class" value=f.class/>
                    <input type="hidden" name="provider" value=f.provider/>
                    <input type="hidden" name="merchant" value=f.merchant/>
                    <input type="hidden" name="location" value=f.location/>
                    <input type="hidden" name="since" value=f.since/>
                    <input type="hidden" name="until" value=f.until/>
                    <button type="submit" class="btn">"Replay every failed event matching"</button>
                </ActionForm>
            }
        }}
        <ErrorBanner error=bulk_error/>
        {report}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match events.await {
                    Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <p class="empty" data-testid="no-events">"Nothing matches. All clear."</p>
                    }.into_any(),
                    Ok(list) => view! {
                        <table class="table" data-testid="dead-letters">
                            <thead><tr>
                                <th>"Received"</th><th>"Merchant"</th><th>"Location"</th><th>"Provider"</th>
                                <th>"Status"</th><th>"Reason"</th><th></th>
                            </tr></thead>
                            <tbody>{list.into_iter().map(|e| view! { <EventRow e/> }).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Transition>
        <FailedDeliveries/>
        <section class="card">
            <h2>"Refused deliveries (last 24 hours)"</h2>
            <p class="muted small">"Webhooks that failed authentication: counted, never stored."</p>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match failures.await {
                        Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="muted" data-testid="no-auth-failures">"None."</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="table" data-testid="auth-failures">
                                <thead><tr><th>"Provider"</th><th>"Cause"</th><th>"Last hour"</th><th>"Last 24 h"</th><th>"Last seen"</th></tr></thead>
                                <tbody>{list.into_iter().map(|f| view! {
                                    <tr><td>{f.provider}</td><td>{f.cause}</td><td>{f.last_hour}</td><td>{f.last_day}</td><td>{f.last_seen}</td></tr>
                                }).collect_view()}</tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// Outbound deliveries whose retries ran out, beside the inbound ones.
#[component]
fn FailedDeliveries() -> impl IntoView {
    let resend = ServerAction::<crate::api::support::SupportResendDelivery>::new();
    let list = Resource::new(
        move || resend.version().get(),
        |_| crate::api::support::support_failed_deliveries(),
    );
    let error = last_error(resend.value());
    view! {
        <section class="card">
            <h2>"Failed outbound deliveries"</h2>
            <p class="muted small">"Webhooks and POS requests whose retries ran out. Once the receiver is fixed, resend."</p>
            <ErrorBanner error/>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="muted" data-testid="no-failed-deliveries">"None."</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="table" data-testid="failed-deliveries">
                                <thead><tr><th>"Created"</th><th>"Merchant"</th><th>"To"</th><th>"Event"</th><th>"Attempts"</th><th>"Last error"</th><th></th></tr></thead>
                                <tbody>{list.into_iter().map(|d| {
                                    let id = d.id.to_string();
                                    let row_id = id.clone();
                                    let to = d.endpoint_url.clone().or(d.provider.clone()).unwrap_or_default();
                                    view! {
                                        <tr data-delivery=row_id>
                                            <td class="small">{d.created_at}</td>
                                            <td class="small">{d.merchant_id.to_string()}</td>
                                            <td class="break">{to}</td>
                                            <td>{d.event_type}</td>
                                            <td>{d.attempts}</td>
                                            <td class="reason">{d.last_error.unwrap_or_default()}</td>
                                            <td>
                                                <ActionForm action=resend attr:class="inline">
                                                    <input type="hidden" name="id" value=id/>
                                                    <button type="submit" class="btn btn-small">"Resend"</button>
                                                </ActionForm>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}</tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn EventRow(e: SupportEvent) -> impl IntoView {
    let href = format!("/support/events/{}", e.event.id);
    let status = status_badge(&e.event.status, e.event.failure_class.as_deref());
    view! {
        <tr data-event=e.event.id.to_string()>
            <td class="small">{e.event.received_at}</td>
            <td>{e.merchant_name}</td>
            <td>{e.location_name.unwrap_or_else(|| "—".into())}</td>
            <td>{format!("{} / {}", e.event.provider, e.event.topic)}</td>
            <td><span class="badge">{status}</span></td>
            <td class="reason">{e.event.failure_reason.unwrap_or_default()}</td>
            <td><a class="btn btn-small" href=href>"Open"</a></td>
        </tr>
    }
}

/// `/support/events/:id`: one event in full, with its fixes and Replay.
#[component]
pub fn SupportEventPage() -> impl IntoView {
    view! {
        <Title text="Inbound event"/>
        <RequireSupport render=|_| view! { <EventDetail/> }/>
    }
}

#[derive(Clone, Copy)]
struct EventActions {
    replay: ServerAction<SupportReplay>,
    map_store: ServerAction<SupportMapStore>,
    map_sku: ServerAction<SupportMapSku>,
}

#[component]
fn EventDetail() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.get().get("id").unwrap_or_default());
    let actions = EventActions {
        replay: ServerAction::<SupportReplay>::new(),
        map_store: ServerAction::<SupportMapStore>::new(),
        map_sku: ServerAction::<SupportMapSku>::new(),
    };
    let detail = Resource::new(
        move || {
            (
                id.get(),
                actions.replay.version().get(),
                actions.map_store.version().get(),
                actions.map_sku.version().get(),
            )
        },
        |(id, ..)| load_support_event(id),
    );
    let errors = [
        last_error(actions.replay.value()),
        last_error(actions.map_store.value()),
        last_error(actions.map_sku.value()),
    ];
    view! {
        <p><a href="/support">"← Support console"</a></p>
        {errors.map(|e| view! { <ErrorBanner error=e/> })}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                    Ok(d) => view! { <Detail d actions store_error=errors[1]/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Detail(
    d: SupportEventDetail,
    actions: EventActions,
    store_error: Signal<Option<crate::error::AppError>>,
) -> impl IntoView {
    let e = d.row.event.clone();
    let id = e.id.to_string();
    let status = status_badge(&e.status, e.failure_class.as_deref());
    let catalog_link = e.location_id.map(|l| {
        view! { <a class="btn btn-small" href=format!("/support/locations/{l}") data-testid="location-catalog-link">"Location catalog →"</a> }
    });
    let store_fix = match (d.parsed_store.clone(), d.mapped_store.clone()) {
        (Some(store), None) => {
            let options = d
                .locations
                .iter()
                .map(|l| view! { <option value=l.id.to_string()>{l.name.clone()}</option> })
                .collect_view();
            let (event_id, label) = (
                id.clone(),
                format!("Store {store:?} of {} is not mapped.", e.provider),
            );
            Some(
                view! {
                    <ActionForm action=actions.map_store attr:class="row-form" attr:data-testid="map-store">
                        <input type="hidden" name="event_id" value=event_id/>
                        <input type="hidden" name="provider_store_id" value=store/>
                        <span>{label}</span>
                        <label>"Map to location"
                            <select name="location_id" required>
                                <option value="">"Choose…"</option>
                                {options}
                            </select>
                            <FieldMessage error=store_error field="location_id"/>
                        </label>
                        <button type="submit" class="btn btn-primary">"Map store"</button>
                    </ActionForm>
                }
                .into_any(),
            )
        }
        (Some(store), Some(loc)) => {
            let text = format!("Store {store:?} → {}", loc.name);
            Some(view! { <p class="muted" data-testid="store-mapped">{text}</p> }.into_any())
        }
        _ => None,
    };
    let unmapped: Vec<String> = d
        .skus
        .iter()
        .filter(|s| !d.mapped_skus.contains(s))
        .cloned()
        .collect();
    let sku_fixes = (!unmapped.is_empty() && !d.creates_items).then(|| {
        let rows = unmapped
            .into_iter()
            .map(|sku| {
                let (event_id, shown) = (id.clone(), sku.clone());
                view! {
                    <li>
                        <ActionForm action=actions.map_sku attr:class="inline-form">
                            <input type="hidden" name="event_id" value=event_id/>
                            <input type="hidden" name="sku" value=sku/>
                            <code>{shown}</code>
                            <button type="submit" class="btn btn-small">"Map to a new item"</button>
                        </ActionForm>
                    </li>
                }
            })
            .collect_view();
        view! {
            <div data-testid="map-skus">
                <p>"SKUs of this delivery without an item:"</p>
                <ul class="plain">{rows}</ul>
            </div>
        }
    });
    let replay_id = id.clone();
    let title = format!("{} / {} delivery", e.provider, e.topic);
    view! {
        <h1>{title}</h1>
        <dl class="facts" data-testid="event-facts">
            <dt>"Status"</dt><dd><span class="badge" data-testid="event-status">{status}</span></dd>
            <dt>"Reason"</dt><dd data-testid="event-reason">{e.failure_reason.clone().unwrap_or_else(|| "—".into())}</dd>
            <dt>"Merchant"</dt><dd>{d.row.merchant_name.clone()}</dd>
            <dt>"Location"</dt><dd>{d.row.location_name.clone().unwrap_or_else(|| "—".into())}" "{catalog_link}</dd>
            <dt>"Received"</dt><dd>{e.received_at.clone()}</dd>
            <dt>"Processed"</dt><dd>{d.processed_at.clone().unwrap_or_else(|| "—".into())}</dd>
            <dt>"Attempts"</dt><dd>{d.row.attempts}</dd>
            <dt>"Event id"</dt><dd><code>{id.clone()}</code></dd>
        </dl>
        <section class="card">
            <h2>"Fix"</h2>
            {d.parse_error.clone().map(|p| view! { <p class="muted">{format!("Reading the body now: {p}")}</p> })}
            {store_fix}
            {sku_fixes}
            <ActionForm action=actions.replay attr:class="inline" attr:data-testid="replay">
                <input type="hidden" name="id" value=replay_id/>
                <button type="submit" class="btn btn-primary">"Replay"</button>
            </ActionForm>
        </section>
        <section class="card">
            <h2>"Headers"</h2>
            <pre class="code" data-testid="event-headers">{d.headers.clone()}</pre>
            <h2>{format!("Body ({} bytes{})", e.body_size, if d.body_truncated { ", cut" } else { "" })}</h2>
            <pre class="code" data-testid="event-body">{d.body.clone()}</pre>
        </section>
    }
}

/// `/support/locations/:id`: a location's catalog as the pipeline built it.
#[component]
pub fn SupportLocationPage() -> impl IntoView {
    view! {
        <Title text="Location catalog"/>
        <RequireSupport render=|_| view! { <LocationCatalogView/> }/>
    }
}

#[component]
fn LocationCatalogView() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.get().get("id").unwrap_or_default());
    let catalog = Resource::new(move || id.get(), support_location_catalog);
    view! {
        <p><a href="/support">"← Support console"</a></p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match catalog.await {
                    Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                    Ok((name, c)) => view! {
                        <h1>{format!("{name}: catalog")}</h1>
                        <crate::components::catalog_table::CatalogTable catalog=c/>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// `/support/scripts`: JS transformer versions; try one on a stored
/// delivery, activate one.
#[component]
pub fn SupportScriptsPage() -> impl IntoView {
    view! {
        <Title text="JS transformers"/>
        <RequireSupport render=|_| view! { <Scripts/> }/>
    }
}

#[component]
fn Scripts() -> impl IntoView {
    let activate = ServerAction::<SupportActivateScript>::new();
    let trial = ServerAction::<SupportTryScript>::new();
    let scripts = Resource::new(move || activate.version().get(), |_| support_scripts());
    let activate_error = last_error(activate.value());
    let trial_error = last_error(trial.value());
    let trial_result = move || {
        trial.value().get().and_then(|r| r.ok()).map(|t| {
            view! {
                <div class="card" data-testid="trial-result">
                    <h2>{format!("Result: {}", t.outcome)}</h2>
                    <pre class="code">{t.detail}</pre>
                </div>
            }
        })
    };
    view! {
        <p><a href="/support">"← Support console"</a></p>
        <h1>"JS transformers"</h1>
        <p class="muted">"Deployed with "<code>"plugboard scripts deploy"</code>". Try a version on a stored delivery before activating it."</p>
        <ErrorBanner error=activate_error/>
        <ErrorBanner error=trial_error/>
        {trial_result}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match scripts.await {
                    Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <p class="empty" data-testid="no-scripts">"No scripts deployed yet."</p>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="plain" data-testid="scripts">
                            {list.into_iter().map(|s| view! { <ScriptRow s activate trial trial_error/> }).collect_view()}
                        </ul>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ScriptRow(
    s: ScriptVersion,
    activate: ServerAction<SupportActivateScript>,
    trial: ServerAction<SupportTryScript>,
    trial_error: Signal<Option<crate::error::AppError>>,
) -> impl IntoView {
    let id = s.id.to_string();
    let name = format!("{}/{} {}", s.provider, s.topic, s.version);
    let data_name = name.clone();
    let activate_form = (!s.active).then(|| {
        let id = id.clone();
        view! {
            <ActionForm action=activate attr:class="inline">
                <input type="hidden" name="script_id" value=id/>
                <button type="submit" class="btn btn-small">"Activate"</button>
            </ActionForm>
        }
    });
    view! {
        <li class="card" data-script=data_name>
            <h3>{name}" "{s.active.then(|| view! { <span class="badge">"active"</span> })}</h3>
            <p class="muted small">{format!("sha256 {}… · deployed by {} at {}", &s.checksum[..12.min(s.checksum.len())], s.deployed_by, s.created_at)}</p>
            {activate_form}
            <ActionForm action=trial attr:class="inline-form">
                <input type="hidden" name="script_id" value=id/>
                <input type="text" name="event_id" placeholder="inbound event id" aria-label="Inbound event id" required/>
                <button type="submit" class="btn btn-small">"Try on this delivery"</button>
                <FieldMessage error=trial_error field="event_id"/>
            </ActionForm>
            <details><summary>"Source"</summary><pre class="code">{s.source}</pre></details>
        </li>
    }
}
