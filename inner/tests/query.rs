//! The public query and the reviewers' view, on a real PostgreSQL.

mod common;

use std::net::IpAddr;

use bundle_format::records::{Change, IpRange, Submission};
use common::*;
use inner::query::{QueryKey, query};
use testkit::pg::TestDatabase;

fn numbers(db: &TestDatabase, key: QueryKey) -> Vec<String> {
    let mut client = db.connect().unwrap();
    query(&mut client, &key)
        .unwrap()
        .into_iter()
        .map(|r| r.website_number)
        .collect()
}

#[test]
fn public_query_answers_by_every_key_from_approved_records_only() {
    let db = TestDatabase::with_schema().expect("db");
    let mut ranged = website("甲商城", &["shop.jia.example.cn"], 2);
    ranged.access.ip_ranges = vec![IpRange {
        first: "198.51.100.0".parse().unwrap(),
        last: "198.51.100.255".parse().unwrap(),
    }];
    apply_at(
        &db,
        1,
        &[
            first_version(
                "R1",
                "北京甲科技有限公司",
                "C1",
                110_108,
                vec![website("甲官网", &["jia.example.cn"], 1), ranged],
            ),
            one_site_filing(
                "R2",
                "北京乙科技有限公司",
                "C2",
                "乙官网",
                &["yi.example.cn"],
                9,
            ),
        ],
    );
    let number = approve(&db, "R1").filing_number.expect("number");
    let (first, second) = (format!("{number}-1"), format!("{number}-2"));
    // A pending change must not show either.
    apply_at(
        &db,
        2,
        &[version(
            "R3",
            1,
            Submission::Change {
                filing_number: number.clone(),
                change: Change::Website {
                    website_number: first.clone(),
                    website: website("甲新官网", &["new.jia.example.cn"], 1),
                },
            },
        )],
    );

    assert_eq!(
        numbers(&db, QueryKey::WebsiteName("甲官网".into())),
        vec![first.clone()]
    );
    assert_eq!(
        numbers(&db, QueryKey::Domain("JIA.example.cn".into())),
        vec![first.clone()]
    );
    assert_eq!(
        numbers(
            &db,
            QueryKey::HomeUrl("https://shop.jia.example.cn/".into())
        ),
        vec![second.clone()]
    );
    assert_eq!(
        numbers(&db, QueryKey::FilingNumber(number.clone())),
        [first.clone(), second.clone()]
    );
    assert_eq!(
        numbers(&db, QueryKey::FilingNumber(second.clone())),
        vec![second.clone()]
    );
    assert_eq!(
        numbers(
            &db,
            QueryKey::Ip("198.51.100.77".parse::<IpAddr>().unwrap())
        ),
        vec![second.clone()]
    );
    assert_eq!(
        numbers(&db, QueryKey::OrganiserName("北京甲科技有限公司".into())),
        [first.clone(), second]
    );

    // Not approved, superseded-to-be or unknown: nothing.
    assert!(numbers(&db, QueryKey::Domain("yi.example.cn".into())).is_empty());
    assert!(numbers(&db, QueryKey::OrganiserName("北京乙科技有限公司".into())).is_empty());
    assert!(numbers(&db, QueryKey::Domain("new.jia.example.cn".into())).is_empty());
    assert!(numbers(&db, QueryKey::Ip("203.0.113.9".parse::<IpAddr>().unwrap())).is_empty());

    // Once the change is approved, the new record answers and the old domain no longer does.
    approve(&db, "R3");
    assert_eq!(
        numbers(&db, QueryKey::Domain("new.jia.example.cn".into())),
        vec![first.clone()]
    );
    assert!(numbers(&db, QueryKey::Domain("jia.example.cn".into())).is_empty());
    assert_eq!(
        numbers(&db, QueryKey::WebsiteName("甲新官网".into())),
        [first]
    );
}

