//! The `sluice-inner` binary against a real PostgreSQL: output, JSON and exit codes, and the
//! shared convention's closed-stdout and one-JSON-object rules (`convention.rs` checks the rest
//! without a database). Help text and the errors that need no database are pinned in
//! `cli_snapshots.rs`.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;
use testkit::pg::TestDatabase;

fn sluice(db: Option<&TestDatabase>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sluice-inner"));
    command
        .env_remove("SLUICE_DATABASE_URL")
        .env_remove("SLUICE_CERT_KEY")
        .env_remove("SLUICE_REVIEWER_PASSWORD");
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

/// Checks that `out` ended with exit code 1 and an error message containing `says`.
fn assert_exit_1_saying(out: &Output, says: &str) {
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(out).contains(says), "{}", stderr(out));
}

/// Writes `password` to `file`, readable by its owner only.
fn write_password(file: &Path, password: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(file, format!("{password}\n")).expect("write the password file");
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

#[test]
fn reviewer_flow_from_queue_to_published_certificate() {
    let db = TestDatabase::new().expect("db");
    let out = sluice(Some(&db), &["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Every embedded migration, in order, then the version they reach.
    let last = inner::schema::MIGRATIONS
        .last()
        .expect("migrations")
        .version;
    let mut expected: String = (1..=last)
        .map(|version| format!("applied migration {version}\n"))
        .collect();
    expected.push_str(&format!("schema is at version {last}\n"));
    assert_eq!(stdout(&out), expected);
    let out = sluice(Some(&db), &["migrate", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["applied"], serde_json::json!([]));

    apply_at(&db, 1, &[jia_filing(1, &["jia.example.cn"], 1)]);
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
    assert_eq!(listed["submissions"][0]["receipt"], "R1");
    assert_eq!(
        listed["submissions"][0]["state"],
        "awaiting-regional-review"
    );

    let out = sluice(Some(&db), &["review", "show", "R1"]);
    assert!(stdout(&out).contains("conflicts: none"), "{}", stdout(&out));

    let password_file = dir.path().join("li.password");
    write_password(&password_file, PASSWORD);
    let out = sluice(
        Some(&db),
        &[
            "reviewers",
            "bootstrap",
            "--name",
            "li",
            "--password-file",
            path(&password_file),
        ],
    );
    assert_eq!(
        stdout(&out),
        "created ministry account li\n",
        "{}",
        stderr(&out)
    );
    let approve = [
        "review",
        "approve",
        "R1",
        "--reviewer",
        "li",
        "--password-file",
        path(&password_file),
        "--cert-key",
        path(&key_file),
    ];
    let out = sluice(Some(&db), &approve);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("R1: awaiting-regional-review -> approved\nfiling number 京ICP备"),
        "{}",
        stdout(&out)
    );

    // The same approval again.
    let out = sluice(Some(&db), &approve);
    assert_eq!(out.status.code(), Some(5), "refused: {}", stderr(&out));
    assert!(
        stderr(&out).contains("approved cannot be approved"),
        "{}",
        stderr(&out)
    );
    let out = sluice(Some(&db), &["review", "show", "R-missing"]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));

    let out = sluice(
        Some(&db),
        &["query", "--domain", "jia.example.cn", "--json"],
    );
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let website_number = found["websites"][0]["website_number"]
        .as_str()
        .unwrap()
        .to_owned();
    let number = found["websites"][0]["filing_number"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(website_number, format!("{number}-1"));
    let out = sluice(Some(&db), &["query", "--organiser", "没有这个公司"]);
    assert_eq!(stdout(&out), "no approved filing matches\n");

    let out = sluice(Some(&db), &["cert", "show", &number]);
    assert!(out.status.success(), "{}", stderr(&out));
    let signify = signify_verify(dir.path(), &out.stdout);
    let cert_file = dir.path().join("bazs.cert");
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
    assert_eq!(history["certificates"][0]["status"], "current");
    assert_eq!(history["certificates"][1]["status"], "superseded");
}

/// `sluice-inner ARGS` against `db` with its stdout a pipe whose reading end is already closed,
/// so the first write fails with a broken pipe (the reader of `| head -1` gone).
fn sluice_with_stdout_closed(db: &TestDatabase, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sluice-inner"));
    command
        .env_remove("SLUICE_DATABASE_URL")
        .arg("--database-url")
        .arg(db.connection_string())
        .args(args);
    testkit::cli::with_stdout_closed(command)
}

#[test]
fn a_closed_stdout_ends_the_run_quietly_and_json_is_one_object() {
    let db = TestDatabase::new().expect("db");
    for args in [
        &["migrate"][..],
        &["review", "list"],
        &["--json", "review", "list"],
        &["query", "--domain", "jia.example.cn"],
    ] {
        let out = sluice_with_stdout_closed(&db, args);
        assert_eq!(
            (out.status.code(), stderr(&out)),
            (Some(0), String::new()),
            "sluice-inner {args:?}"
        );
    }
    let out = sluice_with_stdout_closed(&db, &["review", "show", "R-missing"]);
    assert_eq!(out.status.code(), Some(6));
    assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));

    for args in [
        &["--json", "migrate"][..],
        &["--json", "review", "list"],
        &["--json", "query", "--organiser", "没有这个公司"],
    ] {
        let out = sluice(Some(&db), args);
        assert!(
            out.status.success(),
            "sluice-inner {args:?}: {}",
            stderr(&out)
        );
        let text = stdout(&out);
        assert_eq!(text.lines().count(), 1, "sluice-inner {args:?}: {text}");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(value.is_object(), "sluice-inner {args:?}: {text}");
    }
}

/// `sluice-inner ARGS` against `db` with SLUICE_REVIEWER_PASSWORD set to `password`.
fn sluice_as(db: &TestDatabase, password: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice-inner"))
        .env_remove("SLUICE_DATABASE_URL")
        .env_remove("SLUICE_CERT_KEY")
        .env("SLUICE_REVIEWER_PASSWORD", password)
        .arg("--database-url")
        .arg(db.connection_string())
        .args(args)
        .output()
        .expect("run sluice-inner")
}

#[test]
fn the_command_line_refuses_a_wrong_password_and_another_provinces_reviewer() {
    let db = TestDatabase::with_schema().expect("db");
    let dir = tempfile::tempdir().unwrap();
    apply_at(&db, 1, &[jia_filing(1, &["jia.example.cn"], 1)]);
    let key_file = dir.path().join("inner-cert.sec");
    signer()
        .write_file(&key_file, "inner-cert secret key", None)
        .unwrap();
    let li_password = dir.path().join("li.password");
    write_password(&li_password, PASSWORD);
    let bootstrap = [
        "reviewers",
        "bootstrap",
        "--name",
        "部-li",
        "--password-file",
        path(&li_password),
    ];
    let out = sluice(Some(&db), &bootstrap);
    assert!(out.status.success(), "{}", stderr(&out));
    // Once there is a ministry account, the operator's bootstrap is refused.
    let out = sluice(Some(&db), &bootstrap);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("a ministry account exists already (部-li)"));

    // The ministry creates Zhejiang's authority; the new password comes from a file.
    let zj_password = dir.path().join("zj.password");
    write_password(&zj_password, "浙江省通信管理局-01");
    let create = |password: &str, name: &str, province: &str| {
        sluice_as(
            &db,
            password,
            &[
                "reviewers",
                "create",
                "--reviewer",
                "部-li",
                "--name",
                name,
                "--role",
                "authority",
                "--province",
                province,
                "--new-password-file",
                path(&zj_password),
            ],
        )
    };
    let out = create(PASSWORD, "zj-01", "33");
    assert_eq!(
        stdout(&out),
        "created zj-01\tauthority\tprovince 33\n",
        "{}",
        stderr(&out)
    );
    let out = create("wrong-password", "zj-02", "33");
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(
        stderr(&out),
        "error: reviewer 部-li: wrong name or password\n"
    );

    let approve = |password: &str, reviewer: &str| {
        sluice_as(
            &db,
            password,
            &[
                "review",
                "approve",
                "R1",
                "--reviewer",
                reviewer,
                "--cert-key",
                path(&key_file),
            ],
        )
    };
    let out = approve("not-my-password", "zj-01");
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "error: reviewer zj-01: wrong name or password\n"
    );
    let out = approve("浙江省通信管理局-01", "zj-01");
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "error: receipt R1: reviewer zj-01 (authority, province 33) may not act on filing of \
         province 11\n"
    );
    // zj-01 approving R1 with `password` (its flags), the password not in the environment.
    let approve_without_password_variable = |password: &[&str]| {
        let mut args = vec!["review", "approve", "R1", "--reviewer", "zj-01"];
        args.extend_from_slice(password);
        args.extend(["--cert-key", path(&key_file)]);
        sluice(Some(&db), &args)
    };
    let out = approve_without_password_variable(&[]);
    assert_exit_1_saying(
        &out,
        "no password for reviewer zj-01: pass --password-file FILE or set SLUICE_REVIEWER_PASSWORD",
    );
    // A password file others may read is refused before it is used.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&zj_password, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = approve_without_password_variable(&["--password-file", path(&zj_password)]);
    assert_exit_1_saying(&out, "may be read by others (mode 644); chmod 600 it");

    let out = sluice(Some(&db), &["review", "show", "R1"]);
    assert!(
        stdout(&out).contains("state awaiting-regional-review"),
        "{}",
        stdout(&out)
    );
    let out = approve(PASSWORD, "部-li");
    assert!(out.status.success(), "{}", stderr(&out));

    let out = sluice(Some(&db), &["--json", "reviewers", "list"]);
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["accounts"][1]["name"], "zj-01");
    assert_eq!(listed["accounts"][1]["created_by"], "部-li");
    assert!(!stdout(&out).contains("argon2"), "no hash is ever printed");
}

