//! IP allowlists of provider connections: addresses or CIDR blocks.
use std::net::IpAddr;

use ipnet::IpNet;

/// An entry as a network: `10.0.0.0/8`, or a bare address (a /32 or /128).
pub fn parse(entry: &str) -> Option<IpNet> {
    let entry = entry.trim();
    entry
        .parse::<IpNet>()
        .ok()
        .or_else(|| entry.parse::<IpAddr>().ok().map(IpNet::from))
}

/// Whether `ip` may send; an empty list allows every address.
pub fn allows(entries: &[String], ip: IpAddr) -> bool {
    entries.is_empty()
        || entries
            .iter()
            .filter_map(|e| parse(e))
            .any(|net| net.contains(&ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_cidr_blocks() {
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(allows(&list(&[]), ip));
        assert!(allows(&list(&["10.1.2.3"]), ip));
        assert!(allows(&list(&["10.1.0.0/16"]), ip));
        assert!(!allows(&list(&["10.2.0.0/16", "127.0.0.1"]), ip));
        assert!(allows(&list(&["::1/128"]), "::1".parse().unwrap()));
        assert!(!allows(&list(&["nonsense"]), ip));
        assert!(parse("10.0.0.0/99").is_none());
    }
}
