//! Raw payloads in S3-compatible object storage (a real s3s-fs): shared by
//! replicas, acknowledged only once durable there, purged by retention,
//! and a bad setting named before the server starts.
use std::time::Duration;

use app::domain::inbound::blob::{BlobStore, S3Objects, S3Settings};
use bytes::Bytes;
use reqwest::Method;
use serde_json::Value;

use crate::engines::{S3Server, S3_KEY, S3_SECRET};
use crate::helpers::{bind, error_of, TestApp};
use crate::inbound::{Pos, MENU};

fn settings(s3: &S3Server, bucket: &str, secret: &str) -> S3Settings {
    S3Settings {
        bucket: bucket.into(),
        prefix: "unit".into(),
        endpoint: Some(s3.endpoint.clone()),
        region: "us-east-1".into(),
        access_key_id: Some(S3_KEY.into()),
        secret_access_key: Some(secret.into()),
        timeout: Duration::from_secs(2),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_come_back_byte_for_byte_from_batched_objects() {
    let Some(s3) = S3Server::start().await else {
        return;
    };
    let store = S3Objects::new(&settings(&s3, &s3.bucket, S3_SECRET)).unwrap();
    store.check().await.unwrap();
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let first = store
        .put_batch(vec![
            Bytes::from_static(b"first body"),
            Bytes::new(),
            Bytes::from(big.clone()),
        ])
        .await
        .unwrap();
    let second = store
        .put_batch(vec![Bytes::from_static(b"{\"x\":1}")])
        .await
        .unwrap();
    assert_eq!(first.len(), 3);
    assert!(first.iter().all(|k| k.starts_with("obj:")), "{first:?}");
    // One object per batch.
    let object = |k: &str| k.rsplitn(3, ':').nth(2).unwrap().to_string();
    assert_eq!(object(&first[0]), object(&first[2]));
    assert_ne!(object(&first[0]), object(&second[0]));
    assert_eq!(store.get(&first[0]).await.unwrap(), b"first body");
    assert_eq!(store.get(&first[1]).await.unwrap(), b"");
    assert_eq!(store.get(&first[2]).await.unwrap(), big);
    // Many keys at once, out of order and across objects.
    let keys = vec![
        second[0].clone(),
        first[2].clone(),
        "seg-1:0:3".to_string(),
        first[0].clone(),
    ];
    let many = store.get_many(&keys).await;
    assert_eq!(many[0].as_ref().unwrap(), b"{\"x\":1}");
    assert_eq!(many[1].as_ref().unwrap(), &big);
    assert!(many[2].is_err(), "a local key is not an object key");
    assert_eq!(many[3].as_ref().unwrap(), b"first body");
    // Retention deletes whole objects before the cutoff, never the probe.
    let purged = store
        .purge_before(std::time::SystemTime::now() + Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(purged, 2);
    assert!(store.get(&first[0]).await.is_err());
    store.check().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_replica_processes_shows_and_replays_what_the_first_stored() {
    let Some(a) = TestApp::postgres_s3(|c| c.inbound_processing = false).await else {
        return;
    };
    let b = a.sibling_with(|c| c.inbound_processing = true).await;
    let pos = Pos::new(&a).await;
    let loc = pos.m.location("Senopati").await;
    // Stored through A (which does not process), into S3, not the disk.
    let ack: Value = pos.post("menu", MENU, "s3-1").await.json().await.unwrap();
    assert_eq!(ack["status"], "accepted", "{ack}");
    let id = ack["event_id"].as_str().unwrap().to_string();
    let s3 = a.s3.as_ref().unwrap();
    assert!(!s3.objects().is_empty(), "the batch is an object in S3");
    let local = a.data_dir.path().join("blobs");
    let local_segments = std::fs::read_dir(&local)
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "blob"))
                .count()
        })
        .unwrap_or(0);
    assert_eq!(local_segments, 0, "nothing is written to the local folder");
    // B processes it (unmapped store: a mapping failure), reading the body
    // from S3.
    let event = pos.settled(&id).await;
    assert_eq!(event["failure_class"], "mapping", "{event}");
    // B's support console shows the raw body.
    crate::support::support_agent(&b).await;
    let (status, detail) = crate::support::call(&b, "load_support_event", &[("id", &id)]).await;
    assert_eq!(status, 200, "{detail}");
    assert!(
        detail["body"].as_str().unwrap().contains("NG-01"),
        "{detail}"
    );
    // Map the store and SKU, replay on B: processed from the S3 body.
    pos.map_store("outlet-7", &loc).await;
    let resp = b
        .bearer(Method::POST, "/v1/item-mappings", &pos.m.token)
        .json(&serde_json::json!({"provider": "restopos", "provider_sku": "NG-01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let replayed: Value = b
        .bearer(
            Method::POST,
            &format!("/v1/inbound/events/{id}/replay"),
            &pos.m.token,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(replayed["status"], "processed", "{replayed}");
    assert_eq!(pos.catalog(&loc).await["items"][0]["name"], "Nasi goreng");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_store_answers_503_with_retry_after_and_acknowledges_nothing() {
    let Some(mut app) = TestApp::sqlite_s3(|_| {}).await else {
        return;
    };
    let mut s3 = app.s3.take().unwrap();
    let pos = Pos::new(&app).await;
    s3.stop();
    let resp = pos.post("menu", MENU, "down-1").await;
    assert_eq!(resp.headers()["retry-after"], "5");
    let (status, code, _) = error_of(resp).await;
    assert_eq!((status, code.as_str()), (503, "unavailable"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM inbound_events").await,
        0,
        "nothing is acknowledged without a durable payload"
    );
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let ready: Value = ready.json().await.unwrap();
    let store = ready["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "payload_store")
        .unwrap()
        .clone();
    assert_eq!(
        (store["ok"].as_bool(), store["backend"].as_str()),
        (Some(false), Some("s3"))
    );
    // The store comes back: the sender's retry is acknowledged.
    s3.restart().await;
    let ack: Value = pos.post("menu", MENU, "down-1").await.json().await.unwrap();
    assert_eq!(ack["status"], "accepted", "{ack}");
    assert_eq!(app.get("/readyz").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_old_objects_from_s3() {
    let Some(app) = TestApp::sqlite_s3(|c| {
        c.inbound_retention_days = 0;
        c.inbound_purge_interval_secs = 1;
    })
    .await
    else {
        return;
    };
    let pos = Pos::new(&app).await;
    let event = pos.deliver("menu", MENU, "old-1").await;
    assert_eq!(event["status"], "failed");
    let s3 = app.s3.as_ref().unwrap();
    let mut left = usize::MAX;
    for _ in 0..100 {
        left = s3.objects().len();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "the object past the window is deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_bucket_key_or_endpoint_stops_the_start_naming_the_setting() {
    let Some(s3) = S3Server::start().await else {
        return;
    };
    type Tweak = Box<dyn Fn(&mut server::Config)>;
    let cases: [(&str, Tweak); 3] = [
        (
            "blob_url: bucket \"missing-bucket\" does not exist",
            Box::new(|c| c.blob_url = Some("s3://missing-bucket/x".into())),
        ),
        (
            "blob_s3_access_key_id / blob_s3_secret_access_key",
            Box::new(|c| {
                c.blob_s3_secret_access_key = Some(server::config::Redacted("wrong".into()))
            }),
        ),
        (
            "blob_s3_endpoint",
            Box::new(|c| {
                c.blob_s3_endpoint = Some(format!(
                    "http://127.0.0.1:{}",
                    crate::engines::unused_port()
                ))
            }),
        ),
    ];
    for (expected, tweak) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut config = crate::helpers::base_config(dir.path().to_path_buf());
        s3.configure(&mut config);
        tweak(&mut config);
        let started = server::Application::with_listener(config, bind().await).await;
        let Err(e) = started else {
            panic!("{expected}: the server must refuse to start");
        };
        let message = e.to_string();
        assert!(message.starts_with(expected), "{expected}: {message}");
        assert!(
            !message.contains("wrong"),
            "no secret in the message: {message}"
        );
    }
}
