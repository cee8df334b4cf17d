//! How an outbound delivery is signed, per endpoint format. The body is
//! signed as the exact bytes sent; during a secret rotation every header
//! carries both signatures (newest first) so a partner holding either
//! secret can verify.
use base64::Engine;
use entity::webhook_endpoint::format;

use crate::domain::inbound::verify::{self, Digest, Encoding};

/// Prefix of a Standard Webhooks secret.
pub const STANDARD_PREFIX: &str = "whsec_";

/// The secrets an endpoint signs with, newest first, as partners hold them
/// (`whsec_…` for the Standard Webhooks format, plain text otherwise).
pub struct SigningSecrets(pub Vec<String>);

/// What one delivery is signed with.
pub struct Signed<'a> {
    /// The delivery's id, the same on every attempt.
    pub delivery_id: &'a str,
    pub event_type: &'a str,
    /// Unix seconds of this attempt.
    pub timestamp: i64,
    pub body: &'a [u8],
}

/// A new random secret in the endpoint's format.
pub fn new_secret(endpoint_format: &str) -> String {
    let bytes: [u8; 32] = rand::random();
    if endpoint_format == format::STANDARD {
        format!(
            "{STANDARD_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    } else {
        hex::encode(bytes)
    }
}

/// The key bytes of a secret as partners hold it: a Standard Webhooks
/// secret is the base64 after `whsec_`; any other is its own text.
fn key_bytes(secret: &str) -> Vec<u8> {
    match secret.strip_prefix(STANDARD_PREFIX) {
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap_or_else(|_| secret.as_bytes().to_vec()),
        None => secret.as_bytes().to_vec(),
    }
}

/// The headers of one attempt (besides `Content-Type`).
pub fn headers(
    endpoint_format: &str,
    secrets: &SigningSecrets,
    d: &Signed<'_>,
) -> Vec<(String, String)> {
    let hex_signatures = |secrets: &SigningSecrets| {
        secrets
            .0
            .iter()
            .map(|s| {
                format!(
                    "sha256={}",
                    verify::sign(Digest::Sha256, Encoding::Hex, &key_bytes(s), d.body)
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    match endpoint_format {
        format::STANDARD => {
            let mut message = Vec::with_capacity(d.body.len() + d.delivery_id.len() + 24);
            message.extend_from_slice(d.delivery_id.as_bytes());
            message.push(b'.');
            message.extend_from_slice(d.timestamp.to_string().as_bytes());
            message.push(b'.');
            message.extend_from_slice(d.body);
            let signature = secrets
                .0
                .iter()
                .map(|s| {
                    format!(
                        "v1,{}",
                        verify::sign(Digest::Sha256, Encoding::Base64, &key_bytes(s), &message)
                    )
                })
                .collect::<Vec<_>>()
                .join(" ");
            vec![
                ("webhook-id".into(), d.delivery_id.into()),
                ("webhook-timestamp".into(), d.timestamp.to_string()),
                ("webhook-signature".into(), signature),
                ("x-plugboard-event".into(), d.event_type.into()),
            ]
        }
        format::POSZ => vec![
            ("X-Posz-Signature".into(), hex_signatures(secrets)),
            ("X-Posz-Event".into(), d.event_type.into()),
            ("X-Posz-Delivery-ID".into(), d.delivery_id.into()),
            ("X-Posz-Timestamp".into(), d.timestamp.to_string()),
        ],
        _ => vec![
            ("X-Cata-Signature".into(), hex_signatures(secrets)),
            ("X-Cata-Event".into(), d.event_type.into()),
            ("X-Cata-Delivery-ID".into(), d.delivery_id.into()),
            ("X-Cata-Timestamp".into(), d.timestamp.to_string()),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};

    fn find<'a>(h: &'a [(String, String)], name: &str) -> &'a str {
        &h.iter().find(|(n, _)| n == name).unwrap().1
    }

    #[test]
    fn cata_signs_the_body_as_hex_with_a_prefix() {
        let secrets = SigningSecrets(vec!["s3cret".into()]);
        let d = Signed {
            delivery_id: "d1",
            event_type: "order.paid",
            timestamp: 1_700_000_000,
            body: b"{\"a\":1}",
        };
        let h = headers(format::CATA, &secrets, &d);
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(b"{\"a\":1}");
        let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(find(&h, "X-Cata-Signature"), want);
        assert_eq!(find(&h, "X-Cata-Event"), "order.paid");
        assert_eq!(find(&h, "X-Cata-Timestamp"), "1700000000");
    }

    #[test]
    fn standard_webhooks_sign_id_timestamp_and_body_with_the_decoded_secret() {
        let key = [7u8; 32];
        let secret = format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(key)
        );
        let old = new_secret(format::STANDARD);
        let secrets = SigningSecrets(vec![secret, old]);
        let d = Signed {
            delivery_id: "msg_1",
            event_type: "order.paid",
            timestamp: 1_700_000_000,
            body: b"{}",
        };
        let h = headers(format::STANDARD, &secrets, &d);
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
        mac.update(b"msg_1.1700000000.{}");
        let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        let sig = find(&h, "webhook-signature");
        let parts: Vec<&str> = sig.split(' ').collect();
        assert_eq!(parts.len(), 2, "both secrets sign during a rotation");
        assert_eq!(parts[0], format!("v1,{want}"));
        assert_ne!(parts[0], parts[1]);
    }

    #[test]
    fn new_secrets_are_random_and_in_the_format() {
        assert!(new_secret(format::STANDARD).starts_with("whsec_"));
        assert_eq!(new_secret(format::CATA).len(), 64);
        assert_ne!(new_secret(format::CATA), new_secret(format::CATA));
    }
}
