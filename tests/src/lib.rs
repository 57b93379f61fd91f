//! End-to-end and fault-injection tests that drive both sides of Sluice together on a real
//! PostgreSQL cluster and real SQLite files. This crate holds test support only; it ships nothing.
//!
//! [`Appliance`] is one inner host and any number of outer hosts, each outer host running the
//! real intake service on loopback, wired together by directory carriers.

#![deny(missing_docs)]

use std::path::{Path, PathBuf};

use keys::{ChannelId, Keyset};
use transfer::demo::{self, DemoKeys, InnerSide, OuterSide};

/// One inner host and its outer hosts, in a temporary directory.
pub struct Appliance {
    /// Keys and keyset.
    pub keys: DemoKeys,
    /// Version 1 of the keyset, checked (each host's trusted keysets are in its `keysets`).
    pub keyset: Keyset,
    /// Outer hosts, one per channel.
    pub outers: Vec<OuterSide>,
    /// The inner host.
    pub inner: InnerSide,
    /// The carrier directory between them.
    pub medium: PathBuf,
    // Dropped last: the database (when this appliance made its own) and the directory
    // everything lives in.
    _database: Option<inner::testing::TestDatabase>,
    dir: tempfile::TempDir,
}

impl Appliance {
    /// An appliance with one outer host per channel in `channels`.
    pub fn new(channels: &[u32]) -> anyhow::Result<Appliance> {
        let database = inner::testing::TestDatabase::new()?;
        let url = database.connection_string();
        Appliance::build(channels, &url, Some(database), false)
    }

    /// An appliance whose keyset names each side's age identity, so that every submissions and
    /// return bundle is encrypted on the medium.
    pub fn encrypted(channels: &[u32]) -> anyhow::Result<Appliance> {
        let database = inner::testing::TestDatabase::new()?;
        let url = database.connection_string();
        Appliance::build(channels, &url, Some(database), true)
    }

    /// An appliance with one outer host per channel in `channels` whose inner host uses the
    /// database at `url` (a replicated pair, say), which outlives it.
    pub fn on_database(channels: &[u32], url: &str) -> anyhow::Result<Appliance> {
        Appliance::build(channels, url, None, false)
    }

    fn build(
        channels: &[u32],
        url: &str,
        database: Option<inner::testing::TestDatabase>,
        encrypted: bool,
    ) -> anyhow::Result<Appliance> {
        let dir = tempfile::tempdir()?;
        let now = demo::now();
        let generate = if encrypted {
            demo::generate_keys_encrypted
        } else {
            demo::generate_keys
        };
        let keys = generate(
            &dir.path().join("keys"),
            channels,
            demo::DEMO_RETURN_CHANNEL,
            now,
        )?;
        let keyset = keys.load_keyset(now)?;
        let mut outers = Vec::new();
        for &channel in channels {
            outers.push(OuterSide::start(
                &dir.path().join(format!("outer-{channel}")),
                ChannelId(channel),
                &keys,
            )?);
        }
        let inner = InnerSide::start(
            &dir.path().join("inner"),
            url,
            channels.iter().copied().map(ChannelId).collect(),
            &keys,
        )?;
        let medium = dir.path().join("carrier");
        std::fs::create_dir_all(&medium)?;
        Ok(Appliance {
            keys,
            keyset,
            outers,
            inner,
            medium,
            _database: database,
            dir,
        })
    }

    /// The temporary directory everything lives in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The first outer host.
    pub fn outer(&self) -> &OuterSide {
        &self.outers[0]
    }

    /// Carries outer host `i`'s outbox into the inner inbox; returns how many bundles arrived.
    pub fn carry_in(&self, i: usize) -> anyhow::Result<usize> {
        demo::carry(&self.outers[i].spool, &self.medium, &self.inner.spool)
    }

    /// Carries the inner outbox to every outer host's inbox (a shared return channel).
    pub fn carry_out(&self) -> anyhow::Result<()> {
        transfer::carry::carry(&self.inner.spool.outbox, &self.medium, false)?;
        for (i, outer) in self.outers.iter().enumerate() {
            let last = i + 1 == self.outers.len();
            transfer::carry::carry(&self.medium, &outer.spool.inbox, !last)?;
        }
        Ok(())
    }

