//! Crash injection: the real `sluice-outer serve` and `sluice-transfer` binaries are SIGKILLed at
//! every named failure point of intake, export, import, return and apply, and at random moments
//! over a long import, then restarted; after the pipeline runs to completion the totals must
//! hold: every submission the outer store took is inside exactly once, no filing lacks any of its
//! domains or IP ranges, no outer payload was deleted without its ack, and every receipt still
//! has its status.
//!
//! The binaries must be built with the `failpoints` feature. Before anything runs, the test
//! looks inside the ones beside it (`cargo test --workspace` builds them with the feature, a
//! plain `cargo build` without); if they lack it, the test builds its own into
//! `target/failpoints` (`testkit::binaries::failpoint_binary`), so
//! `cargo test -p tests --test crash` works after any other build. `SLUICE_CRASH_SEED` picks
//! other random kill moments (the seed is printed).

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use keys::ChannelId;
use testkit::binaries::failpoint_binary;
use tests::outer_versions;
use transfer::demo;

/// How long a failure point may take to be reached before the test calls it missed. A guard
/// against hanging, not a measurement.
const REACH_GUARD: Duration = Duration::from_secs(120);
/// Submissions in the long import (one per bundle).
const BATCH_ROWS: u32 = 240;
/// Kills at random moments the suite must reach, at least.
const RANDOM_KILLS: usize = 200;

struct Rig {
    dir: tempfile::TempDir,
    database: inner::testing::TestDatabase,
    serve: Option<Child>,
    address: SocketAddr,
    owner_token: String,
    provider_token: String,
    kills: usize,
}

/// How one run of a command ended.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// Killed where it was asked to be.
    Killed,
    /// Ran to its end with this exit code.
    Exited(Option<i32>),
}

