//! The directory carrier on real bundles: a complete bundle is copied and its source removed;
//! a truncated or damaged file is left where it is with the reason, and never reaches the
//! other side.

mod common;

use std::path::{Path, PathBuf};

use common::{export_settings, names};
use keys::SecretKey;
use outer::store::{AccountKind, NewSubmission};
use transfer::carry;
use transfer::outer_side::{self, OuterHost};
use transfer::spool::Spool;

const NOW: i64 = 1_795_334_400;

/// Exports three filings into one submissions bundle; returns its bytes and file name.
fn exported_bundle(dir: &Path) -> (Vec<u8>, String) {
    let host = OuterHost::open(&dir.join("outer.sqlite")).unwrap();
    let account = host
        .store()
        .add_account("owner", AccountKind::WebsiteOwner)
        .unwrap()
        .id;
    let filings = (0..3)
        .map(|i| NewSubmission {
            account_id: account,
            kind: "new_filing".into(),
            filing_number: None,
            subject_key: None,
            version: inner::bench_support::filing(i, NOW),
            idempotency: None,
        })
        .collect();
    for inserted in host
        .block_on(host.store().insert_submissions(filings))
        .unwrap()
    {
        inserted.unwrap();
    }
    let spool = Spool::under(&dir.join("spool"));
    let settings = export_settings(NOW);
    let report = outer_side::export(&host, &spool, &SecretKey::generate(), &settings).unwrap();
    assert_eq!(report.versions, 3);
    let name = report.written[0].file.clone();
    (std::fs::read(spool.outbox.join(&name)).unwrap(), name)
}

/// An exported bundle (its bytes and file name, as [`exported_bundle`] gives them) put in the
/// new folder `dir/from` to be carried to the new, empty folder `dir/to`; returns both folders
/// after the bundle.
fn bundle_to_carry(dir: &Path, from: &str, to: &str) -> (Vec<u8>, String, PathBuf, PathBuf) {
    let (bundle, name) = exported_bundle(dir);
    let (from, to) = (dir.join(from), dir.join(to));
    std::fs::create_dir_all(&from).unwrap();
    std::fs::create_dir_all(&to).unwrap();
    std::fs::write(from.join(&name), &bundle).unwrap();
    (bundle, name, from, to)
}

#[test]
fn only_complete_bundles_cross_and_damaged_ones_stay_in_the_source_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, name, from, to) = bundle_to_carry(dir.path(), "medium", "inbox");
    // Cut short, as a copy interrupted on removable media leaves it.
    let truncated = "submissions-truncated-copy.bundle";
    std::fs::write(from.join(truncated), &bundle[..bundle.len() - 100]).unwrap();
    // One bit flipped near the end of the compressed payload, as a bad medium returns it.
    let damaged = "submissions-damaged-copy.bundle";
    let mut flipped = bundle.clone();
    let at = flipped.len() - 10;
    flipped[at] ^= 0x10;
    std::fs::write(from.join(damaged), &flipped).unwrap();

    let report = carry::carry(&from, &to, false).unwrap();

    assert_eq!(report.carried, vec![name.clone()]);
    assert_eq!(names(&to), vec![name.clone()]);
    assert_eq!(std::fs::read(to.join(&name)).unwrap(), bundle);
    let mut left: Vec<&str> = report.incomplete.iter().map(|(n, _)| n.as_str()).collect();
    left.sort_unstable();
    assert_eq!(left, vec![damaged, truncated]);
    for (file, reason) in &report.incomplete {
        assert!(!reason.is_empty(), "{file} left without a reason");
    }
    assert_eq!(
        names(&from),
        vec![damaged.to_owned(), truncated.to_owned()],
        "the complete bundle's source is removed, the damaged files stay"
    );

    // Carried again (the source still had it): the same bytes are there already.
    std::fs::write(from.join(&name), &bundle).unwrap();
    let again = carry::carry(&from, &to, true).unwrap();
    assert_eq!(again.already_there, vec![name.clone()]);
    assert!(again.carried.is_empty());
    assert!(from.join(&name).exists(), "--keep leaves the source");
}

