//! The references between a website record and its child rows (access, domains, IP ranges,
//! home URLs, pre-approvals), which the schema checks once per statement rather than with
//! per-row foreign keys (migration 4). Each test tries to write what the foreign keys refused.

use postgres::Client;
use testkit::pg::TestDatabase;

/// Two pending filings (1 and 2), each with one website record (10 and 20) and its child rows.
fn two_filings() -> (TestDatabase, Client) {
    let db = TestDatabase::with_schema().expect("db");
    let mut client = db.connect().expect("connect");
    client
        .batch_execute(
            "INSERT INTO filings (filing_id, origin_receipt, province, status)
             VALUES (1, 'R1', 11, 'pending'), (2, 'R2', 11, 'pending');
             INSERT INTO website_records (record_id, filing_id, receipt, status, name,
                 service_types, principal_name, principal_certificate_type,
                 principal_certificate_number, principal_mobile_phones, principal_office_phones,
                 principal_email)
             SELECT n * 10, n, 'R' || n, 'pending', 'site', '{}', 'p', 'x', 'x', '{}', '{}', 'e'
             FROM generate_series(1, 2) n;
             INSERT INTO website_access (record_id, provider, method, server_region_code)
             VALUES (10, 'isp', 'dedicated', 110108), (20, 'isp', 'dedicated', 110108);
             INSERT INTO website_domains (record_id, filing_id, domain)
             VALUES (10, 1, 'one.example.cn'), (20, 2, 'two.example.cn');
             INSERT INTO website_ips (record_id, filing_id, ips)
             VALUES (10, 1, '[1.1.1.1,1.1.1.1]'), (20, 2, '[2.2.2.2,2.2.2.2]');
             INSERT INTO website_home_urls (record_id, url) VALUES (10, 'https://one.example.cn/');
             INSERT INTO website_pre_approvals (record_id, item, document_number)
             VALUES (10, 'news', 'N1');",
        )
        .expect("two filings");
    (db, client)
}

/// Runs `sql` and returns the SQLSTATE it failed with.
fn refused(client: &mut Client, sql: &str) -> String {
    let error = client
        .batch_execute(sql)
        .expect_err(&format!("must be refused: {sql}"));
    error
        .as_db_error()
        .map(|e| e.code().code().to_owned())
        .unwrap_or_default()
}

const FOREIGN_KEY_VIOLATION: &str = "23503";

/// Runs each of `statements` on its own and checks that each fails as a foreign key would.
fn assert_all_refused(client: &mut Client, statements: &[&str]) {
    for sql in statements {
        assert_eq!(refused(client, sql), FOREIGN_KEY_VIOLATION, "{sql}");
    }
}

#[test]
fn child_rows_of_a_missing_website_record_are_refused() {
    let (_db, mut client) = two_filings();
    assert_all_refused(
        &mut client,
        &[
            "INSERT INTO website_access (record_id, provider, method, server_region_code)
         VALUES (99, 'isp', 'dedicated', 110108)",
            "INSERT INTO website_domains (record_id, filing_id, domain) VALUES (99, 1, 'x.example.cn')",
            "INSERT INTO website_ips (record_id, filing_id, ips) VALUES (99, 1, '[3.3.3.3,3.3.3.3]')",
            "INSERT INTO website_home_urls (record_id, url) VALUES (99, 'https://x.example.cn/')",
            "INSERT INTO website_pre_approvals (record_id, item, document_number)
         VALUES (99, 'news', 'N2')",
        ],
    );
}

#[test]
fn one_orphan_among_many_rows_refuses_the_whole_statement() {
    let (_db, mut client) = two_filings();
    assert_eq!(
        refused(
            &mut client,
            "INSERT INTO website_domains (record_id, filing_id, domain)
             SELECT 10, 1, 'd' || n || '.example.cn' FROM generate_series(1, 5000) n
             UNION ALL SELECT 99, 1, 'orphan.example.cn'"
        ),
        FOREIGN_KEY_VIOLATION
    );
    let count: i64 = client
        .query_one("SELECT count(*) FROM website_domains", &[])
        .unwrap()
        .get(0);
    assert_eq!(count, 2, "nothing of the refused statement stays");
}

