//! Revocation by the authority and the public register, end to end across the real bundles:
//! an approval sends the filing's register entry out and the public query outside finds it by
//! domain, website name and filing number; an authority of another province may not revoke
//! it; the authority of its province does, the revocation crosses back, the certificate is no
//! longer served, the status says revoked, the query no longer finds it, and a filing of the
//! same domain by another subject, blocked as a conflict before, is approved afterwards. The
//! register outside holds nothing personal.

mod common;

use inner::review::ReviewError;
use inner::reviewers::{NewAccount, Role};
use serde_json::{Value, json};
use transfer::demo::{self as samples, http, percent_encode};
use transfer::outcome::FileResult;

use common::*;
use tests::Appliance;

/// A reviewer account `name` of `role` for `province`, made by the demo's ministry account.
fn reviewer(app: &mut Appliance, name: &str, province: i16) -> inner::reviewers::Reviewer {
    let password = "管局审核员-2026-密码";
    let by = app.inner.reviewer.clone();
    let new = NewAccount {
        name,
        role: Role::Authority,
        province: Some(province),
        service_types: Vec::new(),
        password,
    };
    inner::reviewers::create(&mut app.inner.client, &by, &new, transfer::demo::now())
        .expect("create the account");
    inner::reviewers::authenticate(&mut app.inner.client, name, password, transfer::demo::now())
        .expect("log in")
}

fn register_api(app: &Appliance, q: &str, by: &str) -> (u16, Value) {
    let path = format!("/api/v1/register?q={}&by={by}", percent_encode(q));
    let (code, body) = http(app.outer().node.addr, "GET", &path, None, "", &[]).unwrap();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (code, body)
}

fn found_numbers(app: &Appliance, q: &str, by: &str) -> Vec<String> {
    let (code, body) = register_api(app, q, by);
    assert_eq!(code, 200, "{body}");
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["filing_number"].as_str().unwrap().to_owned())
        .collect()
}

/// Sends the inner host's return out and applies it at the first outer host.
fn return_and_apply(app: &mut Appliance) -> transfer::outer_side::ApplyReport {
    app.inner.write_return().unwrap();
    app.carry_out().unwrap();
    app.apply(0).unwrap()
}

