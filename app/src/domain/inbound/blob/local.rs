//! The embedded default payload store: append-only segment files under one
//! folder. A segment is closed when it passes its size; retention deletes
//! whole closed segments. A key is `seg-<n>:<offset>:<len>`.
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;

use super::{split_key, BlobStore};

/// Append-only segment files under one folder. A segment is closed when it
/// passes `max_segment_bytes`; retention deletes whole closed segments.
pub struct LocalSegments {
    inner: Arc<Segments>,
}

struct Segments {
    dir: PathBuf,
    max_segment_bytes: u64,
    current: Mutex<Segment>,
}

struct Segment {
    number: u64,
    file: File,
    len: u64,
}

impl LocalSegments {
    /// Opens (or creates) the store in `dir`, continuing after the newest
    /// segment found there.
    pub fn open(dir: impl AsRef<Path>, max_segment_bytes: u64) -> io::Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir)?;
        let newest = segments(&dir)?
            .into_iter()
            .map(|(n, _)| n)
            .max()
            .unwrap_or(0);
        let current = open_segment(&dir, newest + 1)?;
        Ok(LocalSegments {
            inner: Arc::new(Segments {
                dir,
                max_segment_bytes: max_segment_bytes.max(1),
                current: Mutex::new(current),
            }),
        })
    }

    /// Runs blocking file work off the async runtime.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Segments) -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || work(&inner))
            .await
            .map_err(|e| io::Error::other(format!("payload store task failed: {e}")))?
    }
}

fn segment_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("seg-{number:012}.blob"))
}

fn open_segment(dir: &Path, number: u64) -> io::Result<Segment> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(segment_path(dir, number))?;
    let len = file.metadata()?.len();
    // The new file's directory entry must survive a power loss too.
    File::open(dir)?.sync_all()?;
    Ok(Segment { number, file, len })
}

fn segments(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let number = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("seg-"))
            .and_then(|n| n.strip_suffix(".blob"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(n) = number {
            out.push((n, path));
        }
    }
    Ok(out)
}

fn parse_key(key: &str) -> Option<(u64, u64, u64)> {
    let (seg, offset, len) = split_key(key, "seg-")?;
    Some((seg.parse().ok()?, offset, len))
}

impl Segments {
    fn put_batch(&self, bodies: &[Bytes]) -> io::Result<Vec<String>> {
        let mut current = self
            .current
            .lock()
            .map_err(|_| io::Error::other("blob store lock poisoned"))?;
        if current.len >= self.max_segment_bytes {
            let next = current.number + 1;
            *current = open_segment(&self.dir, next)?;
        }
        let mut keys = Vec::with_capacity(bodies.len());
        let mut buffer = Vec::with_capacity(bodies.iter().map(|b| b.len()).sum());
        let mut offset = current.len;
        for body in bodies {
            keys.push(format!("seg-{}:{}:{}", current.number, offset, body.len()));
            buffer.extend_from_slice(body);
            offset += body.len() as u64;
        }
        let written = current
            .file
            .write_all(&buffer)
            .and_then(|()| current.file.sync_data());
        if let Err(e) = written {
            // Never leave a half-written tail under later keys: cut it off,
            // or move on to a fresh segment if even that fails.
            if current.file.set_len(current.len).is_err() {
                let next = current.number + 1;
                *current = open_segment(&self.dir, next)?;
            }
            return Err(e);
        }
        current.len = offset;
        Ok(keys)
    }

    fn get(&self, key: &str) -> io::Result<Vec<u8>> {
        let (seg, offset, len) = parse_key(key)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a local blob key"))?;
        let file = File::open(segment_path(&self.dir, seg))?;
        let mut out = vec![0; len as usize];
        file.read_exact_at(&mut out, offset)?;
        Ok(out)
    }