    /// Imports at the inner host, with the keysets it trusts.
    pub fn import(&mut self) -> anyhow::Result<transfer::inner_side::ImportReport> {
        self.inner.import()
    }

    /// Applies at outer host `i`, with the keysets it trusts.
    pub fn apply(&mut self, i: usize) -> anyhow::Result<transfer::outer_side::ApplyReport> {
        self.outers[i].apply()
    }

    /// Approves every receipt awaiting review; returns the filing numbers assigned.
    pub fn approve_all(&mut self) -> anyhow::Result<Vec<String>> {
        let mut numbers = Vec::new();
        for receipt in self.inner.awaiting_review()? {
            if let Some(number) = self.inner.approve(&receipt)? {
                numbers.push(number);
            }
        }
        Ok(numbers)
    }

    /// Row counts of the inner tables a bundle writes to.
    pub fn inner_counts(&mut self) -> anyhow::Result<InnerCounts> {
        let mut count = |table: &str| -> anyhow::Result<i64> {
            Ok(self
                .inner
                .client
                .query_one(&format!("SELECT count(*) FROM {table}"), &[])?
                .get(0))
        };
        Ok(InnerCounts {
            bundles: count("bundles")?,
            submission_versions: count("submission_versions")?,
            receipts: count("receipts")?,
            review_events: count("review_events")?,
            return_queue: count("return_queue")?,
        })
    }
}

/// Row counts of the inner tables an import writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InnerCounts {
    /// Ledger rows.
    pub bundles: i64,
    /// Stored submission versions.
    pub submission_versions: i64,
    /// Receipts.
    pub receipts: i64,
    /// Review events.
    pub review_events: i64,
    /// Return queue entries.
    pub return_queue: i64,
}

/// One stored version on the outer side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OuterVersion {
    /// Receipt.
    pub receipt: String,
    /// Version.
    pub version: i64,
    /// Sequence of the bundle it went out in (the one whose range holds it).
    pub exported_sequence: Option<i64>,
    /// Whether an ack was applied.
    pub acknowledged: bool,
    /// Whether its payload is still stored.
    pub payload_stored: bool,
}

/// Every version in an outer SQLite file, read with a separate connection.
pub fn outer_versions(database: &Path) -> anyhow::Result<Vec<OuterVersion>> {
    let conn = rusqlite::Connection::open(database)?;
    let mut stmt = conn.prepare(
        // The bundle a version went out in is the one whose range holds its sequence number.
        "SELECT receipt, version,
                (SELECT o.sequence FROM transfer_outbox o
                 WHERE o.last_seq IS NOT NULL AND o.last_seq >= v.seq AND o.first_seq <= v.seq),
                acknowledged_at IS NOT NULL,
                EXISTS (SELECT 1 FROM submission_payloads p
                        WHERE p.receipt = v.receipt AND p.version = v.version)
         FROM submission_versions v ORDER BY receipt, version",
    )?;
    let rows = stmt
        .query_map([], |row| {
            Ok(OuterVersion {
                receipt: row.get(0)?,
                version: row.get(1)?,
                exported_sequence: row.get(2)?,
                acknowledged: row.get(3)?,
                payload_stored: row.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Verifies a certificate with the stock `signify-openbsd` binary, as a site owner would.
pub fn signify_verifies(public_key: &Path, certificate: &[u8], dir: &Path) -> anyhow::Result<bool> {
    let cert = dir.join("bazs.cert");
    std::fs::write(&cert, certificate)?;
    let out = dir.join("bazs.txt");
    let status = std::process::Command::new("signify-openbsd")
        .arg("-V")
        .arg("-e")
        .arg("-p")
        .arg(public_key)
        .arg("-x")
        .arg(&cert)
        .arg("-m")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot run signify-openbsd ({e}); install the Debian package signify-openbsd"
            )
        })?;
    Ok(status.success())
}
