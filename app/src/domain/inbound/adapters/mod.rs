//! The shipped provider adapters, one module each.

pub mod restopos;
