//! Where the encryption key ring comes from: the `encryption_keys` setting
//! in production, or a key file in the data directory that the embedded
//! default creates on first start (owner-only permissions).
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use entity::crypto::{CryptoError, KeyRing, SecretKey};
use serde::{Deserialize, Serialize};

use crate::config::Config;

/// Why no key ring could be built.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("encryption_keys must look like \"k2=<base64>,k1=<base64>\" (first is primary): {0}")]
    Syntax(String),
    #[error("key file {path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("key file {0} is not valid")]
    FileFormat(String),
    #[error("encryption_keys must be set when the database is PostgreSQL: every server process needs the same keys")]
    Required,
    #[error("keys come from the encryption_keys setting: generate a key with `plugboard keys generate`, put it first in encryption_keys, restart, then run `plugboard keys reseal`")]
    ConfiguredKeys,
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    primary: String,
    keys: BTreeMap<String, String>,
}

/// The key file of the embedded default.
pub fn key_file(config: &Config) -> PathBuf {
    config.data_dir.join("keys.json")
}

/// Parses `id=base64,id=base64`; the first key is primary.
pub fn parse_list(list: &str) -> Result<KeyRing, KeyError> {
    let mut ring: Option<KeyRing> = None;
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (id, b64) = entry.split_once('=').ok_or_else(|| {
            KeyError::Syntax(format!(
                "entry without '=' (id {:?})",
                entry.split('=').next().unwrap_or("")
            ))
        })?;
        let key = SecretKey::from_base64(id, b64)?;
        match &mut ring {
            None => ring = Some(KeyRing::new(id, key)?),
            Some(r) => r.add(id, key)?,
        }
    }
    ring.ok_or_else(|| KeyError::Syntax("no keys".into()))
}

fn read_file(path: &Path) -> Result<KeyRing, KeyError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyError::File {
        path: path.display().to_string(),
        source,
    })?;
    let file: KeyFile = serde_json::from_str(&text)
        .map_err(|_| KeyError::FileFormat(path.display().to_string()))?;
    let primary = file
        .keys
        .get(&file.primary)
        .ok_or_else(|| KeyError::FileFormat(path.display().to_string()))?;
    let mut ring = KeyRing::new(
        &file.primary,
        SecretKey::from_base64(&file.primary, primary)?,
    )?;
    for (id, b64) in &file.keys {
        if *id != file.primary {
            ring.add(id, SecretKey::from_base64(id, b64)?)?;
        }
    }
    Ok(ring)
}