/// Makes a FIFO at `path` with the stock tool.
fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo").arg(path).status();
    assert!(
        made.is_ok_and(|s| s.success()),
        "cannot run mkfifo; install the Debian package coreutils"
    );
}

/// Runs `sluice-transfer --json carry --from FROM --to TO` and returns its exit code and JSON
/// report. A run still going after two minutes is killed and fails the test: it is what an
/// open that blocks (on a FIFO without a writer, say) looks like.
fn carry_binary(from: &Path, to: &Path) -> (i32, serde_json::Value) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sluice-transfer"))
        .arg("--json")
        .arg("carry")
        .arg("--from")
        .arg(from)
        .arg("--to")
        .arg(to)
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run sluice-transfer");
    let mut waited = 0;
    while child.try_wait().unwrap().is_none() {
        if waited >= 1200 {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("sluice-transfer carry never finished: it is blocked");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        waited += 1;
    }
    let output = child.wait_with_output().unwrap();
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "carry printed no JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap(), report)
}

#[test]
fn a_symlinked_destination_is_refused_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, name, from, to) = bundle_to_carry(dir.path(), "outbox", "medium");
    // Someone with write access to the medium put a link where the bundle goes, to a copy of
    // the bundle that is not on the medium (read through the link, it looks carried already,
    // and the source would be removed with nothing but a link on the medium), and one to an
    // endless device under the next free name.
    let secret = dir.path().join("elsewhere.bundle");
    std::fs::write(&secret, &bundle).unwrap();
    std::os::unix::fs::symlink(&secret, to.join(&name)).unwrap();
    let stem = name.strip_suffix(".bundle").unwrap();
    std::os::unix::fs::symlink("/dev/zero", to.join(format!("{stem}.1.bundle"))).unwrap();

    let (code, report) = carry_binary(&from, &to);

    assert_eq!(code, 0, "{report}");
    assert_eq!(report["carried"], serde_json::json!([name]), "{report}");
    assert_eq!(report["destination_refused"][0][0], name, "{report}");
    assert!(
        report["destination_refused"][0][1]
            .as_str()
            .unwrap()
            .contains("symbolic link"),
        "{report}"
    );
    // The links are as they were, and so is what they point at; the bundle sits beside them
    // under a free name, whole, and its source is gone.
    assert_eq!(std::fs::read_link(to.join(&name)).unwrap(), secret);
    assert_eq!(std::fs::read(&secret).unwrap(), bundle);
    assert_eq!(
        std::fs::read_link(to.join(format!("{stem}.1.bundle"))).unwrap(),
        Path::new("/dev/zero")
    );
    let carried = to.join(format!("{stem}.2.bundle"));
    assert!(std::fs::symlink_metadata(&carried).unwrap().is_file());
    assert_eq!(std::fs::read(&carried).unwrap(), bundle);
    assert!(!from.join(&name).exists());
}

#[test]
fn a_fifo_in_the_spool_does_not_block_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, name, from, to) = bundle_to_carry(dir.path(), "outbox", "medium");
    // A FIFO among the source's bundles (sorted before the real one) and one at the
    // destination under the real one's name: opening either for reading would wait for a
    // writer that never comes.
    mkfifo(&from.join("a-fifo.bundle"));
    mkfifo(&to.join(&name));

    let (code, report) = carry_binary(&from, &to);

    assert_eq!(code, 0, "{report}");
    assert_eq!(report["carried"], serde_json::json!([name]), "{report}");
    assert!(
        report["destination_refused"][0][1]
            .as_str()
            .unwrap()
            .contains("FIFO"),
        "{report}"
    );
    let stem = name.strip_suffix(".bundle").unwrap();
    assert_eq!(
        std::fs::read(to.join(format!("{stem}.1.bundle"))).unwrap(),
        bundle
    );
    use std::os::unix::fs::FileTypeExt as _;
    for fifo in [from.join("a-fifo.bundle"), to.join(&name)] {
        assert!(
            std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo(),
            "{} was replaced or moved",
            fifo.display()
        );
    }
}
