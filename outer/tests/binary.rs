//! The `sluice-outer` binary: administration commands, the example configuration, SIGTERM, and
//! a SIGKILL in the middle of a burst of submissions that must not lose any acknowledged one.
//! Help text, usage errors and `check-config` messages are pinned in `cli_snapshots.rs`.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::http;
use outer::store::Store;
use serde_json::Value;
use testkit::api::{new_filing, new_filing_for};

const BIN: &str = env!("CARGO_BIN_EXE_sluice-outer");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("SLUICE_OUTER_CONFIG")
        .env_remove("SLUICE_OUTER_DATABASE")
        .env_remove("SLUICE_OUTER_LISTEN")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Adds an account and returns a fresh token for it, through the CLI.
fn account_with_token(db: &Path, name: &str, kind: &str) -> String {
    let db = db.to_str().unwrap();
    let added = run(&["accounts", "add", "--database", db, name, "--kind", kind]);
    assert!(added.status.success(), "{}", stderr(&added));
    let issued = run(&["tokens", "issue", "--database", db, name, "--label", "test"]);
    assert!(issued.status.success(), "{}", stderr(&issued));
    stdout(&issued).trim().to_owned()
}

#[test]
fn accounts_and_tokens_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("outer.db");
    let db_arg = db.to_str().unwrap();
    let token = account_with_token(&db, "示例接入商_1", "access-provider");
    assert!(token.starts_with("sluice_"), "{token}");

    let listed = run(&["accounts", "list", "--database", db_arg]);
    assert_eq!(stdout(&listed), "示例接入商_1\taccess_provider\tenabled\n");
    let bad_name = run(&[
        "accounts",
        "add",
        "--database",
        db_arg,
        "bad name!",
        "--kind",
        "operator",
    ]);
    assert_eq!(bad_name.status.code(), Some(1));
    assert!(
        stderr(&bad_name).contains("account name"),
        "{}",
        stderr(&bad_name)
    );
    let twice = run(&[
        "accounts",
        "add",
        "--database",
        db_arg,
        "示例接入商_1",
        "--kind",
        "operator",
    ]);
    assert!(
        stderr(&twice).contains("exists already"),
        "{}",
        stderr(&twice)
    );

    let disabled = run(&["accounts", "disable", "--database", db_arg, "示例接入商_1"]);
    assert!(disabled.status.success());
    let listed = run(&["accounts", "list", "--database", db_arg, "--json"]);
    let listed: Value = serde_json::from_str(stdout(&listed).trim()).unwrap();
    assert_eq!(listed["accounts"][0]["disabled"], true);
    let unknown = run(&["tokens", "revoke", "--database", db_arg, "99"]);
    assert!(stderr(&unknown).contains("no token with id 99"));
    let revoked = run(&["tokens", "revoke", "--database", db_arg, "1"]);
    assert!(revoked.status.success(), "{}", stderr(&revoked));
}

struct Server {
    child: Child,
    addr: SocketAddr,
}

/// Starts the service on the store at `db` after adding a website owner `owner` through the
/// CLI; returns the service and the owner's token.
fn serve_with_an_owner(db: &Path) -> (Server, String) {
    let token = account_with_token(db, "owner", "website-owner");
    let mut child = common::serve(db)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let addr = common::listening_address(&mut child);
    (Server { child, addr }, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_burst_loses_no_acknowledged_submission() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("outer.db");
    let (mut server, token) = serve_with_an_owner(&db);
    let addr = server.addr;

    let stop = Arc::new(AtomicBool::new(false));
    let next_subject = Arc::new(std::sync::atomic::AtomicU32::new(1));
    let (acked_tx, mut acked_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut clients = Vec::new();
    for _ in 0..16 {
        let token = token.clone();
        let stop = stop.clone();
        let next_subject = next_subject.clone();
        let acked_tx = acked_tx.clone();
        clients.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let filing =
                    new_filing_for("example.cn", next_subject.fetch_add(1, Ordering::Relaxed));
                match http(
                    addr,
                    "POST",
                    "/api/v1/submissions",
                    Some(&token),
                    Some(&filing),
                )
                .await
                {
                    Ok((201, body)) => {
                        let body: Value = serde_json::from_str(&body).unwrap();
                        let _ = acked_tx.send(body["receipt"].as_str().unwrap().to_owned());
                    }
                    Ok((status, body)) => panic!("unexpected {status}: {body}"),
                    // The server is gone: connection refused or reset mid-request.
                    Err(_) => break,
                }
            }
        }));
    }
    drop(acked_tx);
    let mut acked = Vec::new();
    while acked.len() < 300 {
        acked.push(
            acked_rx
                .recv()
                .await
                .expect("clients stopped before the kill"),
        );
    }
    server.child.kill().unwrap(); // SIGKILL
    let status = server.child.wait().unwrap();
    assert!(!status.success(), "the server was killed, not stopped");
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }
    while let Ok(receipt) = acked_rx.try_recv() {
        acked.push(receipt);
    }

    let store = Store::open(&db).unwrap();
    let mut missing = Vec::new();
    for receipt in &acked {
        match store.receipt(receipt).await.unwrap() {
            Some(record) => assert!(record.latest.unwrap().hash_matches()),
            None => missing.push(receipt.clone()),
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged submissions were lost: {missing:?}",
        missing.len(),
        acked.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_service_cleanly_after_its_commits() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("outer.db");
    let (mut server, token) = serve_with_an_owner(&db);
    let (status, body) = http(
        server.addr,
        "POST",
        "/api/v1/submissions",
        Some(&token),
        Some(&new_filing("example.cn")),
    )
    .await
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let receipt = serde_json::from_str::<Value>(&body).unwrap()["receipt"]
        .as_str()
        .unwrap()
        .to_owned();
    let killed = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = server.child.wait().unwrap();
    assert!(status.success(), "SIGTERM is a clean stop, got {status}");
    let store = Store::open(&db).unwrap();
    assert!(store.receipt(&receipt).await.unwrap().is_some());
}

#[test]
fn the_example_configuration_checks_out() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("sluice-outer.example.toml");
    let config = outer::config::Config::load(&example).unwrap();
    assert_eq!(
        config.limits,
        outer::config::Limits::default(),
        "the example shows the defaults"
    );
    assert_eq!(
        config.accounts,
        outer::config::AccountsConfig::default(),
        "the example shows the account pages' defaults"
    );
    let checked = run(&["check-config", example.to_str().unwrap()]);
    assert!(checked.status.success(), "{}", stderr(&checked));
}