/// Writes the ring to `path` with owner-only permissions, atomically.
fn write_file(path: &Path, ring: &KeyRing) -> Result<(), KeyError> {
    let file = KeyFile {
        primary: ring.primary_id().to_string(),
        keys: ring
            .ids()
            .filter_map(|id| ring.key(id).map(|k| (id.to_string(), k.to_base64())))
            .collect(),
    };
    let io = |source| KeyError::File {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp).map_err(io)?;
    let text = serde_json::to_string_pretty(&file).unwrap_or_default();
    f.write_all(text.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(())
}

/// The key ring for this configuration, creating the embedded key file on
/// first start.
pub fn load(config: &Config) -> Result<KeyRing, KeyError> {
    if let Some(list) = &config.encryption_keys {
        return parse_list(list);
    }
    if !config.is_embedded() {
        return Err(KeyError::Required);
    }
    let path = key_file(config);
    if path.exists() {
        return read_file(&path);
    }
    let ring = KeyRing::new("k1", SecretKey::generate())?;
    write_file(&path, &ring)?;
    tracing::warn!(
        path = %path.display(),
        "created the encryption key file (owner-only). Back it up: without it, stored secrets cannot be read"
    );
    Ok(ring)
}

/// The ring as an `encryption_keys` value, primary first: what a
/// deployment on PostgreSQL sets to read what this ring sealed.
pub fn to_list(ring: &KeyRing) -> String {
    let primary = ring.primary_id();
    std::iter::once(primary)
        .chain(ring.ids().filter(|id| *id != primary))
        .filter_map(|id| ring.key(id).map(|k| format!("{id}={}", k.to_base64())))
        .collect::<Vec<_>>()
        .join(",")
}

/// The ids of `wanted`'s keys that `ring` lacks or holds with other key
/// material.
pub fn missing(wanted: &KeyRing, ring: &KeyRing) -> Vec<String> {
    wanted
        .ids()
        .filter(|id| {
            let theirs = ring.key(id).map(SecretKey::to_base64);
            theirs != wanted.key(id).map(SecretKey::to_base64)
        })
        .map(str::to_string)
        .collect()
}

/// Reloads the embedded key file when it changes (every few seconds), so a
/// running server picks up `plugboard keys rotate` without a restart.
pub fn watch_file(config: &Config, shared: std::sync::Arc<entity::crypto::SharedKeyRing>) {
    if config.encryption_keys.is_some() {
        return;
    }
    let path = key_file(config);
    tokio::spawn(async move {
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let mut seen = modified(&path);
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
        loop {
            tick.tick().await;
            let now = modified(&path);
            if now == seen {
                continue;
            }
            match read_file(&path) {
                Ok(ring) => {
                    tracing::info!(
                        primary = ring.primary_id(),
                        "encryption key file changed; keys reloaded"
                    );
                    shared.replace(ring);
                    seen = now;
                }
                Err(e) => {
                    tracing::error!(error = %e, "encryption key file changed but cannot be read; keeping the old keys")
                }
            }
        }
    });
}

/// Adds a fresh primary key to the key file and answers the new ring.
pub fn rotate_file(config: &Config) -> Result<KeyRing, KeyError> {
    if config.encryption_keys.is_some() {
        return Err(KeyError::ConfiguredKeys);
    }
    let path = key_file(config);
    let mut ring = if path.exists() {
        read_file(&path)?
    } else {
        load(config)?
    };
    let next = (1..)
        .map(|n| format!("k{n}"))
        .find(|id| ring.key(id).is_none())
        .unwrap_or_else(|| "k-new".into());
    ring.add(&next, SecretKey::generate())?;
    ring.set_primary(&next)?;
    write_file(&path, &ring)?;
    Ok(ring)
}

/// A new key as an `encryption_keys` entry.
pub fn generate_entry(id: &str) -> String {
    format!("{id}={}", SecretKey::generate().to_base64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_round_trips_through_its_list_and_missing_keys_are_named() {
        let list = format!("{},{}", generate_entry("k2"), generate_entry("k1"));
        let ring = parse_list(&list).unwrap();
        assert_eq!(to_list(&ring), list);
        assert!(missing(&ring, &parse_list(&to_list(&ring)).unwrap()).is_empty());
        let other = parse_list(&format!(
            "{},{}",
            generate_entry("k3"),
            list.split(',').nth(1).unwrap()
        ))
        .unwrap();
        // k1 is shared; k2 is absent from `other`.
        assert_eq!(missing(&ring, &other), vec!["k2".to_string()]);
        // Same id, other material: named too.
        let clash = parse_list(&format!(
            "{},{}",
            generate_entry("k2"),
            list.split(',').nth(1).unwrap()
        ))
        .unwrap();
        assert_eq!(missing(&ring, &clash), vec!["k2".to_string()]);
    }

    #[test]
    fn lists_parse_with_the_first_key_primary() {
        let list = format!("{},{}", generate_entry("k2"), generate_entry("k1"));
        let ring = parse_list(&list).unwrap();
        assert_eq!(ring.primary_id(), "k2");
        assert_eq!(ring.ids().collect::<Vec<_>>(), vec!["k1", "k2"]);
        assert!(parse_list("k1").is_err());
        assert!(parse_list("k1=c2hvcnQ=").is_err());
    }

    #[test]
    fn the_embedded_key_file_is_created_private_and_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let ring = load(&config).unwrap();
        let sealed = ring.seal(b"secret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(key_file(&config))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Loading again reads the same key.
        assert_eq!(load(&config).unwrap().open(&sealed).unwrap(), b"secret");
        let rotated = rotate_file(&config).unwrap();
        assert_eq!(rotated.primary_id(), "k2");
        assert_eq!(load(&config).unwrap().open(&sealed).unwrap(), b"secret");
        assert!(load(&config).unwrap().seal(b"x").starts_with("v1.k2."));
    }
}
