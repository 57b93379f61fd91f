//! The `sluice-inner` binary against a real PostgreSQL: output, JSON and exit codes. Help text
//! and the errors that need no database are pinned in `cli_snapshots.rs`.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;
use testkit::pg::TestDatabase;

fn sluice(db: Option<&TestDatabase>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sluice-inner"));
    command
        .env_remove("SLUICE_DATABASE_URL")
        .env_remove("SLUICE_CERT_KEY");
    if let Some(db) = db {
        command.arg("--database-url").arg(db.connection_string());
    }
    command.args(args).output().expect("run sluice-inner")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

#[test]
fn reviewer_flow_from_queue_to_published_certificate() {
    let db = TestDatabase::new().expect("db");
    let out = sluice(Some(&db), &["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "applied migration 1\napplied migration 2\napplied migration 3\napplied migration 4\nschema is at version 4\n"
    );
    let out = sluice(Some(&db), &["migrate", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["applied"], serde_json::json!([]));

    apply(
        &db,
        &incoming(
            1,
            &[version(
                "R1",
                1,
                new_filing(
                    "北京甲科技有限公司",
                    "C1",
                    110_108,
                    vec![website("甲官网", &["jia.example.cn"], 1)],
                ),
            )],
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let key = signer();
    let key_file = dir.path().join("inner-cert.sec");
    let pub_file = dir.path().join("cert.pub");
    key.write_file(&key_file, "inner-cert secret key", None)
        .unwrap();
    key.public_key()
        .write_file(&pub_file, "inner-cert public key")
        .unwrap();

    let out = sluice(Some(&db), &["review", "list", "--province", "11", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed[0]["receipt"], "R1");
    assert_eq!(listed[0]["state"], "awaiting-regional-review");

    let out = sluice(Some(&db), &["review", "show", "R1"]);
    assert!(stdout(&out).contains("conflicts: none"), "{}", stdout(&out));

    let out = sluice(
        Some(&db),
        &[
            "review",
            "approve",
            "R1",
            "--reviewer",
            "li",
            "--cert-key",
            path(&key_file),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("R1: awaiting-regional-review -> approved\nfiling number 京ICP备"),
        "{}",
        stdout(&out)
    );

    let out = sluice(
        Some(&db),
        &[
            "review",
            "approve",
            "R1",
            "--reviewer",
            "li",
            "--cert-key",
            path(&key_file),
        ],
    );
    assert_eq!(out.status.code(), Some(3), "refused: {}", stderr(&out));
    assert!(
        stderr(&out).contains("approved cannot be approved"),
        "{}",
        stderr(&out)
    );
    let out = sluice(Some(&db), &["review", "show", "R-missing"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));

    let out = sluice(
        Some(&db),
        &["query", "--domain", "jia.example.cn", "--json"],
    );
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let website_number = found[0]["website_number"].as_str().unwrap().to_owned();
    let number = found[0]["filing_number"].as_str().unwrap().to_owned();
    assert_eq!(website_number, format!("{number}-1"));
    let out = sluice(Some(&db), &["query", "--organiser", "没有这个公司"]);
    assert_eq!(stdout(&out), "no approved filing matches\n");

    let out = sluice(Some(&db), &["cert", "show", &number]);
    assert!(out.status.success(), "{}", stderr(&out));
    let cert_file = dir.path().join("bazs.cert");
    std::fs::write(&cert_file, &out.stdout).unwrap();
    let signify = Command::new("signify-openbsd")
        .current_dir(dir.path())
        .args([
            "-V",
            "-e",
            "-p",
            "cert.pub",
            "-x",
            "bazs.cert",
            "-m",
            "bazs.txt",
        ])
        .output()
        .expect("signify-openbsd not found: install Debian's `signify-openbsd` package");
    assert!(signify.status.success(), "{}", stderr(&signify));
    let out = sluice(
        None,
        &[
            "cert",
            "verify",
            path(&cert_file),
            "--public-key",
            path(&pub_file),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(&format!("filing-number: {number}")));

    let out = sluice(
        Some(&db),
        &["cert", "reissue", &number, "--cert-key", path(&key_file)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = sluice(Some(&db), &["cert", "show", &number, "--json"]);
    let history: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(history[0]["status"], "current");
    assert_eq!(history[1]["status"], "superseded");
}
