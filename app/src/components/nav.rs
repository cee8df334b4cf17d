//! The top bar.
use leptos::prelude::*;
use leptos_router::components::A;

use super::auth::use_auth;
use crate::model::Role;

/// Brand, main links, and the account menu.
#[component]
pub fn Nav() -> impl IntoView {
    let auth = use_auth();
    view! {
        <header class="topbar">
            <a class="brand" href="/">
                <img class="brand-mark" src="/favicon.svg" alt="" width="28" height="28"/>
                "Plugboard"
            </a>
            <nav class="mainnav">
                <A href="/integrations">"Catalog"</A>
                <A href="/locations">"Locations"</A>
                <A href="/inbound">"Inbound"</A>
                <A href="/orders">"Orders"</A>
                <A href="/cashier">"Cashier"</A>
                <A href="/board">"Board"</A>
                <A href="/webhooks">"Webhooks"</A>
                <A href="/settings">"Settings"</A>
                <A href="/docs/api">"API"</A>
            </nav>
            <div class="account">
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match auth.me.await {
                            Ok(Some(me)) => {
                                let who = me.merchant_name.clone().unwrap_or_else(|| me.email.clone());
                                let badge = (me.role == Role::Support).then(|| view! {
                                    <a class="btn btn-ghost" href="/support" data-testid="support-link">"Support console"</a>
                                    <span class="badge">"support"</span>
                                });
                                view! {
                                    <span class="who" data-testid="who">{who}</span>
                                    {badge}
                                    <ActionForm action=auth.sign_out attr:class="inline">
                                        <button type="submit" class="btn btn-ghost">"Sign out"</button>
                                    </ActionForm>
                                }.into_any()
                            }
                            _ => view! {
                                <a class="btn btn-ghost" href="/signin">"Sign in"</a>
                                <a class="btn btn-primary" href="/signup">"Sign up"</a>
                            }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </header>
    }
}
