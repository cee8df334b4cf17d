//! Script files on disk: `scripts/adapters/<provider>/<topic>.js`, each
//! naming itself with JSDoc tags `@provider`, `@topic` and `@version`.
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// A script file read and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptFile {
    pub path: PathBuf,
    pub provider: String,
    pub topic: String,
    pub version: String,
    pub source: String,
    pub checksum: String,
}

/// Why a file cannot be deployed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct SourceError {
    pub path: String,
    pub reason: String,
}

/// SHA-256 of a script's text, hex.
pub fn checksum(source: &str) -> String {
    hex::encode(Sha256::digest(source.as_bytes()))
}

/// The value of JSDoc tag `@name` (the first one), if present.
pub fn tag<'a>(source: &'a str, name: &str) -> Option<&'a str> {
    let marker = format!("@{name}");
    source.lines().find_map(|line| {
        let line = line.trim_start().trim_start_matches("/**").trim_start();
        let rest = line.trim_start_matches('*').trim_start();
        let value = rest.strip_prefix(marker.as_str())?;
        if !value.starts_with(char::is_whitespace) {
            return None;
        }
        Some(value.trim().trim_end_matches("*/").trim())
    })
}

/// A version as `MAJOR.MINOR.PATCH`.
pub fn valid_version(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 6 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Lower-case letters, digits, `-` and `_`.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Reads one script and checks its tags against its place in the tree.
pub fn read(path: &Path, source: String) -> Result<ScriptFile, SourceError> {
    let err = |reason: String| SourceError {
        path: path.display().to_string(),
        reason,
    };
    let want = |name: &str| {
        tag(&source, name)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or_else(|| err(format!("missing JSDoc tag @{name}")))
    };
    let (provider, topic, version) = (want("provider")?, want("topic")?, want("version")?);
    if !valid_name(&provider) || !valid_name(&topic) {
        return Err(err(format!(
            "@provider {provider:?} and @topic {topic:?} must be lower-case names"
        )));
    }
    if !valid_version(&version) {
        return Err(err(format!(
            "@version {version:?} is not MAJOR.MINOR.PATCH"
        )));
    }
    let dir = path
        .parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str());
    let stem = path.file_stem().and_then(|n| n.to_str());
    if dir != Some(provider.as_str()) || stem != Some(topic.as_str()) {
        return Err(err(format!(
            "tags say {provider}/{topic}.js but the file is elsewhere; keep it at scripts/adapters/{provider}/{topic}.js"
        )));
    }
    Ok(ScriptFile {
        path: path.to_path_buf(),
        checksum: checksum(&source),
        provider,
        topic,
        version,
        source,
    })
}

/// Every `<provider>/<topic>.js` under `root`, sorted by path.
pub fn discover(root: &Path) -> Result<Vec<ScriptFile>, SourceError> {
    let io = |p: &Path, e: std::io::Error| SourceError {
        path: p.display().to_string(),
        reason: e.to_string(),
    };
    let mut paths = Vec::new();
    for dir in std::fs::read_dir(root).map_err(|e| io(root, e))? {
        let dir = dir.map_err(|e| io(root, e))?.path();
        if !dir.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&dir).map_err(|e| io(&dir, e))? {
            let file = file.map_err(|e| io(&dir, e))?.path();
            if file.extension().is_some_and(|e| e == "js") {
                paths.push(file);
            }
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let source = std::fs::read_to_string(&p).map_err(|e| io(&p, e))?;
            read(&p, source)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "/**\n * Square inventory counts.\n * @provider square\n * @topic inventory\n * @version 1.2.0\n */\nfunction transform(i) { return i; }\n";

    #[test]
    fn reads_tags_and_checks_the_path() {
        let f = read(
            Path::new("scripts/adapters/square/inventory.js"),
            GOOD.into(),
        )
        .unwrap();
        assert_eq!(
            (f.provider.as_str(), f.topic.as_str(), f.version.as_str()),
            ("square", "inventory", "1.2.0")
        );
        assert_eq!(f.checksum, checksum(GOOD));
        let moved = read(
            Path::new("scripts/adapters/revel/inventory.js"),
            GOOD.into(),
        );
        assert!(moved.unwrap_err().reason.contains("elsewhere"));
    }

    #[test]
    fn refuses_missing_or_bad_tags() {
        let p = Path::new("x/square/inventory.js");
        let no_version = GOOD.replace(" * @version 1.2.0\n", "");
        assert!(read(p, no_version).unwrap_err().reason.contains("@version"));
        let bad = GOOD.replace("1.2.0", "1.2");
        assert!(read(p, bad).unwrap_err().reason.contains("MAJOR"));
        let upper = GOOD.replace("@provider square", "@provider Square");
        assert!(read(p, upper).is_err());
        // `@providers` is not `@provider`.
        assert_eq!(tag(" * @providers x", "provider"), None);
        assert_eq!(tag("/** @version 2.0.0 */", "version"), Some("2.0.0"));
    }
}
