//! A store that already holds many approved filings, for the benchmarks that measure the inner
//! store at scale (the import of new filings beside what is there, one approval among
//! millions).
//!
//! [`preload`] writes, for each of N filings of [`super::filing()`], every row the import and
//! then the final approval leave behind, as if the filing had arrived in a bundle of
//! [`BUNDLE_FILINGS`] on channel [`CHANNEL`] and been approved by the authority account
//! [`REVIEWER`] some days later, the oldest years ago and the newest two days before the
//! bench's clock:
//! - from the import: the bundle's ledger row with its signed message (so each version reads
//!   back as the real one) and the transfer tool's chain row, the version row (outcome
//!   `applied`, with its domain and IP arrays), the receipt (now `approved`), the arrival's
//!   review event (awaiting the provider check: the owner filed without an access provider),
//!   its status change and the bundle's ack in the return queue;
//! - from passing the provider check: its review event and status change;
//! - from the approval (`inner::review::approve`): the filing with its number (serials per
//!   province and year, and the year's counter), the subject record, the website records with
//!   access, domains, IP ranges and home URLs, the current certificate (rendered and signed as
//!   `certificates::issue` does), the filing password's salted hash, the approval's review
//!   event naming the reviewer account, and the return queue's certificate, filing password
//!   (blanked, as once sent), register entry and status change;
//! - every return-queue row marked sent, as long since carried out.
//!
//! The rows go in with binary `COPY`, made by worker threads while the database loads the
//! previous chunk. The load takes shortcuts a live store never does, and says so: the
//! secondary indexes are dropped first and built again after the load (`CREATE INDEX`, the
//! same definitions), the per-statement reference triggers are not fired
//! (`session_replication_role = replica`, which needs a superuser, as the throwaway cluster's
//! is), and the sequences are set past the ids written. Then `VACUUM ANALYZE`, as autovacuum
//! would have done to a store that grew over years.
//!
//! The preloaded filings are numbered from the top of [`super::MAX_FILINGS`] down
//! ([`first_filing`]), so a bench's own new filings `0..` never share a receipt, a subject or
//! a domain with them.

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bundle_format::envelope;
use bundle_format::records::{
    CertificateRecord, FilingPassword, Record, RegisterEntry, RegisterWebsite, Submission,
    SubmissionVersion, wire_config,
};
use filing::electronic_certificate::{CertifiedWebsite, ElectronicCertificate};
use postgres::Client;
use sha2::Digest as _;

use crate::reviewers::{self, NewAccount, Role};
use crate::{certificates, filing_number, names};

/// Filings per preloaded bundle (as the round trip's export makes them).
pub const BUNDLE_FILINGS: usize = 50_000;

/// The submissions channel the preloaded filings came on.
pub const CHANNEL: u32 = 1;

/// The province of every preloaded filing ([`super::REGION_CODE`]'s).
pub const PROVINCE: i16 = 11;

/// The authority account (province 11) that approved the preloaded filings; the benches log
/// in as it to approve their own.
pub const REVIEWER: &str = "bench-authority";

/// The ministry account that created [`REVIEWER`].
pub const MINISTRY: &str = "bench-ministry";

/// The password of both accounts.
pub const PASSWORD: &str = "bench-审核员-2026";

/// Seconds between a preloaded filing's arrival and its approval.
const REVIEW_SECONDS: i64 = 7 * 86_400;

/// Changes whenever the rows [`preload`] writes change, so that a cached preloaded cluster
/// made by an older build is not taken for a current one.
pub const PRELOAD_FORMAT: u32 = 2;

/// The number, in [`super::filing()`]'s numbering, of the first of `n` preloaded filings.
pub fn first_filing(n: usize) -> usize {
    super::MAX_FILINGS.saturating_sub(n)
}

/// Why a preload failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PreloadError {
    /// The database refused a statement.
    #[error("{step}: {source}")]
    Database {
        /// What was being done.
        step: String,
        /// The database's error.
        #[source]
        source: postgres::Error,
    },
    /// Encoding a record, a bundle or a certificate failed, or the request cannot be met.
    #[error("{0}")]
    Make(String),
}

