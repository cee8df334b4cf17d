//! Signature checks shared by the provider adapters: HMAC over the raw
//! bytes (SHA-256 or SHA-1), hex or base64, compared in constant time; an
//! optional signed timestamp with a tolerance; API keys.
use base64::Engine;
use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;

/// Why a delivery was not authenticated. Shown to support (counted per
/// provider), answered to the sender as 401 `invalid_signature`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    /// No signature (or API key) header.
    MissingSignature,
    /// The signature header is not in the provider's format.
    MalformedSignature,
    /// The signature does not match the body.
    SignatureMismatch,
    /// The signed timestamp is outside the tolerance (a replay, or a skewed clock).
    StaleTimestamp,
    /// The sender's account is unknown, or its connection is disabled.
    UnknownAccount,
    /// The sender's address is not on the connection's allowlist.
    AddressNotAllowed,
}

impl AuthFailure {
    /// Stable name for counters and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthFailure::MissingSignature => "missing_signature",
            AuthFailure::MalformedSignature => "malformed_signature",
            AuthFailure::SignatureMismatch => "signature_mismatch",
            AuthFailure::StaleTimestamp => "stale_timestamp",
            AuthFailure::UnknownAccount => "unknown_account",
            AuthFailure::AddressNotAllowed => "address_not_allowed",
        }
    }
}

/// The digest a provider signs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Digest {
    Sha256,
    Sha1,
}

/// How the signature is written in its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Hex,
    Base64,
}

/// The raw HMAC of `message` under `secret`.
pub fn hmac(digest: Digest, secret: &[u8], message: &[u8]) -> Vec<u8> {
    match digest {
        Digest::Sha256 => {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("any key length");
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        Digest::Sha1 => {
            let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret).expect("any key length");
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
    }
}

/// Signs `message` as a provider would (for tests, benchmarks and our own
/// outbound deliveries).
pub fn sign(digest: Digest, encoding: Encoding, secret: &[u8], message: &[u8]) -> String {
    let mac = hmac(digest, secret, message);
    match encoding {
        Encoding::Hex => hex::encode(mac),
        Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(mac),
    }
}

/// Checks `signature` (as sent, optionally with a `sha256=` style prefix)
/// against the HMAC of `message`, in constant time.
pub fn check(
    digest: Digest,
    encoding: Encoding,
    secret: &[u8],
    message: &[u8],
    signature: Option<&str>,
) -> Result<(), AuthFailure> {
    let sent = signature.map(str::trim).filter(|s| !s.is_empty());
    let Some(sent) = sent else {
        return Err(AuthFailure::MissingSignature);
    };
    let sent = sent
        .strip_prefix("sha256=")
        .or_else(|| sent.strip_prefix("sha1="))
        .unwrap_or(sent);
    let decoded = match encoding {
        Encoding::Hex => hex::decode(sent).ok(),
        Encoding::Base64 => base64::engine::general_purpose::STANDARD.decode(sent).ok(),
    };
    let Some(decoded) = decoded else {
        return Err(AuthFailure::MalformedSignature);
    };
    let expected = hmac(digest, secret, message);
    if expected.ct_eq(&decoded).into() {
        Ok(())
    } else {
        Err(AuthFailure::SignatureMismatch)
    }
}

/// Checks a signed Unix timestamp is within `tolerance_secs` of `now`.
pub fn fresh(
    timestamp: Option<&str>,
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<i64, AuthFailure> {
    let ts = timestamp
        .and_then(|t| t.trim().parse::<i64>().ok())
        .ok_or(AuthFailure::MalformedSignature)?;
    if (now_unix - ts).abs() > tolerance_secs {
        return Err(AuthFailure::StaleTimestamp);
    }
    Ok(ts)
}

/// Compares an API key in constant time.
pub fn api_key(expected: &[u8], sent: Option<&str>) -> Result<(), AuthFailure> {
    let sent = sent.ok_or(AuthFailure::MissingSignature)?;
    if expected.ct_eq(sent.trim().as_bytes()).into() {
        Ok(())
    } else {
        Err(AuthFailure::SignatureMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // RFC 4231 test case 2 (HMAC-SHA-256) and RFC 2202 test case 2 (HMAC-SHA-1).
        assert_eq!(
            sign(
                Digest::Sha256,
                Encoding::Hex,
                b"Jefe",
                b"what do ya want for nothing?"
            ),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            sign(
                Digest::Sha1,
                Encoding::Hex,
                b"Jefe",
                b"what do ya want for nothing?"
            ),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }

    #[test]
    fn check_accepts_good_and_refuses_the_rest() {
        let body = br#"{"id":"evt_1"}"#;
        for (d, e) in [
            (Digest::Sha256, Encoding::Hex),
            (Digest::Sha256, Encoding::Base64),
            (Digest::Sha1, Encoding::Base64),
        ] {
            let sig = sign(d, e, b"s3cret", body);
            assert_eq!(check(d, e, b"s3cret", body, Some(&sig)), Ok(()));
            assert_eq!(
                check(d, e, b"other", body, Some(&sig)),
                Err(AuthFailure::SignatureMismatch)
            );
            assert_eq!(
                check(d, e, b"s3cret", b"{\"id\":\"evt_2\"}", Some(&sig)),
                Err(AuthFailure::SignatureMismatch)
            );
        }
        let sig = sign(Digest::Sha256, Encoding::Hex, b"k", body);
        assert_eq!(
            check(
                Digest::Sha256,
                Encoding::Hex,
                b"k",
                body,
                Some(&format!("sha256={sig}"))
            ),
            Ok(())
        );
        assert_eq!(
            check(Digest::Sha256, Encoding::Hex, b"k", body, None),
            Err(AuthFailure::MissingSignature)
        );
        assert_eq!(
            check(
                Digest::Sha256,
                Encoding::Hex,
                b"k",
                body,
                Some("zz-not-hex")
            ),
            Err(AuthFailure::MalformedSignature)
        );
    }

    #[test]
    fn timestamps_and_keys() {
        assert_eq!(fresh(Some("1000"), 1200, 300), Ok(1000));
        assert_eq!(
            fresh(Some("1000"), 1400, 300),
            Err(AuthFailure::StaleTimestamp)
        );
        assert_eq!(
            fresh(Some("soon"), 1400, 300),
            Err(AuthFailure::MalformedSignature)
        );
        assert_eq!(api_key(b"key-1", Some("key-1")), Ok(()));
        assert_eq!(
            api_key(b"key-1", Some("key-2")),
            Err(AuthFailure::SignatureMismatch)
        );
        assert_eq!(api_key(b"key-1", None), Err(AuthFailure::MissingSignature));
    }
}
