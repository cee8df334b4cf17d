//! `plugboard copy-install`: an embedded install (SQLite and local payload
//! segments) copied into a fresh PostgreSQL database and a real S3 server,
//! then served from there: the same rows, payloads readable and
//! replayable, secrets still usable, new rows after the copied ones; and
//! the refusals (keys the target lacks, a target holding data, the source
//! itself as target).
use std::path::{Path, PathBuf};
use std::time::Duration;

use app::domain::demo::{SUPPORT_EMAIL, SUPPORT_PASSWORD};
use serde_json::{json, Value};

use crate::engines::{PgDatabase, S3Server};
use crate::helpers::{Merchant, TestApp};
use crate::inbound::{Pos, MENU};
use crate::receiver::Receiver;
use crate::support::call;
use crate::webhooks::{signed_by, Shop};

/// Writes the new install's config file; answers its path.
fn target_file(dir: &Path, pg: &PgDatabase, s3: &S3Server, keys: &str) -> PathBuf {
    let mut toml = format!(
        "database_url = {:?}\ndata_dir = {:?}\nencryption_keys = {keys:?}\n\
         outbound_allowlist = [\"127.0.0.0/8\", \"::1\"]\n",
        pg.url,
        dir.join("data").display().to_string(),
    );
    for (name, value) in s3.envs() {
        let key = name.trim_start_matches("PLUGBOARD_").to_lowercase();
        toml.push_str(&format!("{key} = {value:?}\n"));
    }
    let path = dir.join(format!("target-{}.toml", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, toml).unwrap();
    path
}

fn copy(source: &TestApp, to: &Path) -> (bool, String, String) {
    let out = source.cli(&["copy-install", "--to", to.to_str().unwrap()], None);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn pg_count(url: &str, sql: &str) -> i64 {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&mut c)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_install_moves_to_postgres_and_s3() {
    let Some(pg) = PgDatabase::create().await else {
        return;
    };
    let Some(s3) = S3Server::start().await else {
        return;
    };
    let source = TestApp::sqlite().await;

    // What the install holds besides the demo data: a POS connection with
    // a processed menu and a failed one (store not mapped), an endpoint
    // and a delivered order.
    let pos = Pos::with(&source, true).await;
    let loc = pos.m.location("Menteng").await;
    pos.map_store("outlet-7", &loc).await;
    let done = pos.deliver("menu", MENU, "copy-1").await;
    assert_eq!(done["status"], "processed", "{done}");
    let unmapped = MENU
        .replace("outlet-7", "outlet-9")
        .replace("NG-01", "SATE-1");
    let failed = pos.deliver("menu", &unmapped, "copy-2").await;
    assert_eq!(failed["failure_class"], "mapping", "{failed}");
    let shop = Shop {
        m: Merchant {
            app: &source,
            token: pos.m.token.clone(),
        },
        location: loc.clone(),
    };
    let rx = Receiver::start().await;
    let (_, endpoint_secret) = shop
        .register(json!({"url": rx.url("/cata"), "outletId": loc, "events": ["order.paid"]}))
        .await;
    let answer = shop.dispatch("ORD-COPY-1", json!({})).await;
    assert_eq!(answer["dispatched"], true, "{answer}");
    rx.wait_for(1, Duration::from_secs(10)).await;

    // The source keeps running here (the docs say to stop it first): let
    // its dispatcher create its cursor row, the last row it adds unasked,
    // so the counts below compare a quiet install.
    for _ in 0..200 {
        if source.count("SELECT COUNT(*) FROM outbox_cursors").await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dir = tempfile::tempdir().unwrap();

    // The source as its own target: refused.
    let itself = dir.path().join("itself.toml");
    std::fs::write(
        &itself,
        format!(
            "data_dir = {:?}\n",
            source.data_dir.path().display().to_string()
        ),
    )
    .unwrap();
    let (ok, _, err) = copy(&source, &itself);
    assert!(!ok && err.contains("source's own database"), "{err}");

    // Keys the target does not hold: refused before anything is written,
    // naming the source's key and how to get it.
    let other = target_file(dir.path(), &pg, &s3, &server::keys::generate_entry("k1"));
    let (ok, _, err) = copy(&source, &other);
    assert!(!ok, "{err}");
    assert!(
        err.contains("lacks the source key(s) k1") && err.contains("plugboard keys export"),
        "{err}"
    );
    assert!(s3.objects().is_empty(), "nothing was written to S3");

    let export = source.cli(&["keys", "export"], None);
    assert!(export.status.success());
    let keys = String::from_utf8(export.stdout).unwrap().trim().to_string();
    assert!(keys.starts_with("k1="), "an encryption_keys value");
    let to = target_file(dir.path(), &pg, &s3, &keys);
    let (ok, out, err) = copy(&source, &to);
    assert!(ok, "{out}\n{err}");
    let events = source.count("SELECT COUNT(*) FROM inbound_events").await;
    assert!(events >= 2);
    assert!(
        out.contains(&format!("{events} payloads")) && out.contains("local → s3"),
        "{out}"
    );

    // Every table holds what the source holds; every payload is in S3.
    for table in server::copy_install::table_names() {
        let sql = format!("SELECT COUNT(*) FROM \"{table}\"");
        assert_eq!(
            source.count(&sql).await,
            pg_count(&pg.url, &sql).await,
            "rows of {table}"
        );
    }
    assert_eq!(
        pg_count(
            &pg.url,
            "SELECT COUNT(*) FROM inbound_events WHERE blob_key NOT LIKE 'obj:%'"
        )
        .await,
        0
    );
    assert!(!s3.objects().is_empty());

    // A target holding data is refused.
    let (ok, _, err) = copy(&source, &to);
    assert!(!ok && err.contains("already holds data"), "{err}");

    // Served from PostgreSQL + S3.
    let mut config = server::Config::from_file(&to).unwrap();
    config.addr = "127.0.0.1:0".parse().unwrap();
    config.database_max_connections = 4;
    config.log = "warn".into();
    let target = TestApp::on_config(config).await;

    // The merchant's API token works and lists the same events.
    let tpos = Pos {
        m: Merchant {
            app: &target,
            token: pos.m.token.clone(),
        },
        account: pos.account.clone(),
        secret: pos.secret.clone(),
    };
    let listed: Vec<String> = tpos
        .events()
        .await
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert!(listed.contains(&done["id"].as_str().unwrap().to_string()));
    assert!(listed.contains(&failed["id"].as_str().unwrap().to_string()));

    // The demo support agent signs in with the copied password; the raw
    // body comes from S3, and a replay after mapping the store works.
    let resp = target
        .server_fn(
            "sign_in",
            &[("email", SUPPORT_EMAIL), ("password", SUPPORT_PASSWORD)],
        )
        .await;
    assert!(resp.status().is_success() || resp.status().is_redirection());
    let id = failed["id"].as_str().unwrap();
    let (status, detail) = call(&target, "load_support_event", &[("id", id)]).await;
    assert_eq!(status, 200, "{detail}");
    assert!(
        detail["body"].as_str().unwrap().contains("SATE-1"),
        "{detail}"
    );
    let (status, mapped) = call(
        &target,
        "support_map_store",
        &[
            ("event_id", id),
            ("provider_store_id", "outlet-9"),
            ("location_id", &loc),
        ],
    )
    .await;
    assert_eq!(status, 200, "{mapped}");
    let (_, replayed) = call(&target, "support_replay", &[("id", id)]).await;
    assert_eq!(replayed["event"]["status"], "processed", "{replayed}");

    // The connection's sealed secret still verifies new webhooks, and new
    // rows (outbox, attempts) come after the copied ids.
    let more = MENU.replace("NG-01", "NG-02");
    let fresh = tpos.deliver("menu", &more, "copy-3").await;
    assert_eq!(fresh["status"], "processed", "{fresh}");
    let catalog: Value = tpos.catalog(&loc).await;
    assert!(catalog.to_string().contains("NG-02"), "{catalog}");

    // The endpoint's sealed secret signs the next delivery.
    let tshop = Shop {
        m: Merchant {
            app: &target,
            token: pos.m.token.clone(),
        },
        location: loc.clone(),
    };
    let answer = tshop.dispatch("ORD-COPY-2", json!({})).await;
    assert_eq!(answer["dispatched"], true, "{answer}");
    let got = rx.wait_for(2, Duration::from_secs(10)).await;
    let second = got
        .iter()
        .find(|c| String::from_utf8_lossy(&c.body).contains("ORD-COPY-2"))
        .expect("the order dispatched on the new install");
    assert!(signed_by(
        &second.header("x-cata-signature"),
        &endpoint_secret,
        &second.body
    ));
}
