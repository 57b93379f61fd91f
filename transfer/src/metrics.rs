//! The operators' metrics in Prometheus text format (exposition format 0.0.4), rendered from
//! what `status` reads: bundles waiting for an ack and their age, records pending and in
//! transit, the chain state and gaps per channel, heartbeats, the return queue and the
//! quarantine. The transfer commands are oneshots, so there is no endpoint to scrape:
//! `sluice-transfer status --prometheus --output FILE` writes the file atomically for a
//! node_exporter textfile collector (README, "Metrics").

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::inner_side::{ChannelStatus, InnerStatus};
use crate::outer_side::OuterStatus;

/// Everything one host's metrics are made of; each part is present when this host has it.
#[derive(Debug, Default)]
pub struct Snapshot<'a> {
    /// Now, Unix seconds (ages are measured from here).
    pub now: i64,
    /// The keyset this host trusts (its version, and when each of its keys expires).
    pub keyset: Option<&'a keys::Keyset>,
    /// The outer side's status, on an outer host.
    pub outer: Option<&'a OuterStatus>,
    /// The inner side's status, on an inner host.
    pub inner: Option<&'a InnerStatus>,
    /// Files and disk space in each spool directory, by its role.
    pub spool: Option<Vec<(&'static str, crate::spool::DiskUse)>>,
    /// Quarantined bundles by reason code (`unknown` for a missing reason file).
    pub quarantine: Option<BTreeMap<String, u64>>,
}

/// One metric family being written: `# HELP`, `# TYPE`, then its samples.
struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn sample(&mut self, name: &str, labels: &[(&str, String)], value: impl std::fmt::Display) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (label, text)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{label}=\"{}\"", escape(text));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }
}

fn family<'a>(out: &'a mut String, name: &str, kind: &str, help: &str) -> Family<'a> {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    Family { out }
}

/// A label value as the exposition format wants it: backslash, quote and newline escaped.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The trusted version, and the end of the validity window of each key in it that is not
/// revoked: what an alert on keys about to expire watches.
fn keyset_metrics(out: &mut String, keyset: &keys::Keyset) {
    family(
        out,
        "sluice_keyset_trusted_version",
        "gauge",
        "Version of the keyset this host trusts.",
    )
    .sample("sluice_keyset_trusted_version", &[], keyset.version());
    let name = "sluice_keyset_key_not_after_timestamp_seconds";
    let mut f = family(
        out,
        name,
        "gauge",
        "When each key of the trusted keyset that is not revoked stops being valid (Unix \
         seconds), by role, key number and channels.",
    );
    for key in keyset.document().keys() {
        if key.revoked_at.is_some() {
            continue;
        }
        let channels: Vec<String> = key.channels.iter().map(|c| c.0.to_string()).collect();
        let labels = [
            ("role", key.role.to_string()),
            ("key", key.key_id().to_string()),
            ("channels", channels.join(",")),
        ];
        f.sample(name, &labels, key.not_after);
    }
}

/// Renders the snapshot.
pub fn render(snapshot: &Snapshot<'_>) -> String {
    let mut out = String::new();
    if let Some(keyset) = snapshot.keyset {
        keyset_metrics(&mut out, keyset);
    }
    if let Some(outer) = snapshot.outer {
        outer_metrics(&mut out, outer, snapshot.now);
    }
    if let Some(inner) = snapshot.inner {
        inner_metrics(&mut out, inner);
    }
    if let Some(spool) = &snapshot.spool {
        let mut f = family(
            &mut out,
            "sluice_spool_files",
            "gauge",
            "Regular files in each spool directory.",
        );
        for (dir, used) in spool {
            f.sample(
                "sluice_spool_files",
                &[("dir", (*dir).to_owned())],
                used.files,
            );
        }
        let mut f = family(
            &mut out,
            "sluice_spool_bytes",
            "gauge",
            "Disk space the files in each spool directory take (allocated blocks), in bytes.",
        );
        for (dir, used) in spool {
            f.sample(
                "sluice_spool_bytes",
                &[("dir", (*dir).to_owned())],
                used.bytes,
            );
        }
    }
    if let Some(quarantine) = &snapshot.quarantine {
        let mut f = family(
            &mut out,
            "sluice_quarantined_bundles",
            "gauge",
            "Bundles in this host's quarantine directory, by reason code.",
        );
        if quarantine.is_empty() {
            f.sample("sluice_quarantined_bundles", &[], 0);
        }
        for (code, count) in quarantine {
            f.sample(
                "sluice_quarantined_bundles",
                &[("code", code.clone())],
                count,
            );
        }
    }
    out
}

