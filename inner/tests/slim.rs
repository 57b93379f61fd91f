//! Pending filings stored slim (migration 5): the import keeps the bundle's message and one row
//! per version; reviewers read a pending filing from its stored bundle; approval writes the
//! normalised rows in its own transaction; the competitor check sees pending and approved
//! filings; a store written by the import before migration 5 is carried forward.

mod common;

use bundle_format::records::wire_config;
use common::*;
use inner::review;
use inner::schema::MIGRATIONS;
use testkit::pg::TestDatabase;

/// The normalised tables, which hold approved filings only.
const NORMALISED: [&str; 8] = [
    "subject_records",
    "website_records",
    "website_access",
    "website_domains",
    "website_ips",
    "website_home_urls",
    "website_pre_approvals",
    "filings",
];

fn normalised_rows(db: &TestDatabase) -> i64 {
    NORMALISED.iter().map(|table| rows_in(db, table)).sum()
}

/// A website as shown: number, name, status, domains, IP ranges, access provider.
type ShownWebsite<'a> = (
    Option<i32>,
    &'a str,
    &'a str,
    Vec<&'a str>,
    Vec<&'a str>,
    Option<&'a str>,
);

fn conflicts_of(db: &TestDatabase, receipt: &str) -> Vec<(String, String, String)> {
    show(db, receipt)
        .conflicts
        .into_iter()
        .map(|c| (c.kind, c.value, c.other))
        .collect()
}

fn conflict(kind: &str, value: &str, other: &str) -> (String, String, String) {
    (kind.to_owned(), value.to_owned(), other.to_owned())
}

#[test]
fn a_pending_filing_is_read_by_reviewers_from_its_stored_bundle() {
    let db = TestDatabase::with_schema().expect("db");
    let filing = first_version(
        "R1",
        "北京甲科技有限公司",
        "91110108MA00000001",
        110_108,
        vec![
            website("甲官网", &["jia.example.cn", "WWW.jia.example.cn"], 1),
            website("甲商城", &["shop.jia.example.cn"], 2),
        ],
    );
    apply_at(
        &db,
        1,
        &[
            one_site_filing("R0", "乙公司", "C2", "乙网", &["yi.example.cn"], 9),
            filing,
        ],
    );
    assert_eq!(
        normalised_rows(&db),
        0,
        "nothing is normalised before approval"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM submission_versions WHERE encoded IS NOT NULL"
        ),
        0,
        "no second copy of a version: it lies in the stored bundle"
    );
    let view = show(&db, "R1");
    assert_eq!(view.entry.kind, "new-filing");
    assert_eq!(view.entry.state, "awaiting-regional-review");
    assert_eq!(view.organiser.as_deref(), Some("北京甲科技有限公司"));
    let websites: Vec<ShownWebsite<'_>> = view
        .websites
        .iter()
        .map(|w| {
            (
                w.website_seq,
                w.name.as_str(),
                w.status.as_str(),
                w.domains.iter().map(String::as_str).collect(),
                w.ip_ranges.iter().map(String::as_str).collect(),
                w.provider.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        websites,
        [
            (
                None,
                "甲官网",
                "pending",
                vec!["jia.example.cn", "www.jia.example.cn"],
                vec!["203.0.113.1-203.0.113.1"],
                Some(testkit::records::ACCESS_PROVIDER)
            ),
            (
                None,
                "甲商城",
                "pending",
                vec!["shop.jia.example.cn"],
                vec!["203.0.113.2-203.0.113.2"],
                Some(testkit::records::ACCESS_PROVIDER)
            ),
        ]
    );
    // The second record of the bundle is the one read.
    assert_eq!(
        count(
            &db,
            "SELECT bundle_position::bigint FROM submission_versions WHERE receipt = 'R1'"
        ),
        1
    );
    // Once approved, the same facts come from the normalised rows.
    let number = approve(&db, "R1").filing_number.expect("number");
    let approved = show(&db, "R1");
    assert_eq!(approved.organiser, view.organiser);
    assert_eq!(
        approved.entry.filing_number.as_deref(),
        Some(number.as_str())
    );
    let domains: Vec<(Option<i32>, Vec<String>, String)> = approved
        .websites
        .iter()
        .map(|w| (w.website_seq, w.domains.clone(), w.status.clone()))
        .collect();
    assert_eq!(
        domains,
        [
            (
                Some(1),
                vec!["jia.example.cn".to_owned(), "www.jia.example.cn".to_owned()],
                "active".to_owned()
            ),
            (
                Some(2),
                vec!["shop.jia.example.cn".to_owned()],
                "active".to_owned()
            ),
        ]
    );
}

#[test]
fn approval_writes_the_normalised_rows_in_its_own_transaction() {
    let db = with_jia_filing(&["jia.example.cn", "www.jia.example.cn"]);
    let key = signer();
    let mut client = db.connect().unwrap();
    let mut tx = client.transaction().unwrap();
    let decision = review::approve(&mut tx, "R1", &ministry(&db), None, &key, NOW).unwrap();
    assert!(decision.filing_number.is_some());
    // Not visible to anyone else before the approval commits.
    assert_eq!(normalised_rows(&db), 0);
    tx.commit().unwrap();
    for (table, rows) in [
        ("filings WHERE status = 'active'", 1),
        ("subject_records WHERE status = 'active'", 1),
        (
            "website_records WHERE status = 'active' AND website_seq = 1",
            1,
        ),
        ("website_access", 1),
        ("website_domains WHERE active", 2),
        ("website_ips WHERE active", 1),
        ("website_home_urls WHERE active", 2),
    ] {
        assert_eq!(rows_in(&db, table), rows, "{table}");
    }
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM receipts r JOIN filings f USING (filing_id) WHERE r.receipt = 'R1'"
        ),
        1,
        "the receipt names the filing its approval made"
    );
}

