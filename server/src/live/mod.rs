//! The live board's transport: the relay that publishes order and payment
//! events from the outbox on their store's channel, the Redis pub/sub
//! bridge when Redis is configured, and the server-sent events endpoint.
//! Design: docs/payments.md, "Live board".

pub mod redis_bus;
pub mod relay;
pub mod sse;

use app::domain::live::Live;
use sea_orm::DatabaseConnection;

/// Starts this process's relay (and, with `redis_url`, the Redis bridge);
/// answers the subscriptions the SSE endpoint reads.
pub async fn start(db: DatabaseConnection, redis_url: Option<&str>) -> Result<Live, String> {
    match redis_url {
        None => {
            let live = Live::new("local");
            relay::spawn(db, relay::Sink::Local(live.clone()));
            Ok(live)
        }
        Some(url) => {
            let live = Live::new("redis");
            let bus = redis_bus::RedisBus::connect(url).await?;
            bus.spawn_subscriber(live.clone());
            relay::spawn(db, relay::Sink::Redis(Box::new(bus)));
            Ok(live)
        }
    }
}
