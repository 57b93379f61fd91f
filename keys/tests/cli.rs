//! `sluice-keys` as a user runs it: refusals and their exit codes, and a whole keyset life cycle
//! with the real `signify-openbsd` and `openssl` checking the keys it makes. Help text, usage
//! errors and an unreadable file are pinned as snapshots in `cli_snapshots.rs`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use base64::Engine as _;
use testkit::tools::{self, words};

/// Runs `sluice-keys` with the words of `line` as its arguments, in `dir`.
fn sluice_keys(line: &str, dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice-keys"))
        .args(words(line))
        .current_dir(dir)
        .output()
        .expect("run sluice-keys")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn ok(line: &str, dir: &Path) -> String {
    let output = sluice_keys(line, dir);
    assert_eq!(
        output.status.code(),
        Some(0),
        "sluice-keys {line}\nstdout: {}\nstderr: {}",
        stdout(&output),
        stderr(&output)
    );
    stdout(&output)
}

fn json(line: &str, dir: &Path) -> serde_json::Value {
    serde_json::from_str(&ok(&format!("--json {line}"), dir)).unwrap()
}

/// `line` is refused with exit 5 and exactly `message` on stderr.
fn refused(line: &str, dir: &Path, message: &str) {
    let output = sluice_keys(line, dir);
    assert_eq!(output.status.code(), Some(5), "sluice-keys {line}");
    assert_eq!(stderr(&output), message, "sluice-keys {line}");
}

#[test]
fn exposed_secret_key_is_refused_with_exit_5_and_the_chmod() {
    let dir = tempfile::tempdir().unwrap();
    ok("generate --role root --out root", dir.path());
    ok(
        "keyset init --root root.pub --threshold 1 --not-after 2099-01-01T00:00:00Z --out keyset-1",
        dir.path(),
    );
    fs::set_permissions(
        dir.path().join("root.sec"),
        fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    refused(
        "keyset sign keyset-1 --secret-key root.sec",
        dir.path(),
        "error: root.sec has mode 0644, so group or others can access the secret key; \
         run `chmod 600 root.sec` (and consider the key compromised if others could read it)\n",
    );
}

#[test]
fn generate_refuses_to_overwrite_a_key() {
    let dir = tempfile::tempdir().unwrap();
    ok("generate --role root --out root", dir.path());
    let before = fs::read(dir.path().join("root.sec")).unwrap();
    refused(
        "generate --role root --out root",
        dir.path(),
        "error: root.sec already exists; move it away first if you mean to replace that key\n",
    );
    assert_eq!(fs::read(dir.path().join("root.sec")).unwrap(), before);
}

#[test]
fn keyset_life_cycle_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("passphrase"), "root two passphrase\n").unwrap();
    let root1 = json("generate --role root --out root1", d);
    let root2 = json(
        "generate --role root --out root2 --passphrase-file passphrase",
        d,
    );
    assert_eq!(root2["encrypted"], true);
    assert_eq!(
        fs::metadata(d.join("root1.sec"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let outer = json("generate --role outer-bundle --out outer", d);
    let outer_id = outer["key_id"].as_str().unwrap().to_owned();

    ok(
        "keyset init --root root1.pub --root root2.pub --threshold 2 --not-before 2026-01-01T00:00:00Z --not-after 2099-01-01T00:00:00Z --out keyset-1",
        d,
    );
    ok(
        "keyset add keyset-1 --key outer.pub --role outer-bundle --channel 3 --not-before 1767225600 --not-after 4070908800",
        d,
    );

    // A root key bound to a channel makes no sense; the draft stays as it was.
    let before = fs::read(d.join("keyset-1")).unwrap();
    refused(
        "keyset add keyset-1 --key outer.pub --role root --channel 1 --not-after 4070908800",
        d,
        "error: root keys are not bound to channels\n",
    );
    assert_eq!(fs::read(d.join("keyset-1")).unwrap(), before);

    // Unsigned, or signed by one root of two: refused.
    refused(
        "keyset verify keyset-1",
        d,
        "error: keyset keyset-1 refused\n  caused by: version 1 is signed by 0 distinct valid \
         root keys of version 1; 2 are needed\n",
    );
    ok("keyset sign keyset-1 --secret-key root1.sec", d);
    // The outer-bundle key may not sign a keyset.
    refused(
        "keyset sign keyset-1 --secret-key outer.sec",
        d,
        &format!(
            "error: key {outer_id} is listed with role outer-bundle; only root keys sign keysets\n"
        ),
    );
    assert_eq!(
        sluice_keys("keyset verify keyset-1", d).status.code(),
        Some(5)
    );
    // The encrypted root needs its passphrase.
    refused(
        "keyset sign keyset-1 --secret-key root2.sec",
        d,
        "error: root2.sec is encrypted with a passphrase; provide the passphrase\n",
    );
    ok(
        "keyset sign keyset-1 --secret-key root2.sec --passphrase-file passphrase",
        d,
    );
    let verified = json("keyset verify keyset-1", d);
    assert_eq!(verified["version"], 1);
    assert_eq!(verified["keys"].as_array().unwrap().len(), 3);
    assert_eq!(verified["keys"][2]["role"], "outer-bundle");
    assert_eq!(verified["keys"][2]["channels"], serde_json::json!([3]));
    assert_eq!(verified["keys"][0]["fingerprint"], root1["fingerprint"]);

    // Editing a signed keyset in place is refused; the next version goes to a new file.
    refused(
        &format!("keyset revoke keyset-1 --key-id {outer_id}"),
        d,
        "error: keyset-1 is signed (version 1, 2 signatures); write the draft of version 2 to \
         a new file with --out\n",
    );
    ok(
        &format!("keyset revoke keyset-1 --key-id {outer_id} --at 1800000000 --out keyset-2"),
        d,
    );
    ok("keyset sign keyset-2 --secret-key root1.sec", d);
    // An empty passphrase on stdin is refused; the real one signs.
    refused(
        "keyset sign keyset-2 --secret-key root2.sec --passphrase-file -",
        d,
        "error: the passphrase in - is empty\n",
    );
    let output = Command::new(env!("CARGO_BIN_EXE_sluice-keys"))
        .args(words(
            "keyset sign keyset-2 --secret-key root2.sec --passphrase-file -",
        ))
        .current_dir(d)
        .stdin(fs::File::open(d.join("passphrase")).unwrap())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    // Version 2 alone is not an anchor; the chain from version 1 is accepted.
    let output = sluice_keys("keyset verify keyset-2", d);
    assert_eq!(output.status.code(), Some(5));
    assert!(
        stderr(&output)
            .contains("only version 1 can be installed as the trust anchor; this is version 2")
    );
    let verified = json("keyset verify keyset-1 keyset-2 --at 1800000001", d);
    assert_eq!(verified["version"], 2);
    assert_eq!(verified["keys"][2]["status"], "revoked");
    // And in the wrong order it is refused.
    assert_eq!(
        sluice_keys("keyset verify keyset-2 keyset-1", d)
            .status
            .code(),
        Some(5)
    );

    let shown = json("show outer.pub --keyset keyset-2", d);
    assert_eq!(shown["key_id"], outer["key_id"]);
    assert_eq!(shown["fingerprint"], outer["fingerprint"]);
    assert_eq!(shown["role"], "outer-bundle");
    assert_eq!(shown["revoked_at"], 1_800_000_000);
    let text = ok("show outer.pub --keyset keyset-2", d);
    assert!(
        text.contains("revoked at:  2027-01-15T08:00:00Z\n"),
        "{text}"
    );
}

#[test]
fn generated_key_signs_with_signify_and_checks_with_openssl_via_export() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok("generate --role outer-bundle --out outer", d);
    fs::write(d.join("msg"), b"bundle bytes").unwrap();
    let output = tools::signify(&words("-S -s outer.sec -m msg -x msg.sig"), b"", d);
    tools::assert_success(&output, "signify -S with a generated key");

    let pem = ok("export --openssl outer.pub", d);
    fs::write(d.join("outer.pem"), &pem).unwrap();
    ok("export --openssl outer.pub --out outer2.pem", d);
    assert_eq!(fs::read_to_string(d.join("outer2.pem")).unwrap(), pem);

    let sig_text = fs::read_to_string(d.join("msg.sig")).unwrap();
    let record = base64::engine::general_purpose::STANDARD
        .decode(sig_text.lines().nth(1).unwrap())
        .unwrap();
    fs::write(d.join("msg.raw"), &record[10..]).unwrap();
    let output = tools::openssl(
        &words("pkeyutl -verify -pubin -inkey outer.pem -rawin -in msg -sigfile msg.raw"),
        d,
    );
    tools::assert_success(&output, "openssl pkeyutl -verify");
}