#[test]
fn an_approval_that_fails_leaves_no_normalised_rows() {
    let db = TestDatabase::with_schema().expect("db");
    apply_at(
        &db,
        1,
        &[
            jia_filing(1, &["jia.example.cn"], 1),
            one_site_filing(
                "R2",
                "乙公司",
                "C2",
                "乙网",
                &["yi.example.cn", "jia.example.cn"],
                2,
            ),
        ],
    );
    let key = signer();
    let mut client = db.connect().unwrap();
    // A failure after the rows are written: queueing the certificate is refused.
    client
        .batch_execute(
            "ALTER TABLE return_queue ADD CONSTRAINT injected_fault CHECK (kind <> 'certificate')",
        )
        .unwrap();
    {
        let mut tx = client.transaction().unwrap();
        let error = approval_refused(&mut tx, &db, "R1", &key);
        assert!(error.to_string().contains("injected_fault"), "{error}");
        tx.rollback().unwrap();
    }
    assert_eq!(normalised_rows(&db), 0, "a failed approval leaves nothing");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM receipts WHERE state = 'awaiting-regional-review'"
        ),
        2
    );
    client
        .batch_execute("ALTER TABLE return_queue DROP CONSTRAINT injected_fault")
        .unwrap();
    approve(&db, "R1");
    let written = normalised_rows(&db);
    // A failure before any row is written: the other pending filing's domain is filed now.
    {
        let mut tx = client.transaction().unwrap();
        let error = approval_refused(&mut tx, &db, "R2", &key);
        assert!(
            matches!(error, review::ReviewError::DomainConflict { ref domain, .. } if domain == "jia.example.cn"),
            "{error}"
        );
        tx.rollback().unwrap();
    }
    assert_eq!(normalised_rows(&db), written);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM website_records WHERE receipt = 'R2'"
        ),
        0
    );
}

