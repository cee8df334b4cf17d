//! Sign-in and sign-up pages.
use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::auth::use_auth;
use crate::components::form::{last_error, ErrorBanner, FieldMessage};

/// E-mail and password.
#[component]
pub fn SignInPage() -> impl IntoView {
    let auth = use_auth();
    let error = last_error(auth.sign_in.value());
    let pending = auth.sign_in.pending();
    view! {
        <Title text="Sign in"/>
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <ErrorBanner error/>
            <ActionForm action=auth.sign_in attr:class="stack" attr:data-testid="signin-form">
                <label>"E-mail"
                    <input type="email" name="email" autocomplete="username" required/>
                </label>
                <label>"Password"
                    <input type="password" name="password" autocomplete="current-password" required/>
                </label>
                <button type="submit" class="btn btn-primary" disabled=pending>"Sign in"</button>
            </ActionForm>
            <p class="muted">"New to Plugboard? "<a href="/signup">"Create a merchant account"</a></p>
        </section>
    }
}

/// Business name, e-mail and password.
#[component]
pub fn SignUpPage() -> impl IntoView {
    let auth = use_auth();
    let error = last_error(auth.sign_up.value());
    let pending = auth.sign_up.pending();
    view! {
        <Title text="Create your merchant account"/>
        <section class="card narrow">
            <h1>"Create your merchant account"</h1>
            <ErrorBanner error/>
            <ActionForm action=auth.sign_up attr:class="stack" attr:data-testid="signup-form">
                <label>"Business name"
                    <input type="text" name="merchant_name" autocomplete="organization" required maxlength="120"/>
                    <FieldMessage error field="merchant_name"/>
                </label>
                <label>"E-mail"
                    <input type="email" name="email" autocomplete="email" required/>
                    <FieldMessage error field="email"/>
                </label>
                <label>"Password"
                    <input type="password" name="password" autocomplete="new-password" required minlength="10"/>
                    <span class="hint">"At least 10 characters."</span>
                    <FieldMessage error field="password"/>
                </label>
                <button type="submit" class="btn btn-primary" disabled=pending>"Create account"</button>
            </ActionForm>
            <p class="muted">"Already have an account? "<a href="/signin">"Sign in"</a></p>
        </section>
    }
}