fn db(step: impl Into<String>) -> impl FnOnce(postgres::Error) -> PreloadError {
    let step = step.into();
    move |source| PreloadError::Database { step, source }
}

fn make(e: impl std::fmt::Display) -> PreloadError {
    PreloadError::Make(e.to_string())
}

/// What [`preload`] did, and how long each part took.
#[derive(Debug, Clone)]
pub struct Preloaded {
    /// Approved filings written.
    pub filings: usize,
    /// Bundles they came in (sequences `1..=bundles` of [`CHANNEL`], epoch 1): a bench's own
    /// bundle on that channel takes `bundles + 1`.
    pub bundles: u64,
    /// Rows written, all tables.
    pub rows: u64,
    /// Dropping the secondary indexes, making the rows and `COPY`ing them.
    pub load: Duration,
    /// Building the secondary indexes again.
    pub indexes: Duration,
    /// `VACUUM ANALYZE`.
    pub vacuum: Duration,
    /// The secondary indexes built after the load, by name.
    pub rebuilt_indexes: Vec<String>,
}

/// The tables the preload writes, with the columns it gives, in loading order.
const TABLES: [(&str, &str); 16] = [
    (
        "bundles",
        "bundle_id, channel, epoch, sequence, signer_key_id, created, imported_at, \
         submission_count, message",
    ),
    (
        "transfer_inbound",
        "bundle_id, channel, epoch, sequence, previous, kind, file_name, imported_at",
    ),
    (
        "filings",
        "filing_id, origin_receipt, province, status, filing_number, next_website_seq, \
         first_approved_at, last_approved_at",
    ),
    (
        "submission_versions",
        "receipt, version, content_hash, bundle_id, bundle_position, submitted_at, submitter, \
         access_provider, outcome, received_at, channel, kind, province, subject_key, domains, \
         ip_ranges, entry_state",
    ),
    (
        "receipts",
        "receipt, version, content_hash, kind, filing_id, province, state, state_since, \
         needs_pre_approval, submitted_at, submitter, access_provider, received_at",
    ),
    (
        "review_events",
        "event_id, receipt, version, from_state, to_state, reviewer, at, filing_number, \
         reviewer_account",
    ),
    (
        "return_queue",
        "kind, record, event_id, queued_at, sent_in, sent_at, destination",
    ),
    (
        "subject_records",
        "record_id, filing_id, receipt, status, name, nature, certificate_type, \
         certificate_number, region_code, address, investor, principal_name, \
         principal_certificate_type, principal_certificate_number, principal_mobile_phones, \
         principal_office_phones, principal_email",
    ),
    (
        "website_records",
        "record_id, filing_id, receipt, status, website_seq, name, service_types, \
         principal_name, principal_certificate_type, principal_certificate_number, \
         principal_mobile_phones, principal_office_phones, principal_email",
    ),
    (
        "website_access",
        "record_id, provider, method, server_region_code",
    ),
    ("website_domains", "record_id, filing_id, domain, active"),
    ("website_ips", "record_id, filing_id, ips, active"),
    ("website_home_urls", "record_id, url, active"),
    (
        "certificates",
        "certificate_id, filing_id, filing_number, receipt, issued_at, expires_at, status, \
         signer_key_id, document",
    ),
    (
        "filing_passwords",
        "filing_id, receipt, salt, hash, issued_at",
    ),
    ("filing_number_serials", "province, year, last_serial"),
];

fn table_index(name: &str) -> usize {
    TABLES.iter().position(|(t, _)| *t == name).unwrap_or(0)
}

/// Binary `COPY` data of one table (PostgreSQL's documented format: signature, flags and
/// header extension, then per row a field count and each field's length and bytes, then -1).
struct CopyData {
    bytes: Vec<u8>,
    rows: u64,
}

impl CopyData {
    fn new() -> CopyData {
        let mut bytes = Vec::with_capacity(1 << 16);
        bytes.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        bytes.extend_from_slice(&0i32.to_be_bytes());
        bytes.extend_from_slice(&0i32.to_be_bytes());
        CopyData { bytes, rows: 0 }
    }

    fn row(&mut self, fields: i16) -> &mut Self {
        self.rows += 1;
        self.bytes.extend_from_slice(&fields.to_be_bytes());
        self
    }

