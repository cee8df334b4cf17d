//! The shipped provider adapters, one module each.

pub mod restopos;
pub mod sellerfeed;
pub mod square;
pub mod wms;
