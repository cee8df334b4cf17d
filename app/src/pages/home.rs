//! The landing page.
use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::auth::use_auth;

/// What Plugboard is, and where to go next.
#[component]
pub fn HomePage() -> impl IntoView {
    let auth = use_auth();
    view! {
        <Title text="Integrations for your point of sale"/>
        <section class="hero">
            <h1>"Every integration your POS needs, installed per location."</h1>
            <p class="lead">
                "Plugboard connects your outlets to delivery channels, payments, receipts, loyalty, "
                "accounting and more — with verified webhooks in, signed deliveries out, and "
                "nothing lost in between."
            </p>
            <div class="cta">
                <a class="btn btn-primary btn-lg" href="/integrations">"Browse the catalog"</a>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match auth.me.await {
                            Ok(Some(_)) => view! { <a class="btn btn-lg" href="/locations">"Your locations"</a> }.into_any(),
                            _ => view! { <a class="btn btn-lg" href="/signup">"Create a merchant account"</a> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </section>
        <section class="features">
            <div class="feature">
                <h3>"Per-location installs"</h3>
                <p>"Run Qlub in Jakarta and Sunday in Bali. Plugboard knows which integration owns each surface of each outlet."</p>
            </div>
            <div class="feature">
                <h3>"Conflicts caught up front"</h3>
                <p>"Two integrations that replace the same surface can't both be active. Add-mode surfaces are capped, like three receipt QR codes."</p>
            </div>
            <div class="feature">
                <h3>"An API for your own automation"</h3>
                <p>"Everything in the dashboard is also a JSON API with bearer tokens, documented in the "<a href="/docs/api">"API reference"</a>"."</p>
            </div>
        </section>
    }
}