    fn field(&mut self, value: &[u8]) -> &mut Self {
        let len = i32::try_from(value.len()).unwrap_or(i32::MAX);
        self.bytes.extend_from_slice(&len.to_be_bytes());
        self.bytes.extend_from_slice(value);
        self
    }

    fn null(&mut self) -> &mut Self {
        self.bytes.extend_from_slice(&(-1i32).to_be_bytes());
        self
    }

    fn int8(&mut self, v: i64) -> &mut Self {
        self.field(&v.to_be_bytes())
    }

    fn int4(&mut self, v: i32) -> &mut Self {
        self.field(&v.to_be_bytes())
    }

    fn int2(&mut self, v: i16) -> &mut Self {
        self.field(&v.to_be_bytes())
    }

    fn boolean(&mut self, v: bool) -> &mut Self {
        self.field(&[u8::from(v)])
    }

    fn text(&mut self, v: &str) -> &mut Self {
        self.field(v.as_bytes())
    }

    fn opt_text(&mut self, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.text(v),
            None => self.null(),
        }
    }

    /// A one-dimensional `text[]` (element type oid 25), or the empty array.
    fn text_array<S: AsRef<str>>(&mut self, values: &[S]) -> &mut Self {
        const TEXT_OID: u32 = 25;
        let mut a =
            Vec::with_capacity(20 + values.iter().map(|v| 4 + v.as_ref().len()).sum::<usize>());
        let dims: i32 = if values.is_empty() { 0 } else { 1 };
        a.extend_from_slice(&dims.to_be_bytes());
        a.extend_from_slice(&0i32.to_be_bytes());
        a.extend_from_slice(&TEXT_OID.to_be_bytes());
        if !values.is_empty() {
            let n = i32::try_from(values.len()).unwrap_or(i32::MAX);
            a.extend_from_slice(&n.to_be_bytes());
            a.extend_from_slice(&1i32.to_be_bytes());
            for v in values {
                let v = v.as_ref().as_bytes();
                a.extend_from_slice(&i32::try_from(v.len()).unwrap_or(i32::MAX).to_be_bytes());
                a.extend_from_slice(v);
            }
        }
        self.field(&a)
    }

    /// An `inetrange` with both bounds included: range flags, then each bound as `inet`
    /// (family, prefix bits, is-cidr, address length, address).
    fn inet_range(&mut self, first: IpAddr, last: IpAddr) -> &mut Self {
        const LOWER_INCLUSIVE: u8 = 0x02;
        const UPPER_INCLUSIVE: u8 = 0x04;
        fn inet(out: &mut Vec<u8>, ip: IpAddr) {
            let (family, bits, address): (u8, u8, Vec<u8>) = match ip {
                IpAddr::V4(v4) => (2, 32, v4.octets().to_vec()),
                IpAddr::V6(v6) => (3, 128, v6.octets().to_vec()),
            };
            let len = i32::try_from(4 + address.len()).unwrap_or(0);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&[family, bits, 0, u8::try_from(address.len()).unwrap_or(0)]);
            out.extend_from_slice(&address);
        }
        let mut r = vec![LOWER_INCLUSIVE | UPPER_INCLUSIVE];
        inet(&mut r, first);
        inet(&mut r, last);
        self.field(&r)
    }

    fn finish(mut self) -> CopyData {
        self.bytes.extend_from_slice(&(-1i16).to_be_bytes());
        self
    }
}

/// Website records written for preloaded filings `0..k` (filing `k` has `1 + i % 3` websites,
/// `i` its number in [`super::filing()`]'s numbering).
fn websites_before(first: usize, k: usize) -> usize {
    // Sum of j % 3 for j in 0..x.
    let f = |x: usize| 3 * (x / 3) + usize::from(x % 3 == 2);
    k + f(first + k) - f(first)
}

/// Everything fixed for one preload.
struct Plan<'a> {
    n: usize,
    first: usize,
    calendar: Calendar,
    reviewer_account: i64,
    signer: &'a (dyn keys::Signer + Sync),
}

/// One bundle of preloaded filings: its id, signed message and the rows that carry it.
struct BundlePlan {
    id: [u8; 32],
    imported_at: i64,
}