#[test]
fn domain_or_ip_range_naming_another_filing_than_its_record_is_refused() {
    let (_db, mut client) = two_filings();
    // Record 10 belongs to filing 1; a row claiming it for filing 2 would make the conflict
    // checks (`filing_id <> ...`) see filing 2 holding the domain.
    assert_all_refused(
        &mut client,
        &[
            "INSERT INTO website_domains (record_id, filing_id, domain) VALUES (10, 2, 'x.example.cn')",
            "INSERT INTO website_ips (record_id, filing_id, ips) VALUES (10, 2, '[3.3.3.3,3.3.3.3]')",
            "UPDATE website_domains SET filing_id = 2 WHERE record_id = 10",
            "UPDATE website_ips SET filing_id = 2 WHERE record_id = 10",
            "UPDATE website_domains SET record_id = 20 WHERE record_id = 10",
        ],
    );
    // Moving a row to another record, with that record's filing, is allowed, as a foreign key allowed it.
    client
        .batch_execute(
            "UPDATE website_domains SET record_id = 20, filing_id = 2 WHERE record_id = 10",
        )
        .expect("a consistent key change");
}

#[test]
fn child_row_moved_to_a_missing_website_record_is_refused() {
    let (_db, mut client) = two_filings();
    for table in [
        "website_access",
        "website_home_urls",
        "website_pre_approvals",
        "website_domains",
        "website_ips",
    ] {
        let sql = format!("UPDATE {table} SET record_id = 99 WHERE record_id = 10");
        assert_eq!(refused(&mut client, &sql), FOREIGN_KEY_VIOLATION, "{sql}");
    }
    // Updates that leave the key alone are not checked, and pass.
    client
        .batch_execute(
            "UPDATE website_domains SET active = true WHERE record_id = 10;
             UPDATE website_access SET cancelled = true WHERE record_id = 10;",
        )
        .expect("status updates");
}

#[test]
fn deleting_a_website_record_deletes_its_child_rows() {
    let (_db, mut client) = two_filings();
    client
        .batch_execute("DELETE FROM website_records WHERE record_id = 10")
        .expect("delete");
    for table in [
        "website_access",
        "website_domains",
        "website_ips",
        "website_home_urls",
        "website_pre_approvals",
    ] {
        let left: Vec<i64> = client
            .query(&format!("SELECT record_id FROM {table}"), &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let expected: &[i64] = if matches!(table, "website_home_urls" | "website_pre_approvals") {
            &[]
        } else {
            &[20]
        };
        assert_eq!(left, expected, "{table}");
    }
}

#[test]
fn website_record_with_child_rows_keeps_its_keys() {
    let (_db, mut client) = two_filings();
    assert_all_refused(
        &mut client,
        &[
            "UPDATE website_records SET record_id = 11 WHERE record_id = 10",
            "UPDATE website_records SET filing_id = 2 WHERE record_id = 10",
        ],
    );
    // Review updates of a record's status name neither key.
    client
        .batch_execute("UPDATE website_records SET status = 'discarded' WHERE record_id = 10")
        .expect("status update");
}

/// Filing 1 with a subject record, a receipt, a review event queued for the return channel, and a bundle with
/// one stored submission version.
fn one_receipt(client: &mut Client) {
    client
        .batch_execute(
            "INSERT INTO bundles (bundle_id, channel, epoch, sequence, signer_key_id, created,
                 imported_at, submission_count)
             VALUES (decode(repeat('aa', 32), 'hex'), 1, 1, 1, '\\x0102030405060708', 0, 0, 1);
             INSERT INTO submission_versions (receipt, version, content_hash, bundle_id,
                 bundle_position, submitted_at, submitter, encoded, outcome, received_at, channel)
             VALUES ('R1', 1, decode(repeat('bb', 32), 'hex'), decode(repeat('aa', 32), 'hex'), 0, 0, 's',
                 '\\x00', 'applied', 0, 1);
             INSERT INTO receipts (receipt, version, content_hash, kind, filing_id, province,
                 state, state_since, needs_pre_approval, submitted_at, submitter, received_at)
             VALUES ('R1', 1, decode(repeat('bb', 32), 'hex'), 'new-filing', 1, 11,
                 'awaiting-regional-review', 0, false, 0, 's', 0);
             INSERT INTO subject_records (filing_id, receipt, status, name, nature,
                 certificate_type, certificate_number, region_code, address, investor,
                 principal_name, principal_certificate_type, principal_certificate_number,
                 principal_mobile_phones, principal_office_phones, principal_email)
             VALUES (1, 'R1', 'pending', 'n', 'enterprise', 'x', 'C1', 110108, 'a', 'i', 'p',
                 'x', 'x', '{}', '{}', 'e');
             INSERT INTO review_events (event_id, receipt, version, to_state, reviewer, at)
             VALUES (7, 'R1', 1, 'awaiting-regional-review', 'import', 0);
             INSERT INTO return_queue (kind, event_id, queued_at) VALUES ('status-change', 7, 0);",
        )
        .expect("one receipt");
}