/// Spawns `command` with stderr piped; its lines arrive on the returned channel.
fn spawn(mut command: Command) -> (Child, mpsc::Receiver<String>) {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Waits for `failpoint NAME reached` on `lines`, then SIGKILLs `child`. Returns whether the
/// point was reached (false: the process ended first).
fn kill_at(child: &mut Child, lines: &mpsc::Receiver<String>, name: &str) -> (bool, Vec<String>) {
    let wanted = format!("failpoint {name} reached");
    let mut seen = Vec::new();
    let started = Instant::now();
    loop {
        match lines.recv_timeout(Duration::from_millis(200)) {
            Ok(line) if line.contains(&wanted) => {
                child.kill().unwrap();
                child.wait().unwrap();
                return (true, seen);
            }
            Ok(line) => seen.push(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                child.wait().unwrap();
                return (false, seen);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if child.try_wait().unwrap().is_some() {
                    seen.extend(lines.try_iter());
                    return (seen.iter().any(|l| l.contains(&wanted)), seen);
                }
                if started.elapsed() > REACH_GUARD {
                    child.kill().unwrap();
                    child.wait().unwrap();
                    panic!("{name} not reached and the process is stuck: {seen:?}");
                }
            }
        }
    }
}

impl Rig {
    fn new() -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let now = demo::now();
        let keys = demo::generate_keys(
            &dir.path().join("keys"),
            &[1],
            demo::DEMO_RETURN_CHANNEL,
            now,
        )
        .unwrap();
        let database = inner::testing::TestDatabase::new().unwrap();
        let outer_db = dir.path().join("outer.sqlite");
        let outer = |args: &[&str]| -> String {
            let output = Command::new(failpoint_binary("sluice-outer"))
                .args(args)
                .arg("--database")
                .arg(&outer_db)
                .output()
                .unwrap();
            assert!(output.status.success(), "{args:?}: {output:?}");
            String::from_utf8(output.stdout).unwrap().trim().to_owned()
        };
        outer(&["accounts", "add", "--kind", "website-owner", "owner"]);
        outer(&["accounts", "add", "--kind", "access-provider", "provider_1"]);
        let owner_token = outer(&["tokens", "issue", "owner"]);
        let provider_token = outer(&["tokens", "issue", "provider_1"]);
        let keyset = keys
            .keyset
            .display()
            .to_string()
            .replace('\\', "\\\\")
            .replace('"', "\\\"");
        let quote = |p: &Path| {
            p.display()
                .to_string()
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
        };
        std::fs::write(
            dir.path().join("outer-transfer.toml"),
            format!(
                "spool_dir = \"{}\"\nsigning_key = \"{}\"\nkeyset = [\"{keyset}\"]\n\
                 outer_database = \"{}\"\nchannel = 1\nreturn_channel = {}\nrecords_per_bundle = 1\n",
                quote(&dir.path().join("outer-spool")),
                quote(keys.outer_key(ChannelId(1)).unwrap()),
                quote(&outer_db),
                demo::DEMO_RETURN_CHANNEL,
            ),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("inner-transfer.toml"),
            format!(
                "spool_dir = \"{}\"\nsigning_key = \"{}\"\nkeyset = [\"{keyset}\"]\n\
                 inner_database_url = \"{}\"\naccept_channels = [1]\nreturn_channel = {}\n\
                 return_entries = 50\n",
                quote(&dir.path().join("inner-spool")),
                quote(&keys.inner_return),
                database.connection_string().replace('"', "\\\""),
                demo::DEMO_RETURN_CHANNEL,
            ),
        )
        .unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        std::fs::write(
            dir.path().join("outer.toml"),
            format!(
                "database = \"{}\"\nlisten = \"127.0.0.1:{port}\"\n\
                 [limits]\nrate_per_minute = 1000000\nrate_burst = 1000000\n",
                quote(&outer_db)
            ),
        )
        .unwrap();
        Rig {
            dir,
            database,
            serve: None,
            address: format!("127.0.0.1:{port}").parse().unwrap(),
            owner_token,
            provider_token,
            kills: 0,
        }
    }

    fn serve_command(&self, failpoint: Option<&str>) -> Command {
        let mut command = Command::new(failpoint_binary("sluice-outer"));
        command
            .arg("serve")
            .arg("--config")
            .arg(self.dir.path().join("outer.toml"))
            .arg("--database")
            .arg(self.dir.path().join("outer.sqlite"))
            .arg("--listen")
            .arg(self.address.to_string())
            .env_remove("SLUICE_FAILPOINT");
        if let Some(name) = failpoint {
            command.env("SLUICE_FAILPOINT", name);
        }
        command
    }

    fn wait_listening(&self) {
        let started = Instant::now();
        while TcpStream::connect(self.address).is_err() {
            assert!(
                started.elapsed() < REACH_GUARD,
                "sluice-outer serve did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn start_serve(&mut self) {
        let mut child = self
            .serve_command(None)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while TcpStream::connect(self.address).is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                let output = child.wait_with_output().unwrap();
                panic!(
                    "sluice-outer serve ended ({status}): {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            assert!(
                started.elapsed() < REACH_GUARD,
                "sluice-outer serve did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // Its log is not needed; dropping the pipe would make its writes fail.
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || std::io::copy(&mut { stderr }, &mut std::io::sink()));
        self.serve = Some(child);
    }

    fn stop_serve(&mut self) {
        if let Some(mut child) = self.serve.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Kills the intake service at `name` while it stores a submission, then restarts it.
    fn kill_intake_at(&mut self, name: &str, n: u32) {
        self.stop_serve();
        let (mut child, lines) = spawn(self.serve_command(Some(name)));
        self.wait_listening();
        let (address, token) = (self.address, self.owner_token.clone());
        let request = std::thread::spawn(move || {
            demo::http_json(
                address,
                "POST",
                "/api/v1/submissions",
                Some(&token),
                Some(&demo::new_filing(n, "企业展示网站")),
            )
        });
        let (reached, seen) = kill_at(&mut child, &lines, name);
        assert!(reached, "{name} not reached: {seen:?}");
        self.kills += 1;
        // The client saw the connection drop: no receipt was promised.
        assert!(
            !matches!(request.join().unwrap(), Ok((201, _))),
            "a receipt was promised by a process killed before answering"
        );
        self.start_serve();
    }

    fn transfer(&self, side: &str, command: &str, failpoint: Option<&str>) -> Command {
        let mut cmd = Command::new(failpoint_binary("sluice-transfer"));
        cmd.arg("--config")
            .arg(self.dir.path().join(format!("{side}-transfer.toml")))
            .arg(command)
            .env("RUST_LOG", "warn")
            .env_remove("SLUICE_FAILPOINT");
        if let Some(name) = failpoint {
            cmd.env("SLUICE_FAILPOINT", name);
        }
        cmd
    }

    /// Runs a step to its end; it must not fail.
    fn step(&self, side: &str, command: &str) {
        let output = self
            .transfer(side, command, None)
            .stdout(Stdio::null())
            .output()
            .unwrap();
        assert!(
            matches!(output.status.code(), Some(0 | 3)),
            "{side} {command}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Runs a step armed at `name` and SIGKILLs it there.
    fn kill_step_at(&mut self, side: &str, command: &str, name: &str) {
        let (mut child, lines) = spawn(self.transfer(side, command, Some(name)));
        let (reached, seen) = kill_at(&mut child, &lines, name);
        assert!(
            reached,
            "{side} {command}: {name} not reached (the binary has failure points, so this one \
             is missing or named differently in the code): {seen:?}"
        );
        self.kills += 1;
    }

    /// Runs a step and SIGKILLs it after `delay`, unless it ended first.
    fn kill_step_after(&mut self, side: &str, command: &str, delay: Duration) -> Ended {
        let mut child = self
            .transfer(side, command, None)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + delay;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return Ended::Exited(status.code());
            }
            if Instant::now() >= deadline {
                child.kill().unwrap();
                child.wait().unwrap();
                self.kills += 1;
                return Ended::Killed;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn spool(&self, side: &str) -> transfer::spool::Spool {
        transfer::spool::Spool::under(&self.dir.path().join(format!("{side}-spool")))
    }

    fn carry_in(&self) {
        let (outer, inner) = (self.spool("outer"), self.spool("inner"));
        inner.create_all().unwrap();
        transfer::carry::carry(&outer.outbox, &inner.inbox, false).unwrap();
    }

    fn carry_out(&self) {
        let (outer, inner) = (self.spool("outer"), self.spool("inner"));
        outer.create_all().unwrap();
        transfer::carry::carry(&inner.outbox, &outer.inbox, false).unwrap();
    }

    fn inbox_len(&self, side: &str) -> usize {
        let inbox = self.spool(side).inbox;
        if !inbox.is_dir() {
            return 0;
        }
        transfer::spool::list_bundles(&inbox).unwrap().len()
    }

    fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.database.connection_string(), postgres::NoTls).unwrap()
    }

    fn outer_db(&self) -> PathBuf {
        self.dir.path().join("outer.sqlite")
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.stop_serve();
    }
}

/// xorshift64*: reproducible kill moments from a printed seed.
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % below
    }
}

#[test]
fn killed_at_every_failure_point_and_at_random_the_pipeline_still_loses_and_duplicates_nothing() {
    let started = Instant::now();
    let mut rig = Rig::new();
    rig.start_serve();

    // Intake: killed just before and just after the group commit of a submission.
    rig.kill_intake_at("intake.before-commit", 1);
    rig.kill_intake_at("intake.after-commit", 2);
    let mut promised = Vec::new();
    for n in 3..=6 {
        let (status, body) = demo::http_json(
            rig.address,
            "POST",
            "/api/v1/submissions",
            Some(&rig.owner_token),
            Some(&demo::new_filing(n, "企业展示网站")),
        )
        .unwrap();
        assert_eq!(status, 201, "{body}");
        promised.push(body["receipt"].as_str().unwrap().to_owned());
    }
    let good: Vec<u32> = (100..100 + BATCH_ROWS).collect();
    let (status, _) = demo::http(
        rig.address,
        "POST",
        "/api/v1/batches",
        Some(&rig.provider_token),
        "text/csv",
        demo::batch_csv(&good, &[]).as_bytes(),
    )
    .unwrap();
    assert_eq!(status, 200);

    // One round through every named failure point: each run is killed there, and the next run
    // (armed at the next point, or not at all) starts from what the killed one left.
    for point in [
        "export.after-bundle-written",
        "spool.before-rename",
        "spool.after-rename",
    ] {
        rig.kill_step_at("outer", "export", point);
    }
    rig.step("outer", "export");
    rig.carry_in();
    for point in [
        "import.mid-copy",
        "import.after-commit",
        "spool.before-rename",
        "spool.after-rename",
    ] {
        rig.kill_step_at("inner", "import", point);
    }
    for point in [
        "return.after-bundle-written",
        "spool.before-rename",
        "spool.after-rename",
    ] {
        rig.kill_step_at("inner", "return", point);
    }
    rig.step("inner", "return");
    rig.carry_out();
    for point in [
        "apply.after-payloads-deleted",
        "apply.after-commit",
        "spool.before-rename",
        "spool.after-rename",
    ] {
        rig.kill_step_at("outer", "apply", point);
    }
    rig.step("outer", "apply");
    // Random moments over the long import: one bundle per submission.
    let seed = std::env::var("SLUICE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_122_u64);
    let mut moments = Moments(seed | 1);
    let named_kills = rig.kills;
    let mut window = 400;
    let mut import_kills = 0;
    while rig.kills - named_kills < RANDOM_KILLS {
        if rig.inbox_len("inner") == 0 {
            // The import is done: kill the other steps at random moments too.
            match rig.kill_step_after(
                "inner",
                "return",
                Duration::from_millis(moments.next_ms(window)),
            ) {
                Ended::Killed => continue,
                Ended::Exited(_) => {}
            }
            rig.carry_out();
            rig.kill_step_after(
                "outer",
                "apply",
                Duration::from_millis(moments.next_ms(window)),
            );
            if rig.inbox_len("outer") == 0 {
                rig.kill_step_after(
                    "outer",
                    "export",
                    Duration::from_millis(moments.next_ms(window)),
                );
                rig.carry_in();
            }
            continue;
        }
        if rig.kill_step_after(
            "inner",
            "import",
            Duration::from_millis(moments.next_ms(window)),
        ) == Ended::Killed
        {
            import_kills += 1;
        } else {
            window = window.saturating_sub(20).max(60);
        }
    }
    let random_kills = rig.kills - named_kills;
    // Run to completion: enough rounds for every ack to come back.
    for _ in 0..3 {
        rig.step("outer", "export");
        rig.carry_in();
        rig.step("inner", "import");
        rig.step("inner", "return");
        rig.carry_out();
        rig.step("outer", "apply");
    }

    // Totals.
    let versions = outer_versions(&rig.outer_db()).unwrap();
    for receipt in &promised {
        assert!(
            versions.iter().any(|v| &v.receipt == receipt),
            "receipt {receipt} was promised and is not in the outer store"
        );
    }
    let mut client = rig.client();
    let mut inside = 0;
    for version in &versions {
        let count: i64 = client
            .query_one(
                "SELECT count(*) FROM submission_versions WHERE receipt = $1 AND version = $2",
                &[&version.receipt, &version.version],
            )
            .unwrap()
            .get(0);
        assert_eq!(
            count, 1,
            "{} version {} is inside {count} times",
            version.receipt, version.version
        );
        inside += 1;
        assert!(
            version.payload_stored || version.acknowledged,
            "{} version {}: payload deleted without an ack",
            version.receipt,
            version.version
        );
    }
    let total_inside: i64 = client
        .query_one("SELECT count(*) FROM submission_versions", &[])
        .unwrap()
        .get(0);
    assert_eq!(
        total_inside,
        versions.len() as i64,
        "versions inside that the outer store never had"
    );
    // Every sample filing has one website with two domains and one IP range.
    let incomplete: Vec<(String, i64, i64)> = client
        .query(
            "SELECT w.receipt,
                    (SELECT count(*) FROM website_domains d WHERE d.record_id = w.record_id),
                    (SELECT count(*) FROM website_ips i WHERE i.record_id = w.record_id)
             FROM website_records w",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .filter(|(_, domains, ips)| *domains != 2 || *ips != 1)
        .collect();
    assert!(
        incomplete.is_empty(),
        "filings without their full domain and IP lists: {incomplete:?}"
    );
    let websites: i64 = client
        .query_one("SELECT count(*) FROM website_records", &[])
        .unwrap()
        .get(0);
    let acknowledged = versions.iter().filter(|v| v.acknowledged).count();
    let deleted = versions.iter().filter(|v| !v.payload_stored).count();
    assert_eq!(
        acknowledged,
        versions.len(),
        "after the last round every version is acknowledged"
    );
    let mut statuses = 0;
    for version in &versions {
        let (status, body) = demo::http_json(
            rig.address,
            "GET",
            &format!("/api/v1/submissions/{}/status", version.receipt),
            None,
            None,
        )
        .unwrap();
        assert_eq!(status, 200, "status of {} lost: {body}", version.receipt);
        let state = body["state"].as_str().unwrap_or_default();
        assert!(
            !matches!(state, "received" | "in_transit"),
            "{} still {state} after the pipeline completed",
            version.receipt
        );
        statuses += 1;
    }
    println!(
        "crash injection (seed {seed}): {} kills survived ({named_kills} at named failure points, \
         {random_kills} at random moments, {import_kills} of them during the import); {inside} submission versions inside exactly once, \
         {websites} websites with full domain and IP lists, {deleted} payloads deleted outside \
         all with acks, {statuses} statuses kept; {:.0?}",
        rig.kills,
        started.elapsed()
    );
}

/// Regression: export killed after putting a bundle in the outbox and before recording that it
/// did; the carrier takes the bundle, the inner side acks it, apply removes its retained copy.
/// The next export tried to publish it again from the retained copy and failed on every run
/// ("opening …/retained/…bundle: No such file or directory"), stopping the channel.
#[test]
fn export_killed_after_publishing_a_bundle_that_is_then_acknowledged_still_exports() {
    let mut rig = Rig::new();
    rig.start_serve();
    let (status, body) = demo::http_json(
        rig.address,
        "POST",
        "/api/v1/submissions",
        Some(&rig.owner_token),
        Some(&demo::new_filing(1, "企业展示网站")),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    rig.kill_step_at("outer", "export", "export.after-outbox-copy");
    rig.carry_in();
    rig.step("inner", "import");
    rig.step("inner", "return");
    rig.carry_out();
    rig.step("outer", "apply");
    rig.step("outer", "export");
    let versions = outer_versions(&rig.outer_db()).unwrap();
    assert!(versions.iter().all(|v| v.acknowledged), "{versions:?}");
}

/// Import killed after committing a keyset bundle (its ledger row and the keyset's record) and
/// before writing the keyset file. The next run writes the file from the database record before
/// it judges anything, and the bundle still in the inbox, signed by the key that version
/// revokes, is recognised as the duplicate it is rather than quarantined; its ack still
/// reaches the outer host.
#[test]
fn import_killed_between_committing_a_keyset_and_writing_its_file_installs_it_on_the_next_run() {
    use keys::{KeyEntry, KeysetFile, Role, SecretKey};

    let mut rig = Rig::new();
    let keys_dir = rig.dir.path().join("keys");
    let now = demo::now();
    let anchor = keys::Keyset::anchor(
        KeysetFile::read_file(&keys_dir.join("keyset-1.txt")).unwrap(),
        now,
    )
    .unwrap();
    let key_a = SecretKey::read_file(&keys_dir.join("outer-bundle-1.sec"), None).unwrap();
    let key_b = SecretKey::generate();
    let mut next = anchor.document().next_version();
    next.add_key(KeyEntry {
        public_key: key_b.public_key(),
        role: Role::OuterBundle,
        channels: vec![ChannelId(1)],
        not_before: now - 3600,
        not_after: now + 3600,
        revoked_at: None,
    })
    .unwrap();
    next.revoke(key_a.key_id(), now - 60).unwrap();
    let mut file = KeysetFile::unsigned(next);
    file.sign(&SecretKey::read_file(&keys_dir.join("root.sec"), None).unwrap())
        .unwrap();
    let keyset_2 = rig.dir.path().join("keyset-2.txt");
    std::fs::write(&keyset_2, file.to_bytes()).unwrap();

    let published = rig
        .transfer("outer", "publish-keyset", None)
        .arg(&keyset_2)
        .output()
        .unwrap();
    assert!(
        published.status.success(),
        "{}",
        String::from_utf8_lossy(&published.stderr)
    );
    rig.carry_in();
    rig.kill_step_at("inner", "import", "keyset.before-install");
    let installed = rig.spool("inner").inbox.with_file_name("keysets");
    assert!(!installed.join("keyset-2.txt").exists());
    let recorded: i64 = rig
        .client()
        .query_one("SELECT count(*) FROM transfer_keysets", &[])
        .unwrap()
        .get(0);
    assert_eq!(recorded, 1);

    rig.step("inner", "import");
    assert_eq!(
        std::fs::read(installed.join("keyset-2.txt")).unwrap(),
        file.to_bytes()
    );
    assert_eq!(rig.inbox_len("inner"), 0);
    let quarantine = rig.spool("inner").quarantine;
    assert!(
        !quarantine.is_dir()
            || transfer::spool::list_bundles(&quarantine)
                .unwrap()
                .is_empty(),
        "the applied keyset bundle was quarantined"
    );
    rig.step("inner", "return");
    rig.carry_out();
    rig.step("outer", "apply");
    let conn = rusqlite::Connection::open(rig.outer_db()).unwrap();
    let acknowledged: bool = conn
        .query_row(
            "SELECT acknowledged_at IS NOT NULL FROM transfer_outbox WHERE kind = 'keyset'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert!(acknowledged);
}