impl Plan<'_> {
    fn bundle_of(&self, k: usize) -> usize {
        k / BUNDLE_FILINGS
    }

    /// The time bundle `b` was imported: a review period before its first filing's approval.
    fn imported_at(&self, b: usize) -> i64 {
        self.calendar.approved_at(b * BUNDLE_FILINGS) - REVIEW_SECONDS
    }

    fn version(&self, k: usize) -> SubmissionVersion {
        super::filing(self.first + k, self.imported_at(self.bundle_of(k)))
    }

    /// Bundle `b`'s signed message (header and zstd frame) and its ledger rows.
    fn make_bundle(&self, b: usize, out: &mut [CopyData]) -> Result<BundlePlan, PreloadError> {
        let from = b * BUNDLE_FILINGS;
        let to = (from + BUNDLE_FILINGS).min(self.n);
        let versions: Vec<SubmissionVersion> = (from..to).map(|k| self.version(k)).collect();
        let imported_at = self.imported_at(b);
        let sequence = u64::try_from(b).unwrap_or(0) + 1;
        let message =
            crate::testing::submissions_message(CHANNEL, 1, sequence, imported_at - 600, &versions)
                .map_err(make)?;
        let id = bundle_format::BundleId::of_message(&message).0;
        let previous = if b == 0 {
            [0u8; 32]
        } else {
            // The chain row names the bundle before; the message's own link is arbitrary
            // (see `submissions_message`), which nothing here reads.
            [1u8; 32]
        };
        out[table_index("bundles")]
            .row(9)
            .field(&id)
            .int8(i64::from(CHANNEL))
            .int8(1)
            .int8(i64::try_from(sequence).unwrap_or(0))
            .field(b"benchkey")
            .int8(imported_at - 600)
            .int8(imported_at)
            .int4(i32::try_from(versions.len()).unwrap_or(0))
            .field(&message);
        out[table_index("transfer_inbound")]
            .row(8)
            .field(&id)
            .int8(i64::from(CHANNEL))
            .int8(1)
            .int8(i64::try_from(sequence).unwrap_or(0))
            .field(&previous)
            .text("submissions")
            .text(&format!("bundle-{sequence:08}.sluice"))
            .int8(imported_at);
        let ack = super::applied_arrival((id, CHANNEL, sequence), versions.iter(), imported_at);
        let ack = bincode::encode_to_vec(&ack, wire_config()).map_err(make)?;
        queue_row(
            &mut out[table_index("return_queue")],
            "ack",
            Some(&ack),
            None,
            imported_at,
        );
        Ok(BundlePlan { id, imported_at })
    }

    /// Every row of preloaded filing `k`, in bundle `bundle`.
    fn make_filing(
        &self,
        k: usize,
        bundle: &BundlePlan,
        out: &mut [CopyData],
    ) -> Result<(), PreloadError> {
        let version = self.version(k);
        let Submission::NewFiling(filing) = &version.body else {
            return Err(make("the bench's filings are all new filings"));
        };
        let filing_id = i64::try_from(k).unwrap_or(0) + 1;
        let approved_at = self.calendar.approved_at(k);
        let number = self.calendar.filing_number(k);
        let receipt = version.receipt.as_str();
        let version_no = i64::from(version.version);
        let hash = &version.content_hash[..];
        let position = k - self.bundle_of(k) * BUNDLE_FILINGS;
        let n = i64::try_from(self.n).unwrap_or(0);
        // A new filing from its owner (no access provider) enters awaiting the provider
        // check (recorded on its version row: inner migration 19), passes it, and is
        // approved at the regional review: two events.
        let check_event = filing_id;
        let approval_event = n + filing_id;
        let checked_at = bundle.imported_at + (approved_at - bundle.imported_at) / 2;
        let subject = &filing.subject;
        let p = &subject.principal;

        let (domains, ip_ranges) = super::version_arrays(filing);

        out[table_index("filings")]
            .row(8)
            .int8(filing_id)
            .text(receipt)
            .int2(PROVINCE)
            .text("active")
            .text(&number)
            .int4(i32::try_from(filing.websites.len() + 1).unwrap_or(1))
            .int8(approved_at)
            .int8(approved_at);
        out[table_index("submission_versions")]
            .row(17)
            .text(receipt)
            .int8(version_no)
            .field(hash)
            .field(&bundle.id)
            .int4(i32::try_from(position).unwrap_or(0))
            .int8(version.submitted_at)
            .text(&version.submitter)
            .opt_text(version.access_provider.as_deref())
            .text("applied")
            .int8(bundle.imported_at)
            .int8(i64::from(CHANNEL))
            .text("new-filing")
            .int2(PROVINCE)
            .text(&subject.certificate_number)
            .text_array(&domains)
            .text_array(&ip_ranges)
            .text("awaiting-provider-check");
        out[table_index("receipts")]
            .row(13)
            .text(receipt)
            .int8(version_no)
            .field(hash)
            .text("new-filing")
            .int8(filing_id)
            .int2(PROVINCE)
            .text("approved")
            .int8(approved_at)
            .boolean(false)
            .int8(version.submitted_at)
            .text(&version.submitter)
            .opt_text(version.access_provider.as_deref())
            .int8(bundle.imported_at);
        let events = &mut out[table_index("review_events")];
        events
            .row(9)
            .int8(check_event)
            .text(receipt)
            .int8(version_no)
            .text("awaiting-provider-check")
            .text("awaiting-regional-review")
            .text(REVIEWER)
            .int8(checked_at)
            .null()
            .int8(self.reviewer_account);
        events
            .row(9)
            .int8(approval_event)
            .text(receipt)
            .int8(version_no)
            .text("awaiting-regional-review")
            .text("approved")
            .text(REVIEWER)
            .int8(approved_at)
            .text(&number)
            .int8(self.reviewer_account);

        let region = i32::try_from(subject.region_code).unwrap_or(0);
        out[table_index("subject_records")]
            .row(17)
            .int8(filing_id)
            .int8(filing_id)
            .text(receipt)
            .text("active")
            .text(&subject.name)
            .text(names::nature(subject.nature))
            .text(names::certificate_type(subject.certificate_type))
            .text(&subject.certificate_number)
            .int4(region)
            .text(&subject.address)
            .text(&subject.investor)
            .text(&p.name)
            .text(names::certificate_type(p.certificate_type))
            .text(&p.certificate_number)
            .text_array(&p.mobile_phones)
            .text_array(&p.office_phones)
            .text(&p.email);

        let first_record = websites_before(self.first, k) + 1;
        let mut certified = Vec::with_capacity(filing.websites.len());
        for (w, website) in filing.websites.iter().enumerate() {
            let record_id = i64::try_from(first_record + w).unwrap_or(0);
            let seq = i32::try_from(w + 1).unwrap_or(1);
            let wp = &website.principal;
            let services: Vec<&str> = website
                .service_types
                .iter()
                .map(|s| names::service_type(*s))
                .collect();
            out[table_index("website_records")]
                .row(13)
                .int8(record_id)
                .int8(filing_id)
                .text(receipt)
                .text("active")
                .int4(seq)
                .text(&website.name)
                .text_array(&services)
                .text(&wp.name)
                .text(names::certificate_type(wp.certificate_type))
                .text(&wp.certificate_number)
                .text_array(&wp.mobile_phones)
                .text_array(&wp.office_phones)
                .text(&wp.email);
            out[table_index("website_access")]
                .row(4)
                .int8(record_id)
                .text(&website.access.provider)
                .text(names::access_method(website.access.method))
                .int4(i32::try_from(website.access.server_region_code).unwrap_or(0));
            let mut site_domains: Vec<String> = website
                .domains
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .collect();
            for domain in &site_domains {
                out[table_index("website_domains")]
                    .row(4)
                    .int8(record_id)
                    .int8(filing_id)
                    .text(domain)
                    .boolean(true);
            }
            for range in &website.access.ip_ranges {
                out[table_index("website_ips")]
                    .row(4)
                    .int8(record_id)
                    .int8(filing_id)
                    .inet_range(range.first, range.last)
                    .boolean(true);
            }
            for url in &website.home_urls {
                out[table_index("website_home_urls")]
                    .row(3)
                    .int8(record_id)
                    .text(url)
                    .boolean(true);
            }
            site_domains.sort_unstable();
            certified.push(CertifiedWebsite {
                number: filing_number::website_number(&number, seq),
                name: website.name.clone(),
                domains: site_domains,
            });
        }

        // The certificate, as `certificates::issue` makes it.
        let certificate_id = filing_id;
        let expires_at = approved_at.saturating_add(certificates::VALIDITY_SECONDS);
        let register_websites: Vec<RegisterWebsite> = certified
            .iter()
            .map(|w| RegisterWebsite {
                website_number: w.number.clone(),
                name: w.name.clone(),
                domains: w.domains.clone(),
            })
            .collect();
        let text = ElectronicCertificate {
            serial: certificate_id,
            filing_number: number.clone(),
            subject: subject.name.clone(),
            websites: certified,
            issued: approved_at,
            expires: expires_at,
        }
        .render();
        let document =
            envelope::seal(self.signer, certificates::COMMENT, text.as_bytes()).map_err(make)?;
        out[table_index("certificates")]
            .row(9)
            .int8(certificate_id)
            .int8(filing_id)
            .text(&number)
            .text(receipt)
            .int8(approved_at)
            .int8(expires_at)
            .text("current")
            .field(&self.signer.key_id().0)
            .field(&document);

        // The filing password: its salted hash (a password of the filing's own, never shown).
        let seed = sha2::Sha256::digest(format!("preloaded filing password {filing_id}"));
        let mut random = [0u8; filing::password::RANDOM_BYTES];
        random.copy_from_slice(&seed[..filing::password::RANDOM_BYTES]);
        let mut salt = [0u8; filing::password::SALT_BYTES];
        salt.copy_from_slice(&seed[16..16 + filing::password::SALT_BYTES]);
        let password_hash = filing::password::FilingPassword::from_random(random).hash(&salt);
        out[table_index("filing_passwords")]
            .row(5)
            .int8(filing_id)
            .text(receipt)
            .field(&salt)
            .field(&password_hash)
            .int8(approved_at);

        // The return queue, in the order the approval queues it.
        let encode = |record: Record| bincode::encode_to_vec(&record, wire_config()).map_err(make);
        let queue = &mut out[table_index("return_queue")];
        queue_row(queue, "status-change", None, Some(check_event), checked_at);
        let certificate = encode(Record::Certificate(CertificateRecord {
            filing_number: number.clone(),
            receipt: receipt.to_owned(),
            issued_at: approved_at,
            expires_at,
            supersedes: None,
            document,
        }))?;
        queue_row(queue, "certificate", Some(&certificate), None, approved_at);
        let password = encode(Record::FilingPassword(FilingPassword {
            filing_number: number.clone(),
            receipt: receipt.to_owned(),
            issued_at: approved_at,
            password: String::new(),
        }))?;
        queue_row(queue, "filing-password", Some(&password), None, approved_at);
        let entry = encode(Record::RegisterEntry(RegisterEntry {
            event: u64::try_from(filing_id).unwrap_or(0),
            filing_number: number.clone(),
            subject_name: subject.name.clone(),
            subject_nature: names::nature(subject.nature).to_owned(),
            websites: register_websites,
            approved_at,
        }))?;
        queue_row(queue, "register-entry", Some(&entry), None, approved_at);
        queue_row(
            queue,
            "status-change",
            None,
            Some(approval_event),
            approved_at,
        );
        Ok(())
    }

    /// Every row of bundle `b` and its filings, by table in [`TABLES`] order.
    fn make_chunk(&self, b: usize) -> Result<Vec<CopyData>, PreloadError> {
        let mut out: Vec<CopyData> = TABLES.iter().map(|_| CopyData::new()).collect();
        let bundle = self.make_bundle(b, &mut out)?;
        let from = b * BUNDLE_FILINGS;
        for k in from..(from + BUNDLE_FILINGS).min(self.n) {
            self.make_filing(k, &bundle, &mut out)?;
        }
        Ok(out.into_iter().map(CopyData::finish).collect())
    }
}