#[test]
fn conflicts_between_pending_and_approved_filings_and_between_pending_ones_are_found() {
    let db = TestDatabase::with_schema().expect("db");
    apply_at(&db, 1, &[jia_filing(1, &["jia.example.cn"], 5)]);
    let number = approve(&db, "R1").filing_number.expect("number");
    apply_at(
        &db,
        2,
        &[
            // Pending, against the approved R1: its domain and its address.
            one_site_filing(
                "R2",
                "乙公司",
                "C2",
                "乙网",
                &["jia.example.cn", "yi.example.cn"],
                5,
            ),
            // Pending, against the pending R2.
            one_site_filing("R3", "丙公司", "C3", "丙网", &["YI.example.cn"], 7),
        ],
    );
    assert_eq!(
        conflicts_of(&db, "R2"),
        [
            conflict("domain-filed-elsewhere", "jia.example.cn", &number),
            conflict("domain-pending-elsewhere", "yi.example.cn", "R3"),
            conflict(
                "ip-filed-by-unrelated-subject",
                "203.0.113.5-203.0.113.5",
                &number
            ),
        ]
    );
    assert_eq!(
        conflicts_of(&db, "R3"),
        [conflict("domain-pending-elsewhere", "yi.example.cn", "R2")]
    );
    // From the approved filing's side, the pending one that wants its domain.
    assert_eq!(
        conflicts_of(&db, "R1"),
        [conflict("domain-pending-elsewhere", "jia.example.cn", "R2")]
    );
    // A change of the filing itself is no competitor of its own website.
    apply_at(
        &db,
        3,
        &[version(
            "R4",
            1,
            bundle_format::records::Submission::Change {
                filing_number: number.clone(),
                change: bundle_format::records::Change::Website {
                    website_number: format!("{number}-1"),
                    website: website("甲网", &["jia.example.cn", "m.jia.example.cn"], 5),
                },
            },
        )],
    );
    assert_eq!(
        conflicts_of(&db, "R4"),
        [conflict("domain-pending-elsewhere", "jia.example.cn", "R2")]
    );
    // Once R2 is rejected it competes with nobody.
    let mut client = db.connect().unwrap();
    let mut tx = client.transaction().unwrap();
    review::reject(&mut tx, "R2", &ministry(&db), "域名已备案", NOW).unwrap();
    tx.commit().unwrap();
    assert!(conflicts_of(&db, "R3").is_empty());
    assert!(conflicts_of(&db, "R1").is_empty());
    assert_eq!(
        shown_websites(&db, "R2"),
        [(
            "discarded".to_owned(),
            vec!["jia.example.cn".to_owned(), "yi.example.cn".to_owned()]
        )]
    );
}

