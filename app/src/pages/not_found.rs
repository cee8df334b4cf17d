//! The 404 page.
use leptos::prelude::*;

/// Shown for unknown paths; answers 404 on the server.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <section class="empty">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. "<a href="/integrations">"Browse the catalog"</a>"."</p>
        </section>
    }
}