/// Marks a queue row as long since carried out: sent in a return bundle an hour after it was
/// queued.
fn queue_row(
    queue: &mut CopyData,
    kind: &str,
    record: Option<&[u8]>,
    event_id: Option<i64>,
    queued_at: i64,
) {
    let sent_in = sha2::Sha256::digest(format!("return bundle of {}", queued_at / 3600));
    queue.row(7).text(kind);
    match record {
        Some(record) => queue.field(record),
        None => queue.null(),
    };
    match event_id {
        Some(id) => queue.int8(id),
        None => queue.null(),
    };
    queue
        .int8(queued_at)
        .field(&sent_in)
        .int8(queued_at + 3600)
        .int8(i64::from(CHANNEL));
}

/// Creates the bench's reviewer accounts ([`MINISTRY`], and [`REVIEWER`] for province 11) and
/// returns the authority's account id.
fn reviewer_accounts(client: &mut Client, now: i64) -> Result<i64, PreloadError> {
    let ministry = reviewers::bootstrap_ministry(client, MINISTRY, PASSWORD, now)
        .map_err(|e| make(format!("creating {MINISTRY}: {e}")))?;
    let authority = NewAccount {
        name: REVIEWER,
        role: Role::Authority,
        province: Some(PROVINCE),
        service_types: Vec::new(),
        password: PASSWORD,
    };
    reviewers::create(client, &ministry, &authority, now)
        .map_err(|e| make(format!("creating {REVIEWER}: {e}")))?;
    let row = client
        .query_one(
            "SELECT account_id FROM reviewer_accounts WHERE name = $1",
            &[&REVIEWER],
        )
        .map_err(db("reading the reviewer account"))?;
    Ok(row.get(0))
}