fn outer_metrics(out: &mut String, outer: &OuterStatus, now: i64) {
    let mut f = family(
        out,
        "sluice_outer_receipts",
        "gauge",
        "Receipts on the outer side, by state.",
    );
    for (state, count) in &outer.receipts {
        f.sample("sluice_outer_receipts", &[("state", state.clone())], count);
    }
    family(
        out,
        "sluice_outer_pending_versions",
        "gauge",
        "Submission versions not yet exported.",
    )
    .sample("sluice_outer_pending_versions", &[], outer.pending_versions);
    family(
        out,
        "sluice_outer_in_transit_versions",
        "gauge",
        "Submission versions exported and not yet acknowledged.",
    )
    .sample(
        "sluice_outer_in_transit_versions",
        &[],
        outer.in_transit_versions,
    );
    family(
        out,
        "sluice_outer_unacknowledged_bundles",
        "gauge",
        "Bundles published and not yet acknowledged (kept in the retained outbox).",
    )
    .sample(
        "sluice_outer_unacknowledged_bundles",
        &[],
        outer.unacknowledged.len(),
    );
    let oldest = outer
        .unacknowledged
        .iter()
        .map(|u| u.age_seconds)
        .max()
        .unwrap_or(0);
    family(
        out,
        "sluice_outer_oldest_unacknowledged_age_seconds",
        "gauge",
        "Age of the oldest unacknowledged bundle (0 when none): the transfer's lag.",
    )
    .sample(
        "sluice_outer_oldest_unacknowledged_age_seconds",
        &[],
        oldest,
    );
    family(
        out,
        "sluice_outer_next_sequence",
        "gauge",
        "Sequence number the next submissions bundle gets.",
    )
    .sample("sluice_outer_next_sequence", &[], outer.next_sequence);
    if let Some((sequence, applied_at)) = outer.last_return {
        family(
            out,
            "sluice_outer_last_return_sequence",
            "gauge",
            "Highest return bundle sequence applied.",
        )
        .sample("sluice_outer_last_return_sequence", &[], sequence);
        family(
            out,
            "sluice_outer_last_return_age_seconds",
            "gauge",
            "Seconds since the last return bundle (heartbeats included) was applied.",
        )
        .sample(
            "sluice_outer_last_return_age_seconds",
            &[],
            now.saturating_sub(applied_at).max(0),
        );
    }
}

/// A gauge family with one sample per channel, labelled with the channel, for each channel
/// `value` gives a value for.
fn per_channel_gauge<T: std::fmt::Display>(
    out: &mut String,
    name: &str,
    help: &str,
    channels: &[ChannelStatus],
    value: impl Fn(&ChannelStatus) -> Option<T>,
) {
    let mut f = family(out, name, "gauge", help);
    for c in channels {
        if let Some(v) = value(c) {
            f.sample(name, &[("channel", c.channel.to_string())], v);
        }
    }
}

