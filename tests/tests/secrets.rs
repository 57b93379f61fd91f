//! Secret keys stay secret: a full round trip through the real `sluice-transfer` binary, with
//! every log line it can emit, plus `inspect` and `verify` of every bundle it made, never shows
//! secret key material in any encoding; and secret key files that are unreadable, malformed or
//! open to group or others make the command fail closed, saying which file and why.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keys::SecretKey;
use testkit::binaries::workspace_binary;

fn transfer() -> Command {
    Command::new(workspace_binary("sluice-transfer").unwrap())
}

fn files_under(dir: &Path, suffix: &str, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, suffix, found);
        } else if path.to_string_lossy().ends_with(suffix) {
            found.push(path);
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every form the secret of a signify secret key file could leak in: the file itself, its
/// base64 line, and the Ed25519 seed and 64-byte secret as raw bytes, hex (both cases) and
/// base64.
fn secret_forms(key_file: &Path) -> Vec<(String, Vec<u8>)> {
    let text = std::fs::read_to_string(key_file).unwrap();
    let line = text.lines().nth(1).unwrap().trim().to_owned();
    let decoded = STANDARD.decode(&line).unwrap();
    // signify: "Ed" "BK" rounds[4] salt[16] checksum[8] keynum[8] secret[64]; rounds 0 means
    // the secret is stored in the clear.
    assert_eq!(&decoded[..2], b"Ed");
    assert_eq!(
        &decoded[4..8],
        &[0, 0, 0, 0],
        "demo keys have no passphrase"
    );
    let secret = decoded[decoded.len() - 64..].to_vec();
    let seed = secret[..32].to_vec();
    let mut forms = vec![
        ("key file".to_owned(), text.clone().into_bytes()),
        ("key file base64 line".to_owned(), line.into_bytes()),
    ];
    for (what, bytes) in [("seed", &seed), ("64-byte secret", &secret)] {
        forms.push((format!("{what} raw"), bytes.clone()));
        forms.push((format!("{what} hex"), hex(bytes).into_bytes()));
        forms.push((
            format!("{what} HEX"),
            hex(bytes).to_uppercase().into_bytes(),
        ));
        forms.push((
            format!("{what} base64"),
            STANDARD.encode(bytes).into_bytes(),
        ));
        // A run of the bytes (say, a debug print of an array) as decimal.
        forms.push((
            format!("{what} as a decimal list"),
            format!("{:?}", &bytes[..8]).into_bytes(),
        ));
    }
    forms
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn capture(output: &Output, log: &mut Vec<u8>) {
    log.extend_from_slice(&output.stdout);
    log.extend_from_slice(&output.stderr);
}

#[test]
fn a_full_round_trip_never_shows_secret_key_material() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("demo");
    let mut log = Vec::new();
    for json in [false, true] {
        // Each round trip starts from an empty inner database, as the demo expects.
        let database = inner::testing::TestDatabase::new().unwrap();
        let run_dir = work.join(if json { "json" } else { "text" });
        let mut command = transfer();
        if json {
            command.arg("--json");
        }
        let output = command
            .arg("--inner-database-url")
            .arg(database.connection_string())
            .arg("demo")
            .arg("--dir")
            .arg(&run_dir)
            .env("RUST_LOG", "debug")
            .output()
            .unwrap();
        testkit::tools::assert_success(&output, "the round trip");
        capture(&output, &mut log);
    }
    let mut bundles = Vec::new();
    files_under(&work, ".bundle", &mut bundles);
    assert!(bundles.len() >= 4, "the round trip wrote bundles");
    let mut keysets = Vec::new();
    files_under(&work, "keyset-1.txt", &mut keysets);
    for bundle in &bundles {
        let keyset = keysets
            .iter()
            .find(|k| bundle.starts_with(k.parent().unwrap().parent().unwrap()))
            .unwrap();
        for args in [
            vec!["inspect", "--show-records"],
            vec!["inspect"],
            vec!["--json", "inspect", "--show-records"],
        ] {
            capture(
                &transfer()
                    .args(&args)
                    .arg(bundle)
                    .env("RUST_LOG", "debug")
                    .output()
                    .unwrap(),
                &mut log,
            );
        }
        capture(
            &transfer()
                .arg("--keyset")
                .arg(keyset)
                .arg("verify")
                .arg(bundle)
                .env("RUST_LOG", "debug")
                .output()
                .unwrap(),
            &mut log,
        );
    }
    let mut key_files = Vec::new();
    files_under(&work, ".sec", &mut key_files);
    assert!(key_files.len() >= 8, "two runs, four secret keys each");
    let mut checked = 0;
    for key_file in &key_files {
        for (form, needle) in secret_forms(key_file) {
            assert!(
                !contains(&log, &needle),
                "{form} of {} appears in the output",
                key_file.display()
            );
            checked += 1;
        }
    }
    println!(
        "{} bytes of output and logs from 2 round trips and {} bundles: none of {checked} \
         encodings of {} secret keys found",
        log.len(),
        bundles.len(),
        key_files.len()
    );
}

#[test]
fn secret_key_files_unreadable_malformed_or_open_to_others_fail_closed() {
    let dir = tempfile::tempdir().unwrap();
    let key = SecretKey::generate();
    let good = dir.path().join("outer-bundle.sec");
    key.write_file(&good, "sluice test secret key", None)
        .unwrap();
    let forms = secret_forms(&good);
    let text = std::fs::read(&good).unwrap();

    let case = |name: &str, contents: Option<&[u8]>, mode: u32| -> PathBuf {
        let path = dir.path().join(name);
        match contents {
            Some(bytes) => {
                std::fs::write(&path, bytes).unwrap();
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            }
            None => std::fs::create_dir(&path).unwrap(),
        }
        path
    };
    let cases: Vec<(PathBuf, &str)> = vec![
        (case("world-readable.sec", Some(&text), 0o644), "mode 0644"),
        (case("group-readable.sec", Some(&text), 0o640), "mode 0640"),
        (case("others-writable.sec", Some(&text), 0o602), "mode 0602"),
        (case("a-directory.sec", None, 0), "a-directory.sec"),
        (dir.path().join("missing.sec"), "missing.sec"),
        (
            case("truncated.sec", Some(&text[..text.len() / 2]), 0o600),
            "truncated.sec",
        ),
        (
            case(
                "not-a-key.sec",
                Some(b"untrusted comment: x\nhello\n"),
                0o600,
            ),
            "not-a-key.sec",
        ),
    ];
    for (path, names) in cases {
        let spool = dir.path().join("spool");
        let output = transfer()
            .arg("--outer-database")
            .arg(dir.path().join("outer.sqlite"))
            .arg("--spool-dir")
            .arg(&spool)
            .arg("--channel")
            .arg("1")
            .arg("--signing-key")
            .arg(&path)
            .arg("export")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{}: {stderr}",
            path.display()
        );
        assert!(
            stderr.contains(&path.display().to_string()) && stderr.contains(names),
            "the error names the key file and what is wrong with it: {stderr}"
        );
        let mut written = Vec::new();
        if spool.is_dir() {
            files_under(&spool, ".bundle", &mut written);
        }
        assert!(written.is_empty(), "a bundle was signed: {written:?}");
        for (form, needle) in &forms {
            assert!(
                !contains(&output.stdout, needle) && !contains(&output.stderr, needle),
                "{form} appears in the error for {}",
                path.display()
            );
        }
    }
    // The same file with mode 0600 is accepted: the refusals above were about the file.
    std::fs::set_permissions(&good, std::fs::Permissions::from_mode(0o600)).unwrap();
    let output = transfer()
        .arg("--outer-database")
        .arg(dir.path().join("outer.sqlite"))
        .arg("--spool-dir")
        .arg(dir.path().join("spool"))
        .arg("--channel")
        .arg("1")
        .arg("--signing-key")
        .arg(&good)
        .arg("export")
        .output()
        .unwrap();
    testkit::cli::assert_done_or_nothing_to_do(&output, "export with the 0600 key");
    let mut written = Vec::new();
    files_under(&dir.path().join("spool/outbox"), ".bundle", &mut written);
    assert_eq!(written.len(), 1, "one heartbeat, signed with the good key");
}
