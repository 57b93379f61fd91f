//! The references between a website record and its child rows (access, domains, IP ranges,
//! home URLs, pre-approvals), which the schema checks once per statement rather than with
//! per-row foreign keys (migration 4). Each test tries to write what the foreign keys refused.

use inner::testing::TestDatabase;
use postgres::Client;

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

#[test]
fn child_rows_of_a_missing_website_record_are_refused() {
    let (_db, mut client) = two_filings();
    for sql in [
        "INSERT INTO website_access (record_id, provider, method, server_region_code)
         VALUES (99, 'isp', 'dedicated', 110108)",
        "INSERT INTO website_domains (record_id, filing_id, domain) VALUES (99, 1, 'x.example.cn')",
        "INSERT INTO website_ips (record_id, filing_id, ips) VALUES (99, 1, '[3.3.3.3,3.3.3.3]')",
        "INSERT INTO website_home_urls (record_id, url) VALUES (99, 'https://x.example.cn/')",
        "INSERT INTO website_pre_approvals (record_id, item, document_number)
         VALUES (99, 'news', 'N2')",
    ] {
        assert_eq!(refused(&mut client, sql), FOREIGN_KEY_VIOLATION, "{sql}");
    }
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
    for sql in [
        "INSERT INTO website_domains (record_id, filing_id, domain) VALUES (10, 2, 'x.example.cn')",
        "INSERT INTO website_ips (record_id, filing_id, ips) VALUES (10, 2, '[3.3.3.3,3.3.3.3]')",
        "UPDATE website_domains SET filing_id = 2 WHERE record_id = 10",
        "UPDATE website_ips SET filing_id = 2 WHERE record_id = 10",
        "UPDATE website_domains SET record_id = 20 WHERE record_id = 10",
    ] {
        assert_eq!(refused(&mut client, sql), FOREIGN_KEY_VIOLATION, "{sql}");
    }
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
    for sql in [
        "UPDATE website_records SET record_id = 11 WHERE record_id = 10",
        "UPDATE website_records SET filing_id = 2 WHERE record_id = 10",
    ] {
        assert_eq!(refused(&mut client, sql), FOREIGN_KEY_VIOLATION, "{sql}");
    }
    // Review updates of a record's status name neither key.
    client
        .batch_execute("UPDATE website_records SET status = 'discarded' WHERE record_id = 10")
        .expect("status update");
}