#[test]
fn rows_naming_a_missing_filing_bundle_receipt_or_event_are_refused() {
    let (_db, mut client) = two_filings();
    one_receipt(&mut client);
    assert_all_refused(
        &mut client,
        &[
        "INSERT INTO subject_records (filing_id, receipt, status, name, nature, certificate_type,
             certificate_number, region_code, address, investor, principal_name,
             principal_certificate_type, principal_certificate_number, principal_mobile_phones,
             principal_office_phones, principal_email)
         VALUES (99, 'R9', 'pending', 'n', 'enterprise', 'x', 'C9', 110108, 'a', 'i', 'p', 'x',
             'x', '{}', '{}', 'e')",
        "INSERT INTO website_records (filing_id, receipt, status, name, service_types,
             principal_name, principal_certificate_type, principal_certificate_number,
             principal_mobile_phones, principal_office_phones, principal_email)
         VALUES (99, 'R9', 'pending', 'site', '{}', 'p', 'x', 'x', '{}', '{}', 'e')",
        "INSERT INTO receipts (receipt, version, content_hash, kind, filing_id, province, state,
             state_since, needs_pre_approval, submitted_at, submitter, received_at)
         VALUES ('R9', 1, '\\x00', 'new-filing', 99, 11, 'delivered', 0, false, 0, 's', 0)",
        // An upsert that moves a stored receipt to a missing filing.
        "INSERT INTO receipts (receipt, version, content_hash, kind, filing_id, province, state,
             state_since, needs_pre_approval, submitted_at, submitter, received_at)
         VALUES ('R1', 2, '\\x00', 'new-filing', 99, 11, 'delivered', 0, false, 0, 's', 0)
         ON CONFLICT (receipt) DO UPDATE SET filing_id = EXCLUDED.filing_id",
        "INSERT INTO submission_versions (receipt, version, content_hash, bundle_id,
             bundle_position, submitted_at, submitter, encoded, outcome, received_at, channel)
         VALUES ('R9', 1, decode(repeat('dd', 32), 'hex'), decode(repeat('cc', 32), 'hex'), 0, 0,
             's', '\\x00', 'applied', 0, 1)",
        "INSERT INTO review_events (receipt, version, to_state, reviewer, at)
         VALUES ('R9', 1, 'delivered', 'import', 0)",
        "INSERT INTO return_queue (kind, event_id, queued_at) VALUES ('status-change', 99, 0)",
        "UPDATE subject_records SET filing_id = 99",
        "UPDATE website_records SET filing_id = 99 WHERE record_id = 20",
        "UPDATE receipts SET filing_id = 99",
        "UPDATE submission_versions SET bundle_id = decode(repeat('cc', 32), 'hex')",
        "UPDATE review_events SET receipt = 'R9'",
        "UPDATE return_queue SET event_id = 99",
    ],
    );
    // A receipt without a filing (a change to an unknown number) names nothing, and passes.
    client
        .batch_execute(
            "INSERT INTO receipts (receipt, version, content_hash, kind, province, state,
                 state_since, needs_pre_approval, submitted_at, submitter, received_at)
             VALUES ('R9', 1, '\\x00', 'change-subject', 11, 'delivered', 0, false, 0, 's', 0)",
        )
        .expect("a receipt without a filing");
}

#[test]
fn named_filings_bundles_receipts_and_events_are_neither_deleted_nor_rekeyed() {
    let (_db, mut client) = two_filings();
    one_receipt(&mut client);
    assert_all_refused(
        &mut client,
        &[
            "DELETE FROM filings WHERE filing_id = 1",
            "UPDATE filings SET filing_id = 3 WHERE filing_id = 2",
            "DELETE FROM bundles",
            "UPDATE bundles SET bundle_id = decode(repeat('cc', 32), 'hex')",
            "DELETE FROM receipts",
            "UPDATE receipts SET receipt = 'R9'",
            "DELETE FROM review_events",
            "UPDATE review_events SET event_id = 8",
        ],
    );
    // A filing nothing names yet can go, as with the foreign keys.
    client
        .batch_execute(
            "INSERT INTO filings (filing_id, origin_receipt, province, status)
             VALUES (3, 'R3', 11, 'pending');
             DELETE FROM filings WHERE filing_id = 3;",
        )
        .expect("an unnamed filing");
}
