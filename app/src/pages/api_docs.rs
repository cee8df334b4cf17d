//! The API reference, rendered from the OpenAPI document the server
//! generates from its code, so it cannot drift from the routes.
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::reference::{api_reference, Operation};

/// The reference page.
#[component]
pub fn ApiDocsPage() -> impl IntoView {
    let ops = Resource::new(|| (), |_| api_reference());
    view! {
        <Title text="API reference"/>
        <h1>"API reference"</h1>
        <p class="lead">"JSON over HTTPS. Errors always look like "
            <code>"{\"error\":{\"code\":\"…\",\"message\":\"…\"}}"</code>
            ". Authenticated routes take "<code>"Authorization: Bearer <token>"</code>
            " with a token from "<a href="/settings">"Settings"</a>". The machine-readable document is at "
            <a href="/v1/openapi.json">"/v1/openapi.json"</a>"."</p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match ops.await {
                    Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                    Ok(list) => list.into_iter().map(|op| view! { <OperationCard op/> }).collect_view().into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn OperationCard(op: Operation) -> impl IntoView {
    let method_class = format!("method method-{}", op.method.to_lowercase());
    let params = (!op.parameters.is_empty()).then(|| {
        view! {
            <h4>"Parameters"</h4>
            <ul>{op.parameters.iter().map(|(n, d, r)| view! {
                <li><code>{n.clone()}</code>{r.then_some(" (required)")}" — "{d.clone()}</li>
            }).collect_view()}</ul>
        }
    });
    view! {
        <section class="card operation" data-path=op.path.clone()>
            <h3><span class=method_class>{op.method.clone()}</span>" "<code>{op.path.clone()}</code>
                {op.authenticated.then(|| view! { <span class="badge">"bearer token"</span> })}
                <span class="muted small">{format!(" · {}", op.tag)}</span>
            </h3>
            <p><strong>{op.summary.clone()}</strong></p>
            {(!op.description.is_empty()).then(|| view! { <p class="muted">{op.description.clone()}</p> })}
            {params}
            <h4>"Responses"</h4>
            <ul>{op.responses.iter().map(|(c, d)| view! { <li><code>{c.clone()}</code>" — "{d.clone()}</li> }).collect_view()}</ul>
        </section>
    }
}

/// `/docs/webhooks`: the partner guide — what Plugboard sends, each
/// signature format, and verification snippets in Rust, Python and
/// JavaScript. Public: partners need no account to read it.
#[component]
pub fn PartnerGuidePage() -> impl IntoView {
    let guide = Resource::new(|| (), |_| crate::api::reference::partner_guide());
    view! {
        <Title text="Webhooks: partner guide"/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match guide.await {
                    Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                    Ok(html) => view! { <article class="guide" data-testid="partner-guide" inner_html=html></article> }.into_any(),
                }
            })}
        </Transition>
    }
}
