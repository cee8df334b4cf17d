//! Raw payloads in S3-compatible object storage, shared by every replica.
//!
//! Each batch of bodies becomes one object, `<prefix>/<yyyy>/<mm>/<dd>/<uuid>`,
//! written with one PUT that returns only once the store has it durably;
//! a body's key is `obj:<yyyy>/<mm>/<dd>/<uuid>:<offset>:<len>` (the
//! object relative to the prefix), so reads are ranged GETs and a batch of
//! keys from one object is one GET. Retention deletes whole objects older
//! than the cutoff, by their last-modified time.
use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, PutPayload, RetryConfig};

use super::{split_key, BlobStore};

/// Where the objects go and how to reach the store.
#[derive(Clone)]
pub struct S3Settings {
    pub bucket: String,
    /// Folder inside the bucket (no leading or trailing `/`); may be empty.
    pub prefix: String,
    /// `http(s)://host:port` of an S3-compatible server; unset: AWS.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// One request (with its retries) gives up after this long.
    pub timeout: Duration,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// The S3 backend.
pub struct S3Objects {
    store: Arc<AmazonS3>,
    prefix: String,
}

/// Object name under the prefix where the start-up and readiness checks
/// write.
const PROBE: &str = ".plugboard/probe";
/// Objects deleted at once by a purge.
const PURGE_CONCURRENCY: usize = 8;

impl S3Objects {
    /// Builds the client; nothing is sent until the first call (see
    /// [`BlobStore::check`]).
    pub fn new(settings: &S3Settings) -> io::Result<Self> {
        let timeout = settings.timeout.max(Duration::from_millis(100));
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_client_options(
                ClientOptions::new()
                    .with_timeout(timeout)
                    .with_connect_timeout(timeout.min(Duration::from_secs(2)))
                    .with_allow_http(
                        settings
                            .endpoint
                            .as_deref()
                            .is_some_and(|e| e.starts_with("http://")),
                    ),
            )
            // A few quick retries: a sender waits on the acknowledgement,
            // and past this the gateway answers 503 so the sender retries.
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(50),
                    max_backoff: Duration::from_millis(500),
                    base: 2.0,
                },
                max_retries: 2,
                retry_timeout: timeout,
            });
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false);
        }
        if let Some(id) = &settings.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        let store = builder.build().map_err(to_io)?;
        Ok(S3Objects {
            store: Arc::new(store),
            prefix: settings.prefix.trim_matches('/').to_string(),
        })
    }

    fn path(&self, relative: &str) -> Path {
        if self.prefix.is_empty() {
            Path::from(relative)
        } else {
            Path::from(format!("{}/{relative}", self.prefix))
        }
    }

    fn new_object_name() -> String {
        let today = time::OffsetDateTime::now_utc().date();
        format!(
            "{:04}/{:02}/{:02}/{}",
            today.year(),
            u8::from(today.month()),
            today.day(),
            uuid::Uuid::now_v7()
        )
    }
}

/// Turns an object store error into an I/O error of a telling kind.
fn to_io(e: object_store::Error) -> io::Error {
    let kind = match &e {
        object_store::Error::NotFound { .. } => io::ErrorKind::NotFound,
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => io::ErrorKind::PermissionDenied,
        _ => {
            let text = e.to_string();
            if text.contains("NoSuchBucket") {
                io::ErrorKind::NotFound
            } else if [
                "InvalidAccessKeyId",
                "SignatureDoesNotMatch",
                "AccessDenied",
            ]
            .iter()
            .any(|code| text.contains(code))
            {
                io::ErrorKind::PermissionDenied
            } else {
                io::ErrorKind::Other
            }
        }
    };
    io::Error::new(kind, e.to_string())
}