    fn purge_before(&self, cutoff: SystemTime) -> io::Result<usize> {
        let current = self
            .current
            .lock()
            .map_err(|_| io::Error::other("blob store lock poisoned"))?
            .number;
        let mut purged = 0;
        for (number, path) in segments(&self.dir)? {
            if number >= current {
                continue;
            }
            let modified = fs::metadata(&path)?.modified()?;
            if modified < cutoff {
                fs::remove_file(&path)?;
                purged += 1;
            }
        }
        Ok(purged)
    }
}

#[async_trait::async_trait]
impl BlobStore for LocalSegments {
    fn backend(&self) -> &'static str {
        "local"
    }

    async fn put_batch(&self, bodies: Vec<Bytes>) -> io::Result<Vec<String>> {
        self.blocking(move |s| s.put_batch(&bodies)).await
    }

    async fn get(&self, key: &str) -> io::Result<Vec<u8>> {
        let key = key.to_string();
        self.blocking(move |s| s.get(&key)).await
    }

    async fn get_many(&self, keys: &[String]) -> Vec<io::Result<Vec<u8>>> {
        let keys = keys.to_vec();
        let count = keys.len();
        match self
            .blocking(move |s| Ok(keys.iter().map(|k| s.get(k)).collect::<Vec<_>>()))
            .await
        {
            Ok(bodies) => bodies,
            Err(e) => (0..count)
                .map(|_| Err(io::Error::new(e.kind(), e.to_string())))
                .collect(),
        }
    }

    async fn purge_before(&self, cutoff: SystemTime) -> io::Result<usize> {
        self.blocking(move |s| s.purge_before(cutoff)).await
    }

    async fn check(&self) -> io::Result<()> {
        self.blocking(|s| {
            let probe = s.dir.join(".probe");
            fs::write(&probe, b"ok")?;
            fs::remove_file(&probe)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(bodies: &[&[u8]]) -> Vec<Bytes> {
        bodies.iter().map(|b| Bytes::copy_from_slice(b)).collect()
    }

    #[tokio::test]
    async fn bodies_come_back_byte_for_byte_across_segments_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalSegments::open(dir.path(), 64).unwrap();
        let a = store
            .put_batch(batch(&[b"first body", b"", b"{\"x\":1}"]))
            .await
            .unwrap();
        let big = vec![7u8; 100];
        let b = store.put_batch(batch(&[big.as_slice()])).await.unwrap();
        let c = store.put_batch(batch(&[b"after rotation"])).await.unwrap();
        assert_eq!(store.get(&a[0]).await.unwrap(), b"first body");
        assert_eq!(store.get(&a[1]).await.unwrap(), b"");
        assert_eq!(store.get(&a[2]).await.unwrap(), b"{\"x\":1}");
        assert_eq!(store.get(&b[0]).await.unwrap(), big);
        assert_ne!(a[0].split(':').next(), c[0].split(':').next(), "rotated");
        drop(store);
        let reopened = LocalSegments::open(dir.path(), 64).unwrap();
        assert_eq!(reopened.get(&c[0]).await.unwrap(), b"after rotation");
        let d = reopened.put_batch(batch(&[b"new"])).await.unwrap();
        assert_eq!(reopened.get(&d[0]).await.unwrap(), b"new");
        assert!(reopened.get("seg-x").await.is_err());
    }

    #[tokio::test]
    async fn retention_deletes_old_closed_segments_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalSegments::open(dir.path(), 4).unwrap();
        let old = store.put_batch(batch(&[b"old-body"])).await.unwrap();
        let _ = store.put_batch(batch(&[b"newer"])).await.unwrap();
        let purged = store
            .purge_before(SystemTime::now() + std::time::Duration::from_secs(60))
            .await
            .unwrap();
        assert!(purged >= 1);
        assert!(store.get(&old[0]).await.is_err());
        // The open segment is kept.
        let kept = store.put_batch(batch(&[b"still here"])).await.unwrap();
        assert_eq!(store.get(&kept[0]).await.unwrap(), b"still here");
    }
}
