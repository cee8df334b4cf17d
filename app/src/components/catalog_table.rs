//! A location's catalog (items, prices, availability, stock) and its
//! open/closed status, as the inbound pipeline built it.
use leptos::prelude::*;

use crate::model::LocationCatalog;

#[component]
pub fn CatalogTable(catalog: LocationCatalog) -> impl IntoView {
    let status = match (catalog.open, catalog.closed_reason.clone()) {
        (Some(true), _) => "Open".to_string(),
        (Some(false), Some(r)) => format!("Closed: {r}"),
        (Some(false), None) => "Closed".to_string(),
        (None, _) => "No status received yet".to_string(),
    };
    let count = catalog.items.len();
    view! {
        <p data-testid="store-status"><span class="badge">{status}</span>" "
            <span class="muted">{match count { 1 => "1 item".to_string(), n => format!("{n} items") }}</span></p>
        {if catalog.items.is_empty() {
            view! { <p class="empty" data-testid="empty-catalog">"No items yet: they appear when a provider sends its menu, stock or feed."</p> }.into_any()
        } else {
            view! {
                <table class="table" data-testid="location-catalog">
                    <thead><tr><th>"Item"</th><th>"SKU"</th><th>"Category"</th><th>"Price"</th><th>"Available"</th><th>"Stock"</th><th>"Variants"</th><th>"Updated"</th></tr></thead>
                    <tbody>
                        {catalog.items.into_iter().map(|i| { let sku = i.sku.clone(); view! {
                            <tr data-sku=sku>
                                <td>{i.name}</td>
                                <td><code>{i.sku}</code></td>
                                <td>{i.category}</td>
                                <td>{format!("{} {}", i.currency, i.price)}</td>
                                <td>{if i.available { "yes" } else { "sold out" }}</td>
                                <td>{i.stock_level.map(|s| format!("{s} {}", i.unit)).unwrap_or_else(|| "—".into())}</td>
                                <td class="small" data-testid="variants">{i.variants.iter().map(|v| format!(
                                    "{} {} {}{}", v.name, v.currency, v.price, if v.available { "" } else { " (sold out)" }
                                )).collect::<Vec<_>>().join(" · ")}</td>
                                <td class="small">{i.updated_at}</td>
                            </tr>
                        }}).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
    }
}