#[test]
fn a_revoked_filing_leaves_the_register_outside_and_frees_its_domain_for_another() {
    let mut app = Appliance::new(&[1]).unwrap();
    let filed = submit_and_export(app.outer(), [1]).remove(0);
    app.carry_in(0).unwrap();
    assert_eq!(app.import().unwrap().count(FileResult::Applied), 1);
    let number = app.approve_all().unwrap().remove(0);
    let applied = return_and_apply(&mut app);
    assert_eq!(applied.files[0].register_entries, 1, "{:?}", applied.files);

    // The public query outside finds it by domain, website name and filing number, without an
    // account.
    let domain = samples::domain(1);
    assert_eq!(found_numbers(&app, &domain, "domain"), vec![number.clone()]);
    assert_eq!(
        found_numbers(&app, &format!("WWW.{domain}."), "domain"),
        vec![number.clone()],
        "a domain is compared in lower case without its trailing dot"
    );
    assert_eq!(
        found_numbers(&app, "企业展示网站", "website_name"),
        vec![number.clone()]
    );
    assert_eq!(
        found_numbers(&app, &number, "filing_number"),
        vec![number.clone()]
    );
    assert_eq!(
        found_numbers(&app, &format!("{number}-1"), "auto"),
        vec![number.clone()]
    );
    let (_, body) = register_api(&app, &domain, "domain");
    assert_eq!(body["results"][0]["subject_name"], samples::subject_name(1));
    assert_eq!(
        body["results"][0]["domains"],
        json!([domain.clone(), format!("www.{domain}")])
    );
    let (code, body) = register_api(&app, &"长".repeat(201), "website_name");
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["error"], "register.query_too_long", "{body}");
    let (code, body) = register_api(&app, "x", "owner");
    assert_eq!(code, 400, "{body}");

    // The register holds nothing personal: neither columns for it nor any of the values.
    let db = rusqlite::Connection::open(&app.outer().node.database).unwrap();
    let mut columns = Vec::new();
    for table in [
        "public_register",
        "public_register_websites",
        "public_register_domains",
    ] {
        let mut stmt = db
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .unwrap();
        let names: Vec<String> = stmt
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        columns.extend(names);
    }
    for personal in [
        "certificate",
        "resident",
        "principal",
        "phone",
        "mobile",
        "email",
        "mail",
        "address",
        "ip",
    ] {
        assert!(
            !columns.iter().any(|c| c.contains(personal)),
            "a register column holds {personal}: {columns:?}"
        );
    }
    let rows: String = db
        .query_row(
            "SELECT group_concat(coalesce(r.filing_number, '') || '|' || coalesce(r.subject_name, '')
                 || '|' || coalesce(w.name, '') || '|' || coalesce(w.domains, ''), ';')
             FROM public_register r LEFT JOIN public_register_websites w USING (filing_number)",
            [],
            |row| row.get(0),
        )
        .unwrap();
    let person = samples::person();
    for value in [
        person["name"].as_str().unwrap(),
        person["certificate_number"].as_str().unwrap(),
        person["mobile_phones"][0].as_str().unwrap(),
        person["office_phones"][0].as_str().unwrap(),
        person["email"].as_str().unwrap(),
        &samples::credit_code(1),
        "文三路",
        "202.96.",
    ] {
        assert!(!rows.contains(value), "the register holds {value}: {rows}");
    }

    // 另一家公司 files the same domain: blocked as a conflict.
    let mut rival = samples::new_filing(2, "同名域名网站");
    rival["submission"]["filing"]["websites"] = json!([samples::website_serving(
        &domain,
        "同名域名网站",
        "202.96.200.9"
    )]);
    let rival_receipt = app.outer().node.submit(&rival).unwrap();
    app.outer().export().unwrap();
    app.carry_in(0).unwrap();
    assert_eq!(app.import().unwrap().count(FileResult::Applied), 1);
    let blocked = app.inner.approve(&rival_receipt).unwrap_err();
    assert!(
        matches!(
            blocked.downcast_ref::<ReviewError>(),
            Some(ReviewError::DomainConflict { .. })
        ),
        "{blocked:#}"
    );

    // Beijing's authority may not revoke a Zhejiang filing; Zhejiang's does.
    let beijing = reviewer(&mut app, "bj-authority", 11);
    let zhejiang = reviewer(&mut app, "zj-authority", 33);
    let mut tx = app.inner.client.transaction().unwrap();
    let refused = inner::review::revoke(
        &mut tx,
        &number,
        None,
        "违法违规",
        &beijing,
        None,
        transfer::demo::now(),
    )
    .unwrap_err();
    assert!(
        matches!(refused, ReviewError::NotAllowedOnFiling { .. }),
        "{refused}"
    );
    drop(tx);
    let mut tx = app.inner.client.transaction().unwrap();
    let revocation = inner::review::revoke(
        &mut tx,
        &number,
        None,
        "网站内容违法",
        &zhejiang,
        None,
        transfer::demo::now(),
    )
    .unwrap();
    tx.commit().unwrap();
    assert!(revocation.whole_filing && revocation.certificate_revoked);

    // The revocation crosses back.
    let returned = app.inner.write_return().unwrap();
    assert_eq!(returned.certificate_revocations, 1, "{returned:?}");
    assert!(returned.register_records >= 1, "{returned:?}");
    let applied = apply_revoking_one_certificate(&mut app);
    assert_eq!(applied.files[0].register_removals, 1, "{:?}", applied.files);

    // The certificate is no longer served, and says why.
    let (code, body) = app.outer().node.certificate_answer(&number).unwrap();
    let body = String::from_utf8_lossy(&body);
    assert_eq!(code, 410, "{body}");
    assert!(body.contains("filing-revoked"), "{body}");
    // The status says revoked, in the API and on the page.
    let status = app.outer().node.status(&filed).unwrap();
    assert_eq!(status["certificate_revoked"], true, "{status}");
    assert_eq!(status["filing_revoked"], true, "{status}");
    let page = format!("/status?q={}", percent_encode(&filed));
    let (code, html) = http(app.outer().node.addr, "GET", &page, None, "", &[]).unwrap();
    assert_eq!(code, 200);
    assert!(String::from_utf8_lossy(&html).contains("备案已被管局撤销"));
    // The public query no longer finds it, by any key.
    assert!(found_numbers(&app, &domain, "domain").is_empty());
    assert!(found_numbers(&app, &number, "filing_number").is_empty());
    assert!(found_numbers(&app, "企业展示网站", "website_name").is_empty());
    let page = format!("/register?q={}", percent_encode(&domain));
    let (code, html) = http(app.outer().node.addr, "GET", &page, None, "", &[]).unwrap();
    assert_eq!(code, 200);
    assert!(String::from_utf8_lossy(&html).contains("未查到已备案的网站"));

    // The domain is free: the rival filing is approved now, and the register shows it.
    let rival_number = app.inner.approve(&rival_receipt).unwrap().unwrap();
    assert_ne!(rival_number, number);
    let applied = return_and_apply(&mut app);
    assert_eq!(applied.files[0].register_entries, 1, "{:?}", applied.files);
    assert_eq!(found_numbers(&app, &domain, "domain"), vec![rival_number]);
    assert!(found_numbers(&app, &number, "filing_number").is_empty());
}
