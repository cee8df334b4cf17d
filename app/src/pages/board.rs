//! `/board`: the kitchen and cashier board of one outlet. It listens to
//! the outlet's channel (server-sent events from `/live/outlets/:id`) and
//! reloads its orders whenever a payment or status event arrives — no page
//! reload, no polling. The browser reconnects by itself after a dropped
//! connection and sends the last event id it saw; the server replays what
//! was missed.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::payments::load_board;
use crate::components::auth::RequireUser;

#[component]
pub fn BoardPage() -> impl IntoView {
    view! {
        <Title text="Live board"/>
        <RequireUser render=|_| view! { <Board/> }/>
    }
}

#[component]
fn Board() -> impl IntoView {
    let query = use_query_map();
    let location = move || query.read().get("location");
    let (bump, set_bump) = signal(0u64);
    let (connection, set_connection) = signal("connecting".to_string());
    let (recent, set_recent) = signal(Vec::<String>::new());
    let data = Resource::new(
        move || (location(), bump.get()),
        |(location, _)| load_board(location),
    );
    let outlet = Memo::new(move |_| {
        data.get()
            .and_then(|r| r.ok())
            .and_then(|b| b.outlet)
            .map(|l| l.id.to_string())
    });
    listen(outlet, set_bump, set_connection, set_recent);
    view! {
        <h1>"Live board"</h1>
        <p class="muted">"Orders of one outlet as they are paid and prepared. Updates arrive live."
            " " <span class="badge" data-testid="live-state">{move || connection.get()}</span></p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                    Ok(b) => {
                        let chips = b
                            .locations
                            .iter()
                            .map(|l| {
                                let href = format!("/board?location={}", l.id);
                                view! { <a class="chip" href=href>{l.name.clone()}</a> }
                            })
                            .collect_view();
                        let title = b.outlet.map(|l| l.name).unwrap_or_else(|| "No outlet yet".into());
                        let cards = b
                            .orders
                            .into_iter()
                            .map(|o| {
                                let class = format!("board-card status-{}", o.status.to_ascii_lowercase());
                                let testid = format!("board-{}", o.reference);
                                view! {
                                    <div class=class data-testid=testid>
                                        <div class="board-ref">{o.reference.clone()}</div>
                                        <div class="board-total">{o.total.clone()} " " {o.currency.clone()}</div>
                                        <div class="board-status" data-testid="board-status">{o.status.clone()}</div>
                                    </div>
                                }
                            })
                            .collect_view();
                        view! {
                            <div class="chips">{chips}</div>
                            <h2>{title}</h2>
                            <div class="board">{cards}</div>
                        }
                        .into_any()
                    }
                }
            })}
        </Transition>
        <h2>"Latest events"</h2>
        <ul class="event-log" data-testid="event-log">
            {move || recent.get().into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}
        </ul>
    }
}

/// Opens the outlet's event stream in the browser (one at a time) and
/// bumps `set_bump` on every event and (re)connection.
#[cfg(feature = "hydrate")]
fn listen(
    outlet: Memo<Option<String>>,
    set_bump: WriteSignal<u64>,
    set_connection: WriteSignal<String>,
    set_recent: WriteSignal<Vec<String>>,
) {
    use send_wrapper::SendWrapper;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    let current: StoredValue<Option<SendWrapper<web_sys::EventSource>>> = StoredValue::new(None);
    let close = move || {
        if let Some(es) = current.try_update_value(|c| c.take()).flatten() {
            es.close();
        }
    };
    Effect::new(move |_| {
        close();
        let Some(id) = outlet.get() else {
            return;
        };
        let Ok(es) = web_sys::EventSource::new(&format!("/live/outlets/{id}")) else {
            set_connection.set("unavailable".into());
            return;
        };
        let on_message =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
                if let Some(text) = e.data().as_string() {
                    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                        let line = format!(
                            "{} {} {}",
                            v["event"].as_str().unwrap_or(""),
                            v["reference"].as_str().unwrap_or(""),
                            v["status"].as_str().unwrap_or("")
                        );
                        set_recent.update(|r| {
                            r.insert(0, line);
                            r.truncate(10);
                        });
                    }
                }
                set_bump.update(|b| *b += 1);
            });
        es.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
        let on_open = Closure::<dyn FnMut()>::new(move || {
            set_connection.set("live".into());
            // Anything that happened before the stream opened is read now.
            set_bump.update(|b| *b += 1);
        });
        es.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        on_open.forget();
        let on_error = Closure::<dyn FnMut()>::new(move || {
            set_connection.set("reconnecting".into());
        });
        es.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
        current.set_value(Some(SendWrapper::new(es)));
    });
    on_cleanup(close);
}

#[cfg(not(feature = "hydrate"))]
fn listen(
    outlet: Memo<Option<String>>,
    set_bump: WriteSignal<u64>,
    set_connection: WriteSignal<String>,
    set_recent: WriteSignal<Vec<String>>,
) {
    let _ = (outlet, set_bump, set_connection, set_recent);
}
