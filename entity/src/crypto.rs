//! Encryption at rest: AES-256-GCM under a key ring with key ids.
//!
//! A sealed value is stored as text `v1.<key id>.<nonce b64>.<ciphertext b64>`.
//! New values are sealed with the primary key; any key still in the ring
//! opens old values, so rotation is "add a new primary, re-seal, retire the
//! old key later". The key id is bound into the ciphertext as associated
//! data, so a value cannot be replayed under another key's label.
use std::collections::BTreeMap;
use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

const VERSION: &str = "v1";

/// Why sealing or opening failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// The stored text is not a sealed value.
    #[error("sealed value is malformed")]
    Malformed,
    /// The key that sealed the value is not in the ring.
    #[error("encryption key {0:?} is not configured")]
    UnknownKey(String),
    /// Authentication failed: wrong key or tampered data.
    #[error("sealed value failed authentication")]
    Tampered,
    /// A key in the configuration is unusable.
    #[error("invalid encryption key {0:?}: {1}")]
    BadKey(String, &'static str),
}

/// A 256-bit key. Not `Debug`-revealing, not `Serialize`.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let key = Aes256Gcm::generate_key(OsRng);
        SecretKey(key.into())
    }

    /// Parses standard or URL-safe base64 of exactly 32 bytes.
    pub fn from_base64(id: &str, b64: &str) -> Result<Self, CryptoError> {
        let bytes = STANDARD
            .decode(b64.trim())
            .or_else(|_| URL_SAFE_NO_PAD.decode(b64.trim()))
            .map_err(|_| CryptoError::BadKey(id.into(), "not base64"))?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CryptoError::BadKey(id.into(), "must be 32 bytes"))?;
        Ok(SecretKey(arr))
    }

    /// Standard base64, for writing a key file.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

