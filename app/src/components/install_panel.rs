//! The install drawer and the current installs of one integration, on its
//! detail page.
use leptos::prelude::*;

use leptos_router::hooks::use_query_map;

use crate::api::installs::{
    install_panel_data, ConfigureInstall, DisconnectInstall, InstallIntegration, RefreshInstall,
    SetInstallEnabled, Uninstall,
};
use crate::components::auth::use_auth;
use crate::components::form::{last_error, ErrorBanner, FieldMessage};
use crate::error::AppError;
use crate::model::{
    ConfigField, Install, IntegrationDetail, IntegrationStatus, Location, OAuthOutcome, Role,
};

/// Shown beside an integration's details.
#[component]
pub fn InstallPanel(detail: IntegrationDetail) -> impl IntoView {
    let auth = use_auth();
    let detail = StoredValue::new(detail);
    // Created here, synchronously, so their server functions run with the
    // request's context during server rendering.
    let actions = PanelActions {
        install: ServerAction::<InstallIntegration>::new(),
        toggle: ServerAction::<SetInstallEnabled>::new(),
        remove: ServerAction::<Uninstall>::new(),
        configure: ServerAction::<ConfigureInstall>::new(),
        refresh: ServerAction::<RefreshInstall>::new(),
        disconnect: ServerAction::<DisconnectInstall>::new(),
    };
    let data: Resource<PanelData> = Resource::new(
        move || {
            (
                actions.install.version().get(),
                actions.toggle.version().get(),
                actions.remove.version().get(),
                actions.configure.version().get(),
                actions.refresh.version().get(),
                actions.disconnect.version().get(),
            )
        },
        |_| install_panel_data(),
    );
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match auth.me.await {
                    Ok(Some(me)) if me.role == Role::Owner => view! { <Panel detail=detail.get_value() actions data/> }.into_any(),
                    Ok(Some(_)) => ().into_any(),
                    _ => view! {
                        <section class="card">
                            <p><a class="btn btn-primary" href="/signin">"Sign in to install"</a></p>
                        </section>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

type PanelData = Result<(Vec<Location>, Vec<Install>), AppError>;

#[derive(Clone, Copy)]
struct PanelActions {
    install: ServerAction<InstallIntegration>,
    toggle: ServerAction<SetInstallEnabled>,
    remove: ServerAction<Uninstall>,
    configure: ServerAction<ConfigureInstall>,
    refresh: ServerAction<RefreshInstall>,
    disconnect: ServerAction<DisconnectInstall>,
}

/// The result of a Connect, from `?oauth=` after the provider sent the
/// merchant back.
/// `hide` turns it off once the merchant has moved on (another action).
#[component]
pub fn OAuthNotice(#[prop(optional, into)] hide: Option<Signal<bool>>) -> impl IntoView {
    let query = use_query_map();
    move || {
        if hide.is_some_and(|h| h.get()) {
            return None;
        }
        query
            .read()
            .get("oauth")
            .and_then(|o| OAuthOutcome::parse(&o))
            .map(|o| {
                let class = if o.is_success() {
                    "alert alert-success"
                } else {
                    "alert alert-error"
                };
                view! { <p class=class role="status" data-testid="oauth-outcome" data-outcome=o.as_str()>{o.message()}</p> }
            })
    }
}

#[component]
fn Panel(
    detail: IntegrationDetail,
    actions: PanelActions,
    data: Resource<PanelData>,
) -> impl IntoView {
    let PanelActions {
        install,
        toggle,
        remove,
        configure,
        refresh,
        disconnect,
    } = actions;
    let install_error = last_error(install.value());
    let toggle_error = last_error(toggle.value());
    let remove_error = last_error(remove.value());
    let configure_error = last_error(configure.value());
    let refresh_error = last_error(refresh.value());
    let disconnect_error = last_error(disconnect.value());
    let refreshed = move || {
        refresh.value().get().and_then(|r| r.ok()).map(|outcome| {
            let (text, class) = match outcome.as_str() {
                "refreshed" | "skipped" => ("Connection refreshed.", "alert alert-success"),
                "needs_reconnect" => (
                    "The provider refused the refresh: reconnect to keep this integration working.",
                    "alert alert-error",
                ),
                _ => (
                    "The provider could not be reached; Plugboard will try again shortly.",
                    "alert alert-error",
                ),
            };
            view! { <p class=class data-testid="refresh-outcome" data-outcome=outcome>{text}</p> }
        })
    };
    let installed_ok = move || {
        install.value().get().and_then(|r| r.ok()).map(|i| {
            let scope = i.location_name.clone().unwrap_or_else(|| "every location".into());
            view! { <p class="alert alert-success" data-testid="install-success">{format!("Installed {} for {scope}.", i.integration_name)}</p> }
        })
    };
    let slug = detail.slug.clone();
    let list_slug = slug.clone();
    let name = detail.name.clone();
    let available = detail.status == IntegrationStatus::Available;
    let fields = StoredValue::new(detail.config_fields.clone());

    view! {
        <section class="card install-panel" data-testid="install-panel">
            <h2>"Your installs"</h2>
            <OAuthNotice hide=Signal::derive(move || {
                refresh.version().get() + disconnect.version().get() + toggle.version().get() > 0
            })/>
            {refreshed}
            <ErrorBanner error=toggle_error/>
            <ErrorBanner error=remove_error/>
            <ErrorBanner error=refresh_error/>
            <ErrorBanner error=disconnect_error/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {
                    move || {
                        let slug = list_slug.clone();
                        Suspend::new(async move {
                            let installs = data.await.map(|(_, i)| i).unwrap_or_default();
                            let mine: Vec<Install> = installs.into_iter().filter(|i| i.integration == slug).collect();
                            if mine.is_empty() {
                                view! { <p class="muted" data-testid="not-installed">"Not installed yet."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="installs">
                                        {mine.into_iter().map(|i| view! { <InstallRow i actions fields=fields.get_value() configure_error/> }).collect_view()}
                                    </ul>
                                }.into_any()
                            }
                        })
                    }
                }
            </Transition>
            {available.then(|| view! {
                <details class="drawer" data-testid="install-drawer">
                    <summary class="btn btn-primary">{format!("Install {name}")}</summary>
                    {installed_ok}
                    <ErrorBanner error=install_error/>
                    <ActionForm action=install attr:class="stack">
                        <input type="hidden" name="integration" value=slug.clone()/>
                        <label>"Where"
                            <select name="location_id" aria-label="Where">
                                <option value="">"Every location"</option>
                                <Transition fallback=|| ()>
                                    {move || Suspend::new(async move {
                                        let locations = data.await.map(|(l, _)| l).unwrap_or_default();
                                        locations.into_iter().map(|l| view! {
                                            <option value=l.id.to_string()>{l.name}</option>
                                        }).collect_view()
                                    })}
                                </Transition>
                            </select>
                        </label>
                        {fields.get_value().into_iter().map(|f| view! { <ConfigInput f error=install_error/> }).collect_view()}
                        <button type="submit" class="btn btn-primary">"Install"</button>
                    </ActionForm>
                </details>
            })}
        </section>
    }
}

#[component]
fn InstallRow(
    i: Install,
    actions: PanelActions,
    fields: Vec<ConfigField>,
    configure_error: Signal<Option<AppError>>,
) -> impl IntoView {
    let PanelActions {
        toggle,
        remove,
        configure,
        ..
    } = actions;
    let scope = i
        .location_name
        .clone()
        .unwrap_or_else(|| "Every location".into());
    let scope_attr = scope.clone();
    let id = i.id.to_string();
    let (toggle_id, remove_id, configure_id) = (id.clone(), id.clone(), id);
    let status = if i.enabled { "enabled" } else { "disabled" };
    let secrets = (!i.secrets_set.is_empty()).then(|| {
        view! { <span class="muted small">{format!(" · secrets set: {}", i.secrets_set.join(", "))}</span> }
    });
    let has_settings = !fields.is_empty();
    let config = i.config.clone();
    let secrets_set = i.secrets_set.clone();
    let editors = fields
        .into_iter()
        .map(|f| {
            let current = config.get(&f.name).map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            let is_set = secrets_set.contains(&f.name);
            match current {
                Some(current) => {
                    view! { <ConfigInput f error=configure_error current is_set/> }.into_any()
                }
                None => view! { <ConfigInput f error=configure_error is_set/> }.into_any(),
            }
        })
        .collect_view();
    view! {
        <li class="install-row" data-scope=scope_attr data-enabled=i.enabled.to_string() data-auth=i.auth_status.clone()>
            <div>
                <strong>{scope}</strong>" "
                <span class=if i.enabled { "badge badge-live" } else { "badge" }>{status}</span>
                {secrets}
            </div>
            <OAuthControls i=i.clone() actions/>
            <div class="row-actions">
                <ActionForm action=toggle attr:class="inline">
                    <input type="hidden" name="id" value=toggle_id/>
                    <input type="hidden" name="enabled" value=(!i.enabled).to_string()/>
                    <button type="submit" class="btn btn-small">{if i.enabled { "Disable" } else { "Enable" }}</button>
                </ActionForm>
                <ActionForm action=remove attr:class="inline">
                    <input type="hidden" name="id" value=remove_id/>
                    <button type="submit" class="btn btn-small btn-danger">"Uninstall"</button>
                </ActionForm>
            </div>
            {has_settings.then(|| view! {
                <details class="drawer settings" data-testid="settings-drawer">
                    <summary class="btn btn-small">"Settings"</summary>
                    <ErrorBanner error=configure_error/>
                    <ActionForm action=configure attr:class="stack">
                        <input type="hidden" name="id" value=configure_id/>
                        {editors}
                        <button type="submit" class="btn btn-primary btn-small">"Save settings"</button>
                    </ActionForm>
                </details>
            })}
        </li>
    }
}

/// Connect / Reconnect / Refresh now / Disconnect for an OAuth install.
#[component]
fn OAuthControls(i: Install, actions: PanelActions) -> impl IntoView {
    let PanelActions {
        refresh,
        disconnect,
        ..
    } = actions;
    let id = i.id.to_string();
    // Connect is a plain form post: the server answers with a redirect to
    // the provider, with or without JavaScript.
    let connect_form = move |label: &'static str, id: String| {
        view! {
            <form method="post" action="/oauth/connect" class="inline">
                <input type="hidden" name="install_id" value=id/>
                <button type="submit" class="btn btn-small btn-primary">{label}</button>
            </form>
        }
    };
    let disconnect_form = move |id: String| {
        view! {
            <ActionForm action=disconnect attr:class="inline">
                <input type="hidden" name="id" value=id/>
                <button type="submit" class="btn btn-small">"Disconnect"</button>
            </ActionForm>
        }
    };
    match i.auth_status.as_str() {
        "not_connected" => view! {
            <div class="oauth" data-testid="oauth">
                <span class="badge badge-soon">"not connected"</span>" "
                {connect_form("Connect", id)}
            </div>
        }
        .into_any(),
        "connected" => {
            let conn = i.connection.clone();
            let expiry = conn.as_ref().and_then(|c| c.expires_at.clone()).map(|e| {
                view! { <span class="muted small" data-testid="expires-at">{format!(" · token expires {e}")}</span> }
            });
            let refreshed = conn.as_ref().and_then(|c| c.refreshed_at.clone()).map(|r| {
                view! { <span class="muted small" data-testid="refreshed-at">{format!(" · refreshed {r}")}</span> }
            });
            let refreshable = conn.as_ref().is_some_and(|c| c.refreshable);
            let refresh_id = id.clone();
            view! {
                <div class="oauth" data-testid="oauth">
                    <span class="badge badge-live">"connected"</span>
                    {expiry}
                    {refreshed}
                    " "
                    {refreshable.then(|| view! {
                        <ActionForm action=refresh attr:class="inline">
                            <input type="hidden" name="id" value=refresh_id/>
                            <button type="submit" class="btn btn-small">"Refresh now"</button>
                        </ActionForm>
                    })}
                    {disconnect_form(id)}
                </div>
            }
            .into_any()
        }
        "needs_reconnect" => {
            let reason = i
                .connection
                .as_ref()
                .and_then(|c| c.last_error.clone())
                .unwrap_or_else(|| "the provider no longer accepts the connection".into());
            let reconnect_id = id.clone();
            view! {
                <div class="oauth" data-testid="oauth">
                    <p class="alert alert-error" role="alert">
                        <span class="badge badge-soon">"needs reconnect"</span>" "
                        {format!("The connection stopped working ({reason}). Reconnect to resume.")}
                    </p>
                    {connect_form("Reconnect", reconnect_id)}
                    {disconnect_form(id)}
                </div>
            }
            .into_any()
        }
        _ => ().into_any(),
    }
}

/// One input of the install form, chosen by the field's kind.
#[component]
fn ConfigInput(
    f: ConfigField,
    error: Signal<Option<AppError>>,
    /// The install's current value, when editing.
    #[prop(optional, into)]
    current: Option<String>,
    /// Editing a secret that has a stored value.
    #[prop(optional)]
    is_set: bool,
) -> impl IntoView {
    let name = format!("config[{}]", f.name);
    let default = current.or_else(|| f.default.clone()).unwrap_or_default();
    let secret_hint = if is_set {
        "Set — leave blank to keep, or type a new value to replace it"
    } else {
        "Stored encrypted; never shown again"
    };
    let input = match f.kind.as_str() {
        "enum" => view! {
            <select name=name>
                {f.choices.iter().map(|c| view! { <option value=c.clone() selected=*c == default>{c.clone()}</option> }).collect_view()}
            </select>
        }.into_any(),
        "boolean" => view! {
            <select name=name>
                <option value="true" selected=default == "true">"Yes"</option>
                <option value="false" selected=default != "true">"No"</option>
            </select>
        }.into_any(),
        "integer" | "number" => view! { <input type="number" name=name value=default/> }.into_any(),
        _ if f.secret => view! {
            <input type="password" name=name autocomplete="off" placeholder=secret_hint data-secret-set=is_set.to_string()/>
        }.into_any(),
        _ => view! { <input type="text" name=name value=default/> }.into_any(),
    };
    view! {
        <label data-config=f.name.clone()>
            {f.title.clone()}
            {f.required.then(|| view! { <span class="req">" *"</span> })}
            {input}
            {f.description.clone().map(|d| view! { <span class="hint">{d}</span> })}
            <FieldMessage error field=f.name.clone()/>
        </label>
    }
}
