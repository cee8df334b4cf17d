//! Every provider adapter, by route family and name. Adding a provider:
//! one module in `adapters/` and one line here.
use super::adapter::{Family, ProviderAdapter};
use super::adapters;

static ADAPTERS: &[&dyn ProviderAdapter] = &[
    &adapters::restopos::RestoPos,
    &adapters::wms::Wms,
    &adapters::sellerfeed::SellerFeed,
    &adapters::square::Square,
];

/// The adapter for `{family}/{provider}`, if there is one.
pub fn find(family: Family, provider: &str) -> Option<&'static dyn ProviderAdapter> {
    ADAPTERS
        .iter()
        .copied()
        .find(|a| a.family() == family && a.name() == provider)
}

/// Every adapter, for the UI and `catalog check`.
pub fn all() -> &'static [&'static dyn ProviderAdapter] {
    ADAPTERS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found_by_family() {
        let mut names: Vec<_> = all().iter().map(|a| (a.family(), a.name())).collect();
        names.sort_by_key(|(f, n)| (f.as_str(), *n));
        names.dedup();
        assert_eq!(names.len(), all().len());
        assert!(find(Family::Pos, "restopos").is_some());
        assert!(find(Family::Erp, "restopos").is_none());
        assert!(find(Family::Pos, "nope").is_none());
    }
}