#[test]
fn reviewers_see_history_and_conflicts() {
    let db = TestDatabase::with_schema().expect("db");
    apply_at(&db, 1, &[jia_filing(1, &["jia.example.cn"], 5)]);
    let number = approve(&db, "R1").filing_number.expect("number");
    apply_at(
        &db,
        2,
        &[
            first_version(
                "R2",
                "乙公司",
                "C2",
                440_106,
                vec![website("乙网", &["jia.example.cn", "yi.example.cn"], 5)],
            ),
            one_site_filing("R3", "丙公司", "C3", "丙网", &["yi.example.cn"], 7),
        ],
    );
    let mut client = db.connect().unwrap();
    let view = inner::queue::show(&mut client, "R2").unwrap();
    assert_eq!(view.entry.conflict.as_deref(), Some("domain-conflict"));
    let conflicts: Vec<(String, String, String)> = view
        .conflicts
        .iter()
        .map(|c| (c.kind.clone(), c.value.clone(), c.other.clone()))
        .collect();
    assert_eq!(
        conflicts,
        [
            (
                "domain-filed-elsewhere".to_owned(),
                "jia.example.cn".to_owned(),
                number.clone()
            ),
            (
                "domain-pending-elsewhere".to_owned(),
                "yi.example.cn".to_owned(),
                "R3".to_owned()
            ),
            (
                "ip-filed-by-unrelated-subject".to_owned(),
                "203.0.113.5-203.0.113.5".to_owned(),
                number
            ),
        ]
    );
    assert_eq!(view.history.len(), 1);
    assert_eq!(view.history[0].reviewer, "import");

    let filter = inner::queue::ListFilter {
        province: Some(44),
        ..Default::default()
    };
    let listed: Vec<String> = inner::queue::list(&mut client, &filter, NOW)
        .unwrap()
        .into_iter()
        .map(|e| e.receipt)
        .collect();
    assert_eq!(listed, ["R2"]);
    let filter = inner::queue::ListFilter {
        min_age_seconds: Some(3600),
        ..Default::default()
    };
    assert!(
        inner::queue::list(&mut client, &filter, NOW)
            .unwrap()
            .is_empty(),
        "all arrived just now"
    );
    assert_eq!(
        inner::queue::list(&mut client, &filter, NOW + 7200)
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn every_query_key_is_served_by_an_index() {
    let db = TestDatabase::with_schema().expect("db");
    let mut client = db.connect().unwrap();
    // Enough approved filings, made server-side, for the planner to prefer an index for any
    // selective key, as it must on a few million.
    client
        .batch_execute(
            "INSERT INTO filings (filing_id, origin_receipt, province, status, filing_number, last_approved_at)
             SELECT n, 'R' || n, 11, 'active', '京ICP备2026' || lpad(n::text, 6, '0') || '号', 0
             FROM generate_series(1, 20000) n;
             INSERT INTO subject_records (filing_id, receipt, status, name, nature, certificate_type,
                 certificate_number, region_code, address, investor, principal_name,
                 principal_certificate_type, principal_certificate_number, principal_mobile_phones,
                 principal_office_phones, principal_email)
             SELECT n, 'R' || n, 'active', '公司' || n, 'enterprise', 'x', 'C' || n, 110108, 'a', 'i',
                    'p', 'x', 'x', '{}', '{}', 'e'
             FROM generate_series(1, 20000) n;
             INSERT INTO website_records (record_id, filing_id, receipt, status, website_seq, name,
                 service_types, principal_name, principal_certificate_type,
                 principal_certificate_number, principal_mobile_phones, principal_office_phones,
                 principal_email)
             SELECT n, n, 'R' || n, 'active', 1, '网站' || n, '{}', 'p', 'x', 'x', '{}', '{}', 'e'
             FROM generate_series(1, 20000) n;
             INSERT INTO website_domains (record_id, filing_id, domain, active)
             SELECT n, n, 'site' || n || '.example.cn', true FROM generate_series(1, 20000) n;
             INSERT INTO website_home_urls (record_id, url, active)
             SELECT n, 'https://site' || n || '.example.cn/', true FROM generate_series(1, 20000) n;
             INSERT INTO website_ips (record_id, filing_id, ips, active)
             SELECT n, n, inetrange('10.0.0.0'::inet + n, '10.0.0.0'::inet + n, '[]'), true
             FROM generate_series(1, 20000) n;
             ANALYZE;",
        )
        .unwrap();
    let cases = [
        (
            QueryKey::WebsiteName("网站77".into()),
            "website_records_active_name",
        ),
        (
            QueryKey::Domain("site77.example.cn".into()),
            "website_domains_one_active",
        ),
        (
            QueryKey::HomeUrl("https://site77.example.cn/".into()),
            "website_home_urls_active",
        ),
        (
            QueryKey::FilingNumber("京ICP备2026000077号".into()),
            "filings_filing_number_key",
        ),
        (
            QueryKey::FilingNumber("京ICP备2026000077号-1".into()),
            "filings_filing_number_key",
        ),
        (
            QueryKey::Ip("10.0.0.77".parse::<IpAddr>().unwrap()),
            "website_ips_active",
        ),
        (
            QueryKey::OrganiserName("公司77".into()),
            "subject_records_active_name",
        ),
    ];
    for (key, index) in cases {
        let plan = inner::query::plan(&mut client, &key).unwrap();
        assert!(plan.contains(index), "{key:?} should use {index}:\n{plan}");
        assert!(!plan.contains("Seq Scan"), "{key:?} scans a table:\n{plan}");
        assert_eq!(
            inner::query::query(&mut client, &key).unwrap().len(),
            1,
            "{key:?}"
        );
    }
}
