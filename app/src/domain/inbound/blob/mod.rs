//! Where raw inbound bodies live: a payload store behind one trait, with
//! one module per backend.
//!
//! - [`local::LocalSegments`], the embedded default: append-only segment
//!   files in a local folder (`data_dir/blobs`).
//! - [`s3::S3Objects`]: S3-compatible object storage, shared by every
//!   replica (`blob_url = "s3://bucket/prefix"`).
//!
//! Both write bodies in batches, so the acknowledgement path shares the
//! cost of durability between many webhooks (`server::inbound::ack`): one
//! `fsync` per batch for a segment, one object per batch in S3. A body's
//! key names where it is and is kept on its event row, which makes the
//! database the index of offsets: `seg-<n>:<offset>:<len>` for a segment,
//! `obj:<object>:<offset>:<len>` for an object.
use std::io;
use std::time::SystemTime;

use bytes::Bytes;

pub mod local;
pub mod s3;

pub use local::LocalSegments;
pub use s3::{S3Objects, S3Settings};

/// A store for raw payloads.
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync {
    /// `local` or `s3`, for readiness and logs.
    fn backend(&self) -> &'static str;
    /// Stores every body durably (once this returns they survive a crash
    /// of this process and of the machine); answers their keys, in order.
    async fn put_batch(&self, bodies: Vec<Bytes>) -> io::Result<Vec<String>>;
    /// Reads one body back.
    async fn get(&self, key: &str) -> io::Result<Vec<u8>>;
    /// Reads many bodies, in order. Backends override it to read each
    /// batch's object or segment once.
    async fn get_many(&self, keys: &[String]) -> Vec<io::Result<Vec<u8>>> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            out.push(self.get(key).await);
        }
        out
    }
    /// Deletes what was stored before `cutoff`; answers how many units
    /// (segments, objects) went.
    async fn purge_before(&self, cutoff: SystemTime) -> io::Result<usize>;
    /// Answers whether the store can be reached and written now
    /// (readiness, and the start-up check).
    async fn check(&self) -> io::Result<()>;
}

/// A key's parts: the unit (segment number or object name), offset, length.
pub(crate) fn split_key<'k>(key: &'k str, prefix: &str) -> Option<(&'k str, u64, u64)> {
    let rest = key.strip_prefix(prefix)?;
    let mut parts = rest.rsplitn(3, ':');
    let len = parts.next()?.parse().ok()?;
    let offset = parts.next()?.parse().ok()?;
    let unit = parts.next()?;
    (!unit.is_empty()).then_some((unit, offset, len))
}

#[cfg(test)]
mod tests {
    use super::split_key;

    #[test]
    fn keys_split_into_unit_offset_and_length() {
        assert_eq!(split_key("seg-7:10:3", "seg-"), Some(("7", 10, 3)));
        assert_eq!(
            split_key("obj:2026/12/07/abc:0:12", "obj:"),
            Some(("2026/12/07/abc", 0, 12))
        );
        assert_eq!(split_key("obj::0:12", "obj:"), None);
        assert_eq!(split_key("seg-7:x:3", "seg-"), None);
        assert_eq!(split_key("obj:a:1:2", "seg-"), None);
        assert_eq!(split_key("seg-7", "seg-"), None);
    }
}
