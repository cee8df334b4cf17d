//! Pages that follow background work (deliveries, order status) reload
//! their data on a timer in the browser.
use leptos::prelude::*;

/// A counter that goes up every `ms` milliseconds once the page is
/// interactive; a resource that reads it reloads on each tick.
pub fn use_ticker(ms: u64) -> ReadSignal<u64> {
    let (tick, set_tick) = signal(0u64);
    #[cfg(feature = "hydrate")]
    {
        if let Ok(handle) = set_interval_with_handle(
            move || set_tick.update(|t| *t += 1),
            std::time::Duration::from_millis(ms),
        ) {
            on_cleanup(move || handle.clear());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ms, set_tick);
    tick
}
