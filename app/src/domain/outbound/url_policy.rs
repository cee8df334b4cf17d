//! Where Plugboard may send: outbound URLs are http(s) and must not reach
//! private, loopback, link-local or other internal addresses (SSRF), unless
//! the operator allowlisted a network (`outbound_allowlist`). Checked when
//! an endpoint is registered (literal addresses) and again for every
//! address a name resolves to at send time (DNS rebinding).
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// Networks the operator allows despite being internal.
#[derive(Clone, Debug, Default)]
pub struct UrlPolicy {
    allow: Vec<IpNet>,
}

/// Why a URL or address is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    #[error("not a valid URL: {0}")]
    Invalid(String),
    #[error("only http and https URLs can receive webhooks")]
    Scheme,
    #[error("the URL has no host")]
    NoHost,
    #[error("{0} is a private or internal address; ask the operator to allowlist it")]
    Internal(IpAddr),
}

impl UrlPolicy {
    /// A policy allowing these networks (`127.0.0.0/8`, `::1`, …); answers
    /// the entries that do not parse.
    pub fn new(entries: &[String]) -> Result<Self, Vec<String>> {
        let mut allow = Vec::new();
        let mut bad = Vec::new();
        for e in entries {
            match crate::domain::inbound::allowlist::parse(e) {
                Some(net) => allow.push(net),
                None => bad.push(e.clone()),
            }
        }
        if bad.is_empty() {
            Ok(UrlPolicy { allow })
        } else {
            Err(bad)
        }
    }

    /// Whether Plugboard may connect to `ip`.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), UrlRefused> {
        if self.allow.iter().any(|net| net.contains(&ip)) || is_public(ip) {
            Ok(())
        } else {
            Err(UrlRefused::Internal(ip))
        }
    }

    /// Parses a URL and checks what can be checked without DNS: scheme,
    /// host, and the address when the host is one.
    pub fn check_url(&self, raw: &str) -> Result<url::Url, UrlRefused> {
        let url = url::Url::parse(raw.trim()).map_err(|e| UrlRefused::Invalid(e.to_string()))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(UrlRefused::Scheme);
        }
        match url.host() {
            None => Err(UrlRefused::NoHost),
            Some(url::Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip)).map(|()| url),
            Some(url::Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip)).map(|()| url),
            Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => {
                self.check_ip(IpAddr::V4(Ipv4Addr::LOCALHOST)).map(|()| url)
            }
            Some(url::Host::Domain(_)) => Ok(url),
        }
    }
}

/// Whether `ip` is a globally routable unicast address.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        // Shared address space (carrier-grade NAT), 100.64.0.0/10.
        || (a == 100 && (64..128).contains(&b))
        // Benchmarking, 198.18.0.0/15; reserved, 240.0.0.0/4.
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let first = s[0];
    // Addresses that carry an IPv4 address reach what it reaches: NAT64
    // 64:ff9b::/96, 6to4 2002::/16 and the deprecated IPv4-compatible ::/96.
    let embedded = if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || s[..6] == [0; 6] {
        Some(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ))
    } else if first == 0x2002 {
        Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ))
    } else {
        None
    };
    if let Some(v4) = embedded {
        return is_public_v4(v4);
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // Unique local fc00::/7, link-local fe80::/10, site-local fec0::/10.
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first & 0xffc0) == 0xfec0
        // Documentation 2001:db8::/32.
        || (first == 0x2001 && s[1] == 0x0db8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused_unless_allowlisted() {
        let strict = UrlPolicy::default();
        for url in [
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "http://10.0.0.5/",
            "http://192.168.1.1/",
            "http://172.16.0.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[64:ff9b::a00:1]/",
            "http://[2002:7f00:1::]/",
            "http://[fec0::1]/",
            "http://0.0.0.0/",
        ] {
            assert!(
                matches!(strict.check_url(url), Err(UrlRefused::Internal(_))),
                "{url} must be refused"
            );
        }
        assert!(strict.check_url("https://93.184.216.34/hook").is_ok());
        assert!(
            strict.check_url("https://[64:ff9b::5db8:d822]/").is_ok(),
            "NAT64 of a public address"
        );
        assert!(strict.check_url("https://[2606:4700::1111]/").is_ok());
        assert!(strict.check_url("https://partner.example.com/hook").is_ok());
        assert_eq!(
            strict.check_url("ftp://x.example/").unwrap_err(),
            UrlRefused::Scheme
        );
        assert!(matches!(
            strict.check_url("not a url"),
            Err(UrlRefused::Invalid(_))
        ));

        let loopback = UrlPolicy::new(&["127.0.0.0/8".into(), "::1".into()]).unwrap();
        assert!(loopback.check_url("http://127.0.0.1:8080/hook").is_ok());
        assert!(loopback.check_url("http://localhost:9/").is_ok());
        assert!(loopback.check_url("http://[::1]/").is_ok());
        assert!(loopback.check_url("http://10.0.0.5/").is_err());
        assert_eq!(
            UrlPolicy::new(&["nope".into()]).unwrap_err(),
            vec!["nope".to_string()]
        );
    }
}