/// The keys that can open sealed values, and the one that seals new ones.
#[derive(Clone, Debug)]
pub struct KeyRing {
    primary: String,
    keys: BTreeMap<String, SecretKey>,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 32
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl KeyRing {
    /// A ring with one key, which is primary.
    pub fn new(primary_id: &str, key: SecretKey) -> Result<Self, CryptoError> {
        if !valid_id(primary_id) {
            return Err(CryptoError::BadKey(
                primary_id.into(),
                "ids use letters, digits, - and _",
            ));
        }
        let mut keys = BTreeMap::new();
        keys.insert(primary_id.to_string(), key);
        Ok(KeyRing {
            primary: primary_id.to_string(),
            keys,
        })
    }

    /// Adds a key that can open values but does not seal new ones.
    pub fn add(&mut self, id: &str, key: SecretKey) -> Result<(), CryptoError> {
        if !valid_id(id) {
            return Err(CryptoError::BadKey(
                id.into(),
                "ids use letters, digits, - and _",
            ));
        }
        self.keys.insert(id.to_string(), key);
        Ok(())
    }

    /// Makes a key already in the ring the primary.
    pub fn set_primary(&mut self, id: &str) -> Result<(), CryptoError> {
        if !self.keys.contains_key(id) {
            return Err(CryptoError::UnknownKey(id.into()));
        }
        self.primary = id.to_string();
        Ok(())
    }

    /// The id of the key that seals new values.
    pub fn primary_id(&self) -> &str {
        &self.primary
    }

    /// Ids of every key, sorted.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// The key with `id`, for writing a key file.
    pub fn key(&self, id: &str) -> Option<&SecretKey> {
        self.keys.get(id)
    }

    /// Encrypts `plaintext` under the primary key.
    pub fn seal(&self, plaintext: &[u8]) -> String {
        let key = &self.keys[&self.primary];
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key.0));
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: self.primary.as_bytes(),
                },
            )
            // AES-GCM encryption only fails for inputs beyond 64 GiB.
            .unwrap_or_default();
        format!(
            "{VERSION}.{}.{}.{}",
            self.primary,
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(ciphertext)
        )
    }

    /// Decrypts a value sealed by any key of the ring.
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, CryptoError> {
        let mut parts = sealed.split('.');
        let (Some(VERSION), Some(kid), Some(nonce), Some(ct), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(CryptoError::Malformed);
        };
        let key = self
            .keys
            .get(kid)
            .ok_or_else(|| CryptoError::UnknownKey(kid.into()))?;
        let nonce = URL_SAFE_NO_PAD
            .decode(nonce)
            .map_err(|_| CryptoError::Malformed)?;
        if nonce.len() != 12 {
            return Err(CryptoError::Malformed);
        }
        let ct = URL_SAFE_NO_PAD
            .decode(ct)
            .map_err(|_| CryptoError::Malformed)?;
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key.0));
        cipher
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &ct,
                    aad: kid.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Tampered)
    }

    /// Whether a sealed value was sealed with the primary key.
    pub fn is_current(&self, sealed: &str) -> bool {
        sealed
            .split('.')
            .nth(1)
            .is_some_and(|kid| kid == self.primary)
    }

    /// Seals a JSON value.
    pub fn seal_json(&self, value: &serde_json::Value) -> String {
        self.seal(value.to_string().as_bytes())
    }

    /// Opens a sealed JSON value.
    pub fn open_json(&self, sealed: &str) -> Result<serde_json::Value, CryptoError> {
        let bytes = self.open(sealed)?;
        serde_json::from_slice(&bytes).map_err(|_| CryptoError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_and_hide_the_plaintext() {
        let ring = KeyRing::new("k1", SecretKey::generate()).unwrap();
        let sealed = ring.seal(b"sk_live_very_secret");
        assert!(sealed.starts_with("v1.k1."));
        assert!(!sealed.contains("very_secret"));
        assert_eq!(ring.open(&sealed).unwrap(), b"sk_live_very_secret");
        // Same plaintext, different ciphertext (fresh nonce).
        assert_ne!(ring.seal(b"x"), ring.seal(b"x"));
    }

    #[test]
    fn rotation_keeps_old_values_readable() {
        let mut ring = KeyRing::new("k1", SecretKey::generate()).unwrap();
        let old = ring.seal(b"old");
        ring.add("k2", SecretKey::generate()).unwrap();
        ring.set_primary("k2").unwrap();
        let new = ring.seal(b"new");
        assert!(new.starts_with("v1.k2."));
        assert!(!ring.is_current(&old) && ring.is_current(&new));
        assert_eq!(ring.open(&old).unwrap(), b"old");
        assert_eq!(ring.open(&new).unwrap(), b"new");
    }

    #[test]
    fn tampering_and_unknown_keys_are_detected() {
        let ring = KeyRing::new("k1", SecretKey::generate()).unwrap();
        let sealed = ring.seal(b"value");
        let mut parts: Vec<String> = sealed.split('.').map(String::from).collect();
        let mut ct = URL_SAFE_NO_PAD.decode(&parts[3]).unwrap();
        ct[0] ^= 1;
        parts[3] = URL_SAFE_NO_PAD.encode(ct);
        assert_eq!(ring.open(&parts.join(".")), Err(CryptoError::Tampered));
        // Relabelling with another key id fails: the id is authenticated.
        let other = KeyRing::new("k9", SecretKey::generate()).unwrap();
        assert_eq!(
            other.open(&sealed),
            Err(CryptoError::UnknownKey("k1".into()))
        );
        assert_eq!(ring.open("v1.k1.zz"), Err(CryptoError::Malformed));
        assert_eq!(ring.open("plaintext"), Err(CryptoError::Malformed));
    }

    #[test]
    fn keys_parse_from_base64_of_32_bytes() {
        let k = SecretKey::generate();
        let again = SecretKey::from_base64("k", &k.to_base64()).unwrap();
        assert_eq!(k.0, again.0);
        assert!(SecretKey::from_base64("k", "c2hvcnQ=").is_err());
        assert!(format!("{k:?}").contains('…'));
    }
}

/// A key ring that can be swapped while the server runs (after
/// `plugboard keys rotate` writes a new key file).
#[derive(Debug)]
pub struct SharedKeyRing(std::sync::RwLock<std::sync::Arc<KeyRing>>);

impl SharedKeyRing {
    /// Wraps a ring.
    pub fn new(ring: KeyRing) -> Self {
        SharedKeyRing(std::sync::RwLock::new(std::sync::Arc::new(ring)))
    }

    /// The ring in force now.
    pub fn current(&self) -> std::sync::Arc<KeyRing> {
        match self.0.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Puts a new ring in force.
    pub fn replace(&self, ring: KeyRing) {
        let mut g = match self.0.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *g = std::sync::Arc::new(ring);
    }
}