#[test]
fn review_revoke_on_the_command_line_is_for_the_provinces_authority_and_prints_what_it_did() {
    let db = TestDatabase::with_schema().expect("db");
    apply_at(&db, 1, &[jia_filing(1, &["jia.example.cn"], 1)]);
    let number = approve(&db, "R1").filing_number.unwrap();
    use inner::reviewers::Role;
    account(&db, "zj-01", Role::Authority, Some(33), &[]);
    account(&db, "bj-01", Role::Authority, Some(11), &[]);
    let revoke = |reviewer: &str, reason: &str| {
        sluice_as(
            &db,
            PASSWORD,
            &[
                "review",
                "revoke",
                &number,
                "--reviewer",
                reviewer,
                "--reason",
                reason,
            ],
        )
    };
    let out = revoke("zj-01", "违法违规");
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "error: filing {number}: reviewer zj-01 (authority, province 33) may not revoke a \
             filing of province 11\n"
        )
    );
    let out = revoke("bj-01", " ");
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("give the reason"), "{}", stderr(&out));
    let out = sluice_as(
        &db,
        PASSWORD,
        &[
            "review",
            "revoke",
            "京ICP备2026999999号",
            "--reviewer",
            "bj-01",
            "--reason",
            "x",
        ],
    );
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));

    let out = revoke("bj-01", "网站内容违法");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "filing {number} revoked\ncertificate revoked\nits domains are free; the public \
             register outside drops it with the next return bundle\n"
        )
    );
    let out = revoke("bj-01", "again");
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is revoked, not approved"),
        "{}",
        stderr(&out)
    );
    let out = sluice(Some(&db), &["review", "revocations", &number]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).ends_with("\twhole filing\tfiling revoked\tby bj-01\t网站内容违法\n"),
        "{}",
        stdout(&out)
    );
}
