//! The install drawer and the current installs of one integration, on its
//! detail page.
use leptos::prelude::*;

use crate::api::installs::{install_panel_data, InstallIntegration, SetInstallEnabled, Uninstall};
use crate::components::auth::use_auth;
use crate::components::form::{last_error, ErrorBanner, FieldMessage};
use crate::error::AppError;
use crate::model::{ConfigField, Install, IntegrationDetail, IntegrationStatus, Location, Role};

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
    };
    let data: Resource<PanelData> = Resource::new(
        move || {
            (
                actions.install.version().get(),
                actions.toggle.version().get(),
                actions.remove.version().get(),
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
    } = actions;
    let install_error = last_error(install.value());
    let toggle_error = last_error(toggle.value());
    let remove_error = last_error(remove.value());
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
            <ErrorBanner error=toggle_error/>
            <ErrorBanner error=remove_error/>
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
                                        {mine.into_iter().map(|i| view! { <InstallRow i toggle remove/> }).collect_view()}
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
    toggle: ServerAction<SetInstallEnabled>,
    remove: ServerAction<Uninstall>,
) -> impl IntoView {
    let scope = i
        .location_name
        .clone()
        .unwrap_or_else(|| "Every location".into());
    let scope_attr = scope.clone();
    let id = i.id.to_string();
    let (toggle_id, remove_id) = (id.clone(), id);
    let status = if i.enabled { "enabled" } else { "disabled" };
    let auth_note = match i.auth_status.as_str() {
        "not_connected" => Some("not connected"),
        "needs_reconnect" => Some("needs reconnect"),
        _ => None,
    };
    let secrets = (!i.secrets_set.is_empty()).then(|| {
        view! { <span class="muted small">{format!(" · secrets set: {}", i.secrets_set.join(", "))}</span> }
    });
    view! {
        <li class="install-row" data-scope=scope_attr data-enabled=i.enabled.to_string()>
            <div>
                <strong>{scope}</strong>" "
                <span class=if i.enabled { "badge badge-live" } else { "badge" }>{status}</span>
                {auth_note.map(|n| view! { <span class="badge badge-soon">{n}</span> })}
                {secrets}
            </div>
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
        </li>
    }
}

/// One input of the install form, chosen by the field's kind.
#[component]
fn ConfigInput(f: ConfigField, error: Signal<Option<AppError>>) -> impl IntoView {
    let name = format!("config[{}]", f.name);
    let default = f.default.clone().unwrap_or_default();
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
            <input type="password" name=name autocomplete="off" placeholder="Stored encrypted; never shown again"/>
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