/// Writes `n` approved filings into `client`'s database (the inner store's schema, migrated
/// and empty) as described in the module documentation; `signer` signs their certificates and
/// `now` is the bench's clock (the newest approval is two days before it). `workers` threads
/// make rows while the database loads; `progress` hears of each step.
pub fn preload(
    client: &mut Client,
    n: usize,
    now: i64,
    signer: &(dyn keys::Signer + Sync),
    workers: usize,
    progress: &mut dyn FnMut(&str),
) -> Result<Preloaded, PreloadError> {
    if n > super::MAX_FILINGS / 2 {
        return Err(make(format!(
            "at most {} filings can be preloaded",
            super::MAX_FILINGS / 2
        )));
    }
    let started = Instant::now();
    let reviewer_account = reviewer_accounts(client, now)?;
    let names: Vec<&str> = TABLES.iter().map(|(t, _)| *t).collect();
    let indexes: Vec<(String, String)> = client
        .query(
            "SELECT c.relname::text, pg_get_indexdef(i.indexrelid)
             FROM pg_index i
             JOIN pg_class c ON c.oid = i.indexrelid
             JOIN pg_class t ON t.oid = i.indrelid
             WHERE t.relnamespace = 'public'::regnamespace AND t.relname = ANY($1)
               AND NOT EXISTS (SELECT 1 FROM pg_constraint k
                               WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))
             ORDER BY c.relname",
            &[&names],
        )
        .map_err(db("listing the secondary indexes"))?
        .into_iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    for (name, _) in &indexes {
        client
            .batch_execute(&format!("DROP INDEX {name}"))
            .map_err(db(format!("dropping index {name}")))?;
    }
    client
        .batch_execute("SET session_replication_role = replica; SET maintenance_work_mem = '512MB'")
        .map_err(db("setting up the loading session"))?;

    let plan = Plan {
        n,
        first: first_filing(n),
        calendar: Calendar::new(n, now),
        reviewer_account,
        signer,
    };
    // A worker makes a bundle's rows at a time; the database loads each in one transaction.
    let bundles = n.div_ceil(BUNDLE_FILINGS);
    let next = AtomicUsize::new(0);
    let workers = workers.max(1);
    let mut rows = 0u64;
    let mut loaded = 0usize;
    std::thread::scope(|scope| -> Result<(), PreloadError> {
        let (sender, receiver) =
            std::sync::mpsc::sync_channel::<Result<(usize, Vec<CopyData>), PreloadError>>(workers);
        for _ in 0..workers {
            let sender = sender.clone();
            let (plan, next) = (&plan, &next);
            scope.spawn(move || {
                loop {
                    let b = next.fetch_add(1, Ordering::Relaxed);
                    if b >= bundles {
                        break;
                    }
                    let count = ((b + 1) * BUNDLE_FILINGS).min(n) - b * BUNDLE_FILINGS;
                    let made = plan.make_chunk(b).map(|data| (count, data));
                    let failed = made.is_err();
                    if sender.send(made).is_err() || failed {
                        break;
                    }
                }
            });
        }
        drop(sender);
        let mut last_report = Instant::now();
        for made in receiver {
            let (count, data) = match made {
                Ok(made) => made,
                Err(e) => {
                    // Stop the other workers: nothing more is taken.
                    next.store(usize::MAX / 2, Ordering::Relaxed);
                    return Err(e);
                }
            };
            let mut tx = client.transaction().map_err(db("beginning a chunk"))?;
            for ((table, columns), data) in TABLES.iter().zip(&data) {
                if data.rows == 0 {
                    continue;
                }
                let mut writer = tx
                    .copy_in(&format!(
                        "COPY {table} ({columns}) FROM STDIN (FORMAT binary)"
                    ))
                    .map_err(db(format!("loading {table}")))?;
                std::io::Write::write_all(&mut writer, &data.bytes)
                    .map_err(|e| make(format!("loading {table}: {e}")))?;
                writer.finish().map_err(db(format!("loading {table}")))?;
                rows += data.rows;
            }
            tx.commit().map_err(db("committing a chunk"))?;
            loaded += count;
            if last_report.elapsed() > Duration::from_secs(30) || loaded == n {
                last_report = Instant::now();
                progress(&format!(
                    "preload: {loaded} of {n} filings, {rows} rows, {:.0} s",
                    started.elapsed().as_secs_f64()
                ));
            }
        }
        Ok(())
    })?;

    // What the approvals left besides their rows: the year's serial counters, the sequences.
    let mut tx = client.transaction().map_err(db("beginning the counters"))?;
    for (year, last) in plan.calendar.serials() {
        tx.execute(
            "INSERT INTO filing_number_serials (province, year, last_serial) VALUES ($1, $2, $3)",
            &[&PROVINCE, &year, &last],
        )
        .map_err(db("writing the serial counters"))?;
        rows += 1;
    }
    tx.batch_execute(
        "SELECT setval('filings_filing_id_seq', greatest(1, (SELECT max(filing_id) FROM filings)));
         SELECT setval('subject_records_record_id_seq', greatest(1, (SELECT max(record_id) FROM subject_records)));
         SELECT setval('website_records_record_id_seq', greatest(1, (SELECT max(record_id) FROM website_records)));
         SELECT setval('certificates_certificate_id_seq', greatest(1, (SELECT max(certificate_id) FROM certificates)));
         SELECT setval('review_events_event_id_seq', greatest(1, (SELECT max(event_id) FROM review_events)));
         SELECT setval('register_events', greatest(1, (SELECT count(*) FROM filings)));",
    )
    .map_err(db("setting the sequences"))?;
    tx.commit().map_err(db("committing the counters"))?;
    let load = started.elapsed();

    progress(&format!(
        "preload: {rows} rows in {:.0} s; building {} indexes",
        load.as_secs_f64(),
        indexes.len()
    ));
    let indexes_started = Instant::now();
    for (name, definition) in &indexes {
        client
            .batch_execute(definition)
            .map_err(db(format!("building index {name}")))?;
    }
    client
        .batch_execute("RESET session_replication_role")
        .map_err(db("ending the loading session"))?;
    let index_time = indexes_started.elapsed();
    progress(&format!(
        "preload: indexes built in {:.0} s; VACUUM ANALYZE",
        index_time.as_secs_f64()
    ));
    let vacuum_started = Instant::now();
    client
        .batch_execute("VACUUM ANALYZE")
        .map_err(db("VACUUM ANALYZE"))?;
    Ok(Preloaded {
        filings: n,
        bundles: u64::try_from(n.div_ceil(BUNDLE_FILINGS)).unwrap_or(0),
        rows,
        load,
        indexes: index_time,
        vacuum: vacuum_started.elapsed(),
        rebuilt_indexes: indexes.into_iter().map(|(name, _)| name).collect(),
    })
}

mod cache;
mod calendar;
pub use cache::{PreloadedStore, cache_key, preloaded_store};
use calendar::Calendar;
