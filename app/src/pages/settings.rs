//! Settings: the merchant's API tokens.
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::tokens::{list_tokens, CreateToken, RevokeToken};
use crate::components::auth::RequireUser;
use crate::components::form::{last_error, ErrorBanner, FieldMessage};

/// The settings page.
#[component]
pub fn SettingsPage() -> impl IntoView {
    view! {
        <Title text="Settings"/>
        <RequireUser render=|me| view! {
            <h1>"Settings"</h1>
            <section class="card">
                <h2>"Account"</h2>
                <p>{me.merchant_name.clone().unwrap_or_default()}" · "{me.email.clone()}</p>
            </section>
            <Tokens/>
        }/>
    }
}

#[component]
fn Tokens() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    let create_error = last_error(create.value());
    let revoke_error = last_error(revoke.value());
    let fresh = move || create.value().get().and_then(|r| r.ok());
    view! {
        <section class="card">
            <h2>"API tokens"</h2>
            <p class="muted">"Tokens let your own systems call the Plugboard API with "<code>"Authorization: Bearer <token>"</code>". "
               "See the "<a href="/docs/api">"API reference"</a>"."</p>
            <ErrorBanner error=create_error/>
            <ErrorBanner error=revoke_error/>
            {move || fresh().map(|t| view! {
                <div class="alert alert-success" data-testid="new-token">
                    <p>"Copy this token now — it will not be shown again."</p>
                    <code class="secret">{t.token}</code>
                </div>
            })}
            <ActionForm action=create attr:class="inline-form">
                <input type="text" name="name" placeholder="What is it for? e.g. inventory sync" aria-label="Token name" required maxlength="80"/>
                <button type="submit" class="btn btn-primary">"Create token"</button>
                <FieldMessage error=create_error field="name"/>
            </ActionForm>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No tokens yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="table" data-testid="tokens">
                                <thead><tr><th>"Name"</th><th>"Token"</th><th>"Created"</th><th>"Last used"</th><th></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|t| view! {
                                        <tr class:revoked=t.revoked>
                                            <td>{t.name.clone()}</td>
                                            <td><code>{format!("{}…", t.prefix)}</code></td>
                                            <td class="small">{t.created_at.clone()}</td>
                                            <td class="small">{t.last_used_at.clone().unwrap_or_else(|| "never".into())}</td>
                                            <td>{if t.revoked {
                                                view! { <span class="badge">"revoked"</span> }.into_any()
                                            } else {
                                                view! {
                                                    <ActionForm action=revoke attr:class="inline">
                                                        <input type="hidden" name="id" value=t.id.to_string()/>
                                                        <button type="submit" class="btn btn-small btn-danger">"Revoke"</button>
                                                    </ActionForm>
                                                }.into_any()
                                            }}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