/// A store at migration 4 holding what the import wrote before migration 5 for pending new
/// filings: a pending filing, subject record, website records with access, domains and IP
/// ranges, and the version's own encoding; `versions` with their receipts awaiting regional
/// review. Built with the SQL that import ran.
fn store_before_migration_5(
    versions: &[bundle_format::records::SubmissionVersion],
) -> TestDatabase {
    let db = TestDatabase::new().expect("db");
    let mut client = db.connect().unwrap();
    client
        .batch_execute(
            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
                 checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .unwrap();
    for migration in MIGRATIONS.iter().filter(|m| m.version <= 4) {
        client.batch_execute(migration.sql).unwrap();
        client
            .execute(
                "INSERT INTO schema_migrations (version, name, checksum)
                 VALUES ($1, $2, encode(sha256(convert_to($3, 'UTF8')), 'hex'))",
                &[&migration.version, &migration.name, &migration.sql],
            )
            .unwrap();
    }
    let bundle_id = vec![0xab_u8; 32];
    client
        .execute(
            "INSERT INTO bundles (bundle_id, channel, epoch, sequence, signer_key_id, created,
                 imported_at, submission_count)
             VALUES ($1, 7, 1, 1, 'outerkey', $2, $2, $3)",
            &[&bundle_id, &NOW, &i32::try_from(versions.len()).unwrap()],
        )
        .unwrap();
    for (position, version) in versions.iter().enumerate() {
        let bundle_format::records::Submission::NewFiling(filing) = &version.body else {
            panic!("new filings only");
        };
        let encoded = bincode::encode_to_vec(version, wire_config()).unwrap();
        let receipt = version.receipt.as_str();
        let filing_id: i64 = client
            .query_one(
                "INSERT INTO filings (origin_receipt, province, status) VALUES ($1, 11, 'pending')
                 RETURNING filing_id",
                &[&receipt],
            )
            .unwrap()
            .get(0);
        let subject = &filing.subject;
        client
            .execute(
                "INSERT INTO subject_records (filing_id, receipt, status, name, nature,
                     certificate_type, certificate_number, region_code, address, investor,
                     principal_name, principal_certificate_type, principal_certificate_number,
                     principal_mobile_phones, principal_office_phones, principal_email)
                 VALUES ($1, $2, 'pending', $3, 'enterprise', 'unified-social-credit-code', $4,
                     110108, $5, $6, 'p', 'resident-id', 'x', '{}', '{}', 'e')",
                &[
                    &filing_id,
                    &receipt,
                    &subject.name,
                    &subject.certificate_number,
                    &subject.address,
                    &subject.investor,
                ],
            )
            .unwrap();
        for website in &filing.websites {
            let record_id: i64 = client
                .query_one(
                    "INSERT INTO website_records (filing_id, receipt, status, name, service_types,
                         principal_name, principal_certificate_type,
                         principal_certificate_number, principal_mobile_phones,
                         principal_office_phones, principal_email)
                     VALUES ($1, $2, 'pending', $3, '{showcase}', 'p', 'resident-id', 'x', '{}',
                         '{}', 'e')
                     RETURNING record_id",
                    &[&filing_id, &receipt, &website.name],
                )
                .unwrap()
                .get(0);
            let access = &website.access;
            client
                .execute(
                    "INSERT INTO website_access (record_id, provider, method, server_region_code)
                     VALUES ($1, $2, 'cloud', 110108)",
                    &[&record_id, &access.provider],
                )
                .unwrap();
            for domain in &website.domains {
                client
                    .execute(
                        "INSERT INTO website_domains (record_id, filing_id, domain) VALUES ($1, $2, $3)",
                        &[&record_id, &filing_id, &domain.to_ascii_lowercase()],
                    )
                    .unwrap();
            }
            for range in &access.ip_ranges {
                client
                    .execute(
                        "INSERT INTO website_ips (record_id, filing_id, ips)
                         VALUES ($1, $2, inetrange($3, $4, '[]'))",
                        &[&record_id, &filing_id, &range.first, &range.last],
                    )
                    .unwrap();
            }
            for url in &website.home_urls {
                client
                    .execute(
                        "INSERT INTO website_home_urls (record_id, url) VALUES ($1, $2)",
                        &[&record_id, url],
                    )
                    .unwrap();
            }
        }
        let hash: &[u8] = &version.content_hash;
        let position = i32::try_from(position).unwrap();
        client
            .execute(
                "INSERT INTO submission_versions (receipt, version, content_hash, bundle_id,
                     bundle_position, submitted_at, submitter, encoded, outcome, received_at)
                 VALUES ($1, 1, $2, $3, $4, $5, $6, $7, 'applied', $5)",
                &[
                    &receipt,
                    &hash,
                    &bundle_id,
                    &position,
                    &NOW,
                    &version.submitter,
                    &encoded,
                ],
            )
            .unwrap();
        client
            .execute(
                "INSERT INTO receipts (receipt, version, content_hash, kind, filing_id, province,
                     state, state_since, needs_pre_approval, submitted_at, submitter, received_at)
                 VALUES ($1, 1, $2, 'new-filing', $3, 11, 'awaiting-regional-review', $4, false,
                     $4, $5, $4)",
                &[&receipt, &hash, &filing_id, &NOW, &version.submitter],
            )
            .unwrap();
        client
            .execute(
                "INSERT INTO review_events (receipt, version, to_state, reviewer, at)
                 VALUES ($1, 1, 'awaiting-regional-review', 'import', $2)",
                &[&receipt, &NOW],
            )
            .unwrap();
    }
    db
}

#[test]
fn a_store_written_by_the_import_before_migration_5_stays_reviewable_and_approvable() {
    store_before_migration_5_reviewed_and_edited(false);
}

/// The same, with the planner's counts of a store of ten million filings: the import finds
/// the receipt and the pending filing of the new version by lookups instead of joins.
#[test]
fn a_pending_filing_from_before_migration_5_is_found_by_lookups_in_a_large_store() {
    store_before_migration_5_reviewed_and_edited(true);
}

