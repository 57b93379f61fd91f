//! Steps the end-to-end tests share: submitting the demo's filings, sending the inner host's
//! return out, checking what the submitter sees, delivering a bundle again, and signing
//! bundles by hand.
#![allow(dead_code)] // each test binary uses a different part

use std::path::Path;

use bundle_format::records::Record;
use bundle_format::{BundleWriter, SealedBundle, WriterConfig};
use keys::{ChannelId, Signer};
use tests::Appliance;
use transfer::demo::{OuterSide, new_filing};
use transfer::inner_side::ReturnReport;
use transfer::outer_side::ApplyReport;

/// Submits the demo's new filing number `n` (a showcase website, 企业展示网站) at `outer` for
/// each of `numbers`; returns the receipts in that order.
pub fn submit_filings(outer: &OuterSide, numbers: impl IntoIterator<Item = u32>) -> Vec<String> {
    numbers
        .into_iter()
        .map(|n| outer.node.submit(&new_filing(n, "企业展示网站")).unwrap())
        .collect()
}

/// Submits the demo's new filing number `n` at `outer` for each of `numbers` as the access
/// provider, for its customer `customer_n`: such a filing waits for no provider check, so its
/// payload goes on its ack. Returns the receipts in that order.
pub fn submit_filings_as_provider(
    outer: &OuterSide,
    numbers: impl IntoIterator<Item = u32>,
) -> Vec<String> {
    numbers
        .into_iter()
        .map(|n| {
            outer
                .node
                .submit_for_customer(&format!("customer_{n}"), &new_filing(n, "企业展示网站"))
                .unwrap()
        })
        .collect()
}

/// Submits the demo's filings `numbers` at `outer` and exports them into its outbox; returns
/// the receipts in that order.
pub fn submit_and_export(outer: &OuterSide, numbers: impl IntoIterator<Item = u32>) -> Vec<String> {
    let receipts = submit_filings(outer, numbers);
    outer.export().unwrap();
    receipts
}

/// Submits and exports the demo's filings `numbers` at the first outer host, carries them in,
/// imports and approves them all; returns the receipts.
pub fn imported_and_approved(
    app: &mut Appliance,
    numbers: impl IntoIterator<Item = u32>,
) -> Vec<String> {
    let receipts = submit_and_export(app.outer(), numbers);
    app.carry_in(0).unwrap();
    app.import().unwrap();
    app.approve_all().unwrap();
    receipts
}

/// Writes the inner host's return bundles, carries them out and applies them at the first
/// outer host.
pub fn return_to_first_outer(app: &mut Appliance) -> ApplyReport {
    app.inner.write_return().unwrap();
    app.carry_out().unwrap();
    app.apply(0).unwrap()
}

/// Writes the inner host's return bundles now on return channel `channel` (for the
/// submissions channel `for_channel`, or every channel), at most `max_entries` entries each,
/// valid for an hour and not encrypted.
pub fn write_return_on(
    app: &mut Appliance,
    channel: ChannelId,
    for_channel: Option<ChannelId>,
    max_entries: usize,
) -> ReturnReport {
    let settings = transfer::inner_side::ReturnSettings {
        channel,
        for_channel,
        validity_seconds: 3600,
        max_entries,
        now: transfer::demo::now(),
        recipients: Vec::new(),
    };
    transfer::inner_side::write_return(
        &mut app.inner.client,
        &app.inner.spool,
        &app.inner.key,
        &settings,
    )
    .unwrap()
}

/// The inner side's highest contiguous sequence on each submissions channel, as it reports
/// them: `(channel, sequence)`.
pub fn contiguous_per_channel(app: &mut Appliance) -> Vec<(u32, u64)> {
    inner::returns::sequence_reports(&mut app.inner.client)
        .unwrap()
        .iter()
        .map(|r| (r.channel, r.highest_contiguous))
        .collect()
}

/// Carries the return bundles written already out and applies them at the first outer host,
/// checking that the first of them revoked one certificate there.
pub fn apply_revoking_one_certificate(app: &mut Appliance) -> ApplyReport {
    app.carry_out().unwrap();
    let applied = app.apply(0).unwrap();
    assert_eq!(
        applied.files[0].certificates_revoked, 1,
        "{:?}",
        applied.files
    );
    applied
}

/// Checks that the first outer host tells the submitter of each of `receipts` that it is
/// approved and its certificate ready.
pub fn assert_approved_with_certificates(app: &Appliance, receipts: &[String]) {
    for receipt in receipts {
        let status = app.outer().node.status(receipt).unwrap();
        assert_eq!(status["state"], "approved", "{status}");
        assert_eq!(status["certificate_ready"], true, "{status}");
    }
}

/// Copies the bundle in `archive` whose file name starts with `prefix` into `inbox`, under its
/// own name: the carrier delivers it again.
pub fn deliver_archived_again(archive: &Path, inbox: &Path, prefix: &str) {
    let archived = transfer::spool::list_bundles(archive)
        .unwrap()
        .into_iter()
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix}* bundle in {}", archive.display()));
    std::fs::copy(&archived, inbox.join(archived.file_name().unwrap())).unwrap();
}

/// Signs `records` into one bundle file with `signer`, as `config` says.
pub fn sign_bundle(
    signer: &dyn Signer,
    config: WriterConfig,
    records: &[Record],
) -> anyhow::Result<Vec<u8>> {
    let mut file = Vec::new();
    let sink = |sealed: &SealedBundle<'_>| -> std::io::Result<()> {
        file = sealed.to_vec();
        Ok(())
    };
    let mut writer = BundleWriter::new(signer, config, sink)?;
    for record in records {
        writer.push(record)?;
    }
    writer.finish()?;
    Ok(file)
}
