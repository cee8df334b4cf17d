//! `receipt_qr` adapters: when an order is paid, each add-mode install puts
//! a QR on the receipt (up to the capability's cap of three).
use crate::domain::platform_jwt::{self, Claims};

use super::{AdapterFuture, CapabilityAdapter, Context, DomainEvent, Effect};

/// The capability's slug.
pub const CAPABILITY: &str = "receipt_qr";
/// How long a receipt's SplitEasy link works (a receipt outlives a
/// request token by far).
const RECEIPT_TOKEN_TTL: time::Duration = time::Duration::hours(24);

fn config_str(ctx: &Context<'_>, key: &str) -> Option<String> {
    ctx.install
        .config
        .get(key)
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// SplitEasy (platform_shared): a link carrying a JWT signed with the
/// platform secret, naming the order and its total, so diners can split the
/// bill without a merchant account at SplitEasy.
pub struct SplitEasy;

impl CapabilityAdapter for SplitEasy {
    fn integration(&self) -> &'static str {
        "spliteasy"
    }

    fn capability(&self) -> &'static str {
        CAPABILITY
    }

    fn takes(&self, event_type: &str) -> bool {
        event_type == "order.paid"
    }

    fn handle<'a>(&'a self, ctx: &'a Context<'a>, event: &'a DomainEvent) -> AdapterFuture<'a> {
        Box::pin(async move {
            let Some(order) = &event.order else {
                return Ok(None);
            };
            let min_guests = ctx
                .install
                .config
                .get("min_guests")
                .and_then(|v| v.as_i64())
                .unwrap_or(2);
            let guests = order
                .payload
                .get("guests")
                .or_else(|| order.payload.get("guestCount"))
                .and_then(|v| v.as_i64());
            if guests.is_some_and(|g| g < min_guests) {
                return Ok(None);
            }
            let mut claims = Claims::new(
                self.integration(),
                order.merchant_id,
                Some(order.location_id),
                CAPABILITY,
                RECEIPT_TOKEN_TTL,
            );
            claims.order_id = Some(order.id.to_string());
            claims.amount_minor = Some(order.total_minor);
            claims.currency = Some(order.currency.clone());
            let token = platform_jwt::sign_claims(ctx.db, ctx.keys, &claims).await?;
            Ok(Some(Effect::ReceiptAttachment {
                kind: "qr".into(),
                label: config_str(ctx, "qr_label")
                    .unwrap_or_else(|| "Split the bill with SplitEasy".into()),
                content: format!("https://spliteasy.app/split?t={token}"),
            }))
        })
    }
}

/// Google reviews (oauth): a link to write a review of the location's
/// Google Business Profile place.
pub struct GoogleReviews;

impl CapabilityAdapter for GoogleReviews {
    fn integration(&self) -> &'static str {
        "google-reviews"
    }

    fn capability(&self) -> &'static str {
        CAPABILITY
    }

    fn takes(&self, event_type: &str) -> bool {
        event_type == "order.paid"
    }

    fn handle<'a>(&'a self, ctx: &'a Context<'a>, _event: &'a DomainEvent) -> AdapterFuture<'a> {
        Box::pin(async move {
            let Some(place) = config_str(ctx, "place_id") else {
                return Ok(None);
            };
            let mut url = url::Url::parse("https://search.google.com/local/writereview")
                .expect("a constant URL");
            url.query_pairs_mut().append_pair("placeid", &place);
            Ok(Some(Effect::ReceiptAttachment {
                kind: "qr".into(),
                label: config_str(ctx, "prompt")
                    .unwrap_or_else(|| "Enjoyed your meal? Leave us a review".into()),
                content: url.to_string(),
            }))
        })
    }
}