fn store_before_migration_5_reviewed_and_edited(large: bool) {
    let r1 = jia_filing(1, &["jia.example.cn", "www.jia.example.cn"], 1);
    let r2 = one_site_filing("R2", "乙公司", "C2", "乙网", &["jia.example.cn"], 2);
    let db = store_before_migration_5(&[r1, r2]);
    let mut client = db.connect().unwrap();
    let report = inner::schema::migrate(&mut client).expect("migrate");
    // Migration 5 and every later one.
    let last = inner::schema::MIGRATIONS.last().unwrap().version;
    assert_eq!(report.applied, (5..=last).collect::<Vec<i32>>());
    // The pending rows moved into the version rows; the normalised tables hold approved
    // filings only (the two pending filing rows stay: their receipts name them).
    for table in [
        "subject_records",
        "website_records",
        "website_domains",
        "website_ips",
    ] {
        assert_eq!(rows_in(&db, table), 0, "{table}");
    }
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM submission_versions
             WHERE channel = 7 AND kind = 'new-filing' AND subject_key = 'C1'
               AND domains = '{jia.example.cn,www.jia.example.cn}'
               AND ip_ranges = '{203.0.113.1-203.0.113.1}'"
        ),
        1
    );
    // Reviewers see the same facts, from the version's own encoding, and the conflict.
    let view = show(&db, "R1");
    assert_eq!(view.organiser.as_deref(), Some("甲公司"));
    assert_eq!(
        shown_websites(&db, "R1"),
        [(
            "pending".to_owned(),
            vec!["jia.example.cn".to_owned(), "www.jia.example.cn".to_owned()]
        )]
    );
    assert_eq!(
        conflicts_of(&db, "R1"),
        [conflict("domain-pending-elsewhere", "jia.example.cn", "R2")]
    );
    // Approval reuses the pending filing and writes the rows; the other one is then refused.
    let decision = approve(&db, "R1");
    let number = decision.filing_number.expect("number");
    assert_eq!(count(&db, "SELECT count(*) FROM filings"), 2);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM filings WHERE status = 'active' AND origin_receipt = 'R1'"
        ),
        1
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM website_domains WHERE active"),
        2
    );
    assert!(decision.certificate_id.is_some());
    assert_eq!(
        conflicts_of(&db, "R2"),
        [conflict(
            "domain-filed-elsewhere",
            "jia.example.cn",
            &number
        )]
    );
    let key = signer();
    let mut tx = client.transaction().unwrap();
    let error = approval_refused(&mut tx, &db, "R2", &key);
    assert!(
        matches!(error, review::ReviewError::DomainConflict { .. }),
        "{error}"
    );
    tx.rollback().unwrap();
    // A new version of a receipt imported before keeps its pending filing.
    let r2 = one_site_filing("R2", "乙公司", "C2", "乙网", &["yi.example.cn"], 2);
    let r2 = version("R2", 2, r2.body);
    if large {
        client
            .batch_execute(
                "UPDATE pg_class SET reltuples = 10000000
                 WHERE oid IN ('receipts'::regclass, 'filings'::regclass)",
            )
            .unwrap();
    }
    apply_at(&db, 2, &[r2]);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM submission_versions
             WHERE receipt = 'R2' AND version = 2 AND prev_state = 'awaiting-regional-review'
               AND entry_state = 'awaiting-regional-review'"
        ),
        1,
        "the new version's arrival names the state it replaced"
    );
    // Its first arrival is a review event (written before migration 19), its second is on
    // its version row: the history shows each once, in order.
    let arrivals: Vec<(i64, Option<i64>, String)> = show(&db, "R2")
        .history
        .into_iter()
        .map(|h| (h.version, h.event_id, h.reviewer))
        .collect();
    assert_eq!(arrivals.len(), 2, "{arrivals:?}");
    assert!(
        arrivals[0].0 == 1
            && arrivals[0].1.is_some()
            && arrivals[1].0 == 2
            && arrivals[1].1.is_none(),
        "{arrivals:?}"
    );
    assert!(arrivals.iter().all(|a| a.2 == "import"), "{arrivals:?}");
    approve(&db, "R2");
    assert_eq!(
        count(&db, "SELECT count(*) FROM filings WHERE status = 'active'"),
        2
    );
}

#[test]
fn a_squatters_pending_filing_and_the_owners_both_reach_the_reviewer_as_a_subject_conflict() {
    // The intake accepts both (one subject files once per account only); the reviewer sees each
    // against the other, whichever came first.
    let db = TestDatabase::with_schema().expect("db");
    apply_at(
        &db,
        1,
        &[
            one_site_filing("R8", "丁公司", "C8", "冒名网", &["squat.example.cn"], 8),
            one_site_filing("R9", "丁公司", "C8", "丁网", &["ding.example.cn"], 9),
        ],
    );
    assert_eq!(
        conflicts_of(&db, "R8"),
        [conflict("subject-pending-elsewhere", "C8", "R9")]
    );
    assert_eq!(
        conflicts_of(&db, "R9"),
        [conflict("subject-pending-elsewhere", "C8", "R8")]
    );
    // Rejecting the squatter's filing leaves the owner's without a conflict.
    let mut client = db.connect().unwrap();
    let mut tx = client.transaction().unwrap();
    review::reject(&mut tx, "R8", &ministry(&db), "冒用主体证件", NOW).unwrap();
    tx.commit().unwrap();
    assert!(conflicts_of(&db, "R9").is_empty());
}