#[async_trait::async_trait]
impl BlobStore for S3Objects {
    fn backend(&self) -> &'static str {
        "s3"
    }

    async fn put_batch(&self, bodies: Vec<Bytes>) -> io::Result<Vec<String>> {
        let name = Self::new_object_name();
        let mut keys = Vec::with_capacity(bodies.len());
        let mut buffer = BytesMut::with_capacity(bodies.iter().map(Bytes::len).sum());
        for body in &bodies {
            keys.push(format!("obj:{name}:{}:{}", buffer.len(), body.len()));
            buffer.extend_from_slice(body);
        }
        self.store
            .put(&self.path(&name), PutPayload::from(buffer.freeze()))
            .await
            .map_err(to_io)?;
        Ok(keys)
    }

    async fn get(&self, key: &str) -> io::Result<Vec<u8>> {
        let (object, offset, len) = split_key(key, "obj:")
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an object key"))?;
        if len == 0 {
            return Ok(Vec::new());
        }
        let bytes = self
            .store
            .get_range(&self.path(object), offset..offset + len)
            .await
            .map_err(to_io)?;
        Ok(bytes.to_vec())
    }

    async fn get_many(&self, keys: &[String]) -> Vec<io::Result<Vec<u8>>> {
        // Keys of one object are read with one ranged GET over their span.
        let mut by_object: BTreeMap<&str, Vec<(usize, u64, u64)>> = BTreeMap::new();
        let mut out: Vec<Option<io::Result<Vec<u8>>>> = (0..keys.len()).map(|_| None).collect();
        for (i, key) in keys.iter().enumerate() {
            match split_key(key, "obj:") {
                Some((object, offset, len)) => {
                    by_object.entry(object).or_default().push((i, offset, len))
                }
                None => {
                    out[i] = Some(Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "not an object key",
                    )))
                }
            }
        }
        let reads = by_object.into_iter().map(|(object, wanted)| async move {
            let start = wanted.iter().map(|w| w.1).min().unwrap_or(0);
            let end = wanted.iter().map(|w| w.1 + w.2).max().unwrap_or(0);
            let span = if end > start {
                self.store
                    .get_range(&self.path(object), start..end)
                    .await
                    .map_err(to_io)
            } else {
                Ok(Bytes::new())
            };
            (wanted, start, span)
        });
        for (wanted, start, span) in futures::future::join_all(reads).await {
            for (i, offset, len) in wanted {
                out[i] = Some(match &span {
                    Ok(bytes) => {
                        let from = (offset - start) as usize;
                        bytes
                            .get(from..from + len as usize)
                            .map(<[u8]>::to_vec)
                            .ok_or_else(|| {
                                io::Error::new(io::ErrorKind::UnexpectedEof, "object too short")
                            })
                    }
                    Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
                });
            }
        }
        out.into_iter()
            .map(|r| r.unwrap_or_else(|| Err(io::Error::other("not read"))))
            .collect()
    }

    async fn purge_before(&self, cutoff: SystemTime) -> io::Result<usize> {
        let prefix = (!self.prefix.is_empty()).then(|| Path::from(self.prefix.as_str()));
        let probe = self.path(PROBE);
        let old: Vec<Path> = self
            .store
            .list(prefix.as_ref())
            .try_filter_map(|meta| {
                let expired =
                    SystemTime::from(meta.last_modified) < cutoff && meta.location != probe;
                futures::future::ready(Ok(expired.then_some(meta.location)))
            })
            .try_collect()
            .await
            .map_err(to_io)?;
        let deleted = futures::stream::iter(old)
            .map(|path| async move { self.store.delete(&path).await })
            .buffer_unordered(PURGE_CONCURRENCY)
            .try_fold(0usize, |n, ()| futures::future::ready(Ok(n + 1)))
            .await
            .map_err(to_io)?;
        Ok(deleted)
    }

    async fn check(&self) -> io::Result<()> {
        // A listing fails on a missing bucket even where a PUT would not
        // (some servers create it on write).
        let prefix = (!self.prefix.is_empty()).then(|| Path::from(self.prefix.as_str()));
        self.store
            .list_with_delimiter(prefix.as_ref())
            .await
            .map_err(to_io)?;
        let probe = self.path(PROBE);
        self.store
            .put(&probe, PutPayload::from_static(b"ok"))
            .await
            .map_err(to_io)?;
        self.store.head(&probe).await.map_err(to_io)?;
        Ok(())
    }
}