fn inner_metrics(out: &mut String, inner: &InnerStatus) {
    let channels = &inner.channels;
    per_channel_gauge(
        out,
        "sluice_inner_highest_contiguous_sequence",
        "Highest sequence number received with none missing below it, per channel.",
        channels,
        |c| Some(c.highest_contiguous),
    );
    per_channel_gauge(
        out,
        "sluice_inner_missing_bundles",
        "Sequence numbers missing above the highest contiguous one (gaps), per channel.",
        channels,
        |c| Some(c.missing.len()),
    );
    per_channel_gauge(
        out,
        "sluice_inner_last_import_timestamp_seconds",
        "When the last bundle of any kind was imported, per channel (Unix seconds).",
        channels,
        |c| c.last_import,
    );
    per_channel_gauge(
        out,
        "sluice_inner_last_heartbeat_timestamp_seconds",
        "When the last heartbeat was imported, per channel (Unix seconds).",
        channels,
        |c| c.last_heartbeat,
    );
    family(
        out,
        "sluice_inner_pending_returns",
        "gauge",
        "Return queue entries (acks, status changes, certificates) not yet sent.",
    )
    .sample("sluice_inner_pending_returns", &[], inner.pending_returns);
    family(
        out,
        "sluice_inner_return_bundles_sent_total",
        "counter",
        "Return bundles written.",
    )
    .sample(
        "sluice_inner_return_bundles_sent_total",
        &[],
        inner.return_bundles_sent,
    );
    family(
        out,
        "sluice_inner_return_bundles_retained",
        "gauge",
        "Return bundles kept in the retained outbox until every node they serve acknowledges them.",
    )
    .sample(
        "sluice_inner_return_bundles_retained",
        &[],
        inner.return_bundles_retained,
    );
    let mut f = family(
        out,
        "sluice_inner_return_receipt_through",
        "gauge",
        "Highest return sequence number a node has applied with none missing below it, per \
         submissions channel and return channel (from its newest receipt).",
    );
    for receipt in &inner.return_receipts {
        f.sample(
            "sluice_inner_return_receipt_through",
            &[
                ("channel", receipt.channel.to_string()),
                ("return_channel", receipt.return_channel.to_string()),
            ],
            receipt.through,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Version 1 with a root key (valid until 2,000,000,000), an outer-bundle key on channels
    /// 1 and 2 (until 1,900,000,000) and a revoked inner-return key.
    fn keyset() -> keys::Keyset {
        use keys::{ChannelId, KeyEntry, KeyId, KeysetDocument, KeysetFile, Role, SecretKey};
        let key = |n: u8| SecretKey::from_seed(KeyId([n; 8]), &[n; 32]);
        let entry = |n: u8, role, channels: &[u32], not_after, revoked_at| KeyEntry {
            public_key: key(n).public_key(),
            role,
            channels: channels.iter().copied().map(ChannelId).collect(),
            not_before: 0,
            not_after,
            revoked_at,
        };
        let document = KeysetDocument::new(
            1,
            vec![
                entry(1, Role::Root, &[], 2_000_000_000, None),
                entry(2, Role::OuterBundle, &[1, 2], 1_900_000_000, None),
                entry(3, Role::InnerReturn, &[7], 1_900_000_000, Some(50)),
            ],
        )
        .unwrap();
        let mut file = KeysetFile::unsigned(document);
        file.sign(&key(1)).unwrap();
        keys::Keyset::anchor(file, 100).unwrap()
    }

    #[test]
    fn every_key_not_revoked_reports_when_it_expires() {
        let keyset = keyset();
        let text = render(&Snapshot {
            now: 100,
            keyset: Some(&keyset),
            ..Snapshot::default()
        });
        assert!(
            text.contains("\nsluice_keyset_trusted_version 1\n"),
            "{text}"
        );
        let expiry: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("sluice_keyset_key_not_after_timestamp_seconds{"))
            .collect();
        assert_eq!(
            expiry,
            [
                format!(
                    "sluice_keyset_key_not_after_timestamp_seconds{{role=\"root\",key=\"{}\",channels=\"\"}} 2000000000",
                    keys::KeyId([1; 8])
                ),
                format!(
                    "sluice_keyset_key_not_after_timestamp_seconds{{role=\"outer-bundle\",key=\"{}\",channels=\"1,2\"}} 1900000000",
                    keys::KeyId([2; 8])
                ),
            ],
            "the revoked key is left out: {text}"
        );
    }

    #[test]
    fn label_values_are_escaped_and_an_empty_quarantine_reads_zero() {
        let mut quarantine = BTreeMap::new();
        let text = render(&Snapshot {
            now: 100,
            quarantine: Some(quarantine.clone()),
            ..Snapshot::default()
        });
        assert!(text.contains("\nsluice_quarantined_bundles 0\n"), "{text}");
        quarantine.insert("odd\"code\\\n".to_owned(), 2);
        let text = render(&Snapshot {
            now: 100,
            quarantine: Some(quarantine),
            ..Snapshot::default()
        });
        assert!(
            text.contains("sluice_quarantined_bundles{code=\"odd\\\"code\\\\\\n\"} 2\n"),
            "{text}"
        );
        // Every sample line belongs to a family announced just before it.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            assert!(text.contains(&format!("# TYPE {name} ")), "{line}");
        }
    }
}
