//! Reviewer accounts and what each may decide, on a real PostgreSQL. Each test is named after
//! the attack or mistake it stands for; a refusal must change nothing and say what is missing.

mod common;

use bundle_format::records::{ReviewState, ServiceType};
use common::*;
use inner::review::{self, ReviewError};
use inner::reviewers::{self, AccountError, AuthError, NewAccount, Reviewer, Role};
use inner::workflow::ReturnTo;
use testkit::pg::TestDatabase;

/// A Zhejiang subject's region code (Hangzhou, Xihu district).
const ZHEJIANG: u32 = 330_106;

fn approve_as(
    db: &TestDatabase,
    receipt: &str,
    reviewer: &Reviewer,
) -> Result<review::Decision, ReviewError> {
    let key = signer();
    decide(db, |tx| {
        review::approve(tx, receipt, reviewer, None, &key, NOW)
    })
}

fn events(db: &TestDatabase) -> i64 {
    count(db, "SELECT count(*) FROM review_events")
}

/// A new filing R-news of a Beijing subject, submitted by its access provider, whose website
/// offers news: it waits for the pre-approval stage.
fn news_filing() -> bundle_format::records::SubmissionVersion {
    let mut site = website("甲新闻", &["news.jia.example.cn"], 1);
    site.service_types = vec![ServiceType::News];
    version(
        "R-news",
        1,
        new_filing("甲公司", "C1", REGION_CODE, vec![site]),
    )
}

#[test]
fn zhejiang_reviewer_cannot_approve_beijing_filing() {
    let db = TestDatabase::with_schema().expect("db");
    apply_at(&db, 1, &[jia_filing(1, &["jia.example.cn"], 1)]);
    let zhejiang = account(&db, "zj-01", Role::Authority, Some(33), &[]);
    let before = events(&db);

    let refused = approve_as(&db, "R1", &zhejiang).unwrap_err();
    assert!(
        matches!(refused, ReviewError::NotAllowed { .. }),
        "{refused}"
    );
    assert_eq!(
        refused.to_string(),
        "receipt R1: reviewer zj-01 (authority, province 33) may not act on filing of province 11"
    );
    let key = signer();
    let returned = decide(&db, |tx| {
        review::return_submission(tx, "R1", ReturnTo::Submitter, &zhejiang, "x", NOW)
    });
    assert!(matches!(returned, Err(ReviewError::NotAllowed { .. })));
    let rejected = decide(&db, |tx| review::reject(tx, "R1", &zhejiang, "x", NOW));
    assert!(matches!(rejected, Err(ReviewError::NotAllowed { .. })));
    assert_eq!(state_of(&db, "R1"), "awaiting-regional-review");
    assert_eq!(events(&db), before, "a refusal records nothing");

    // Beijing's own authority approves, and the event names its account.
    let beijing = account(&db, "bj-01", Role::Authority, Some(11), &[]);
    let decision = decide(&db, |tx| {
        review::approve(tx, "R1", &beijing, None, &key, NOW)
    })
    .unwrap();
    assert_eq!(decision.to, ReviewState::Approved);
    let row = db
        .connect()
        .unwrap()
        .query_one(
            "SELECT e.reviewer, a.name, a.province FROM review_events e
             JOIN reviewer_accounts a ON a.account_id = e.reviewer_account
             WHERE e.event_id = $1",
            &[&decision.event_id],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "bj-01");
    assert_eq!(row.get::<_, String>(1), "bj-01");
    assert_eq!(row.get::<_, Option<i16>>(2), Some(11));
    assert_eq!(
        show(&db, "R1").history.last().unwrap().reviewer,
        "bj-01",
        "the review view shows who decided"
    );
}

#[test]
fn a_zhejiang_filing_is_decided_by_zhejiang_and_not_by_beijing() {
    let db = TestDatabase::with_schema().expect("db");
    let filing = first_version(
        "R-zj",
        "浙公司",
        "C9",
        ZHEJIANG,
        vec![website("浙网", &["zhe.example.cn"], 7)],
    );
    apply_at(&db, 1, &[filing]);
    let beijing = account(&db, "bj-01", Role::Authority, Some(11), &[]);
    let refused = approve_as(&db, "R-zj", &beijing).unwrap_err();
    assert!(
        refused
            .to_string()
            .ends_with("may not act on filing of province 33"),
        "{refused}"
    );
    let zhejiang = account(&db, "zj-01", Role::Authority, Some(33), &[]);
    let number = approve_as(&db, "R-zj", &zhejiang)
        .unwrap()
        .filing_number
        .unwrap();
    assert!(number.starts_with("浙ICP备"), "{number}");
}

#[test]
fn pre_approval_reviewer_cannot_do_regional_review() {
    let db = TestDatabase::with_schema().expect("db");
    apply_at(
        &db,
        1,
        &[jia_filing(1, &["jia.example.cn"], 1), news_filing()],
    );
    let news = account(&db, "bj-news", Role::PreApproval, Some(11), &["news"]);
    let refused = approve_as(&db, "R1", &news).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "receipt R1: reviewer bj-news (pre-approval, province 11, service types news) may not \
         act at the awaiting-regional-review stage: pre-approval reviewers act at the \
         awaiting-pre-approval stage only"
    );
    assert_eq!(state_of(&db, "R1"), "awaiting-regional-review");

    // The news site waits for its pre-approval: the authority may not confirm it, nor a
    // pre-approval reviewer for medical content, but the news reviewer may.
    assert_eq!(state_of(&db, "R-news"), "awaiting-pre-approval");
    let authority = account(&db, "bj-01", Role::Authority, Some(11), &[]);
    let refused = approve_as(&db, "R-news", &authority).unwrap_err();
    assert!(
        refused.to_string().contains(
            "may not act at the awaiting-pre-approval stage: the province's pre-approval \
             reviewers confirm pre-approvals"
        ),
        "{refused}"
    );
    let medical = account(
        &db,
        "bj-med",
        Role::PreApproval,
        Some(11),
        &["medical", "drugs"],
    );
    let refused = approve_as(&db, "R-news", &medical).unwrap_err();
    assert!(
        refused
            .to_string()
            .ends_with("may not confirm the news pre-approval of this filing"),
        "{refused}"
    );
    let elsewhere = account(&db, "zj-news", Role::PreApproval, Some(33), &["news"]);
    assert!(approve_as(&db, "R-news", &elsewhere).is_err());
    assert_eq!(state_of(&db, "R-news"), "awaiting-pre-approval");

    let passed = approve_as(&db, "R-news", &news).unwrap();
    assert_eq!(passed.to, ReviewState::AwaitingRegionalReview);
    // The pre-approval reviewer's part ends there; the authority decides the rest.
    assert!(approve_as(&db, "R-news", &news).is_err());
    let approved = approve_as(&db, "R-news", &authority).unwrap();
    assert_eq!(approved.to, ReviewState::Approved);
}

#[test]
fn review_with_wrong_password_is_refused() {
    let db = TestDatabase::with_schema().expect("db");
    ministry(&db);
    let mut client = db.connect().unwrap();
    let wrong = reviewers::authenticate(&mut client, "reviewer-li", "not-the-password", NOW);
    assert_eq!(
        wrong.unwrap_err().to_string(),
        "reviewer reviewer-li: wrong name or password"
    );
    // An unknown name is told the same, so names cannot be found by guessing.
    let unknown = reviewers::authenticate(&mut client, "nobody-here", PASSWORD, NOW);
    assert_eq!(
        unknown.unwrap_err().to_string(),
        "reviewer nobody-here: wrong name or password"
    );
}

#[test]
fn password_guessing_locks_the_account_for_a_quarter_of_an_hour() {
    let db = TestDatabase::with_schema().expect("db");
    ministry(&db);
    let mut client = db.connect().unwrap();
    for guess in 0..reviewers::MAX_FAILED_LOGINS {
        let result =
            reviewers::authenticate(&mut client, "reviewer-li", &format!("guess-{guess}"), NOW);
        assert!(matches!(result, Err(AuthError::WrongCredentials(_))));
    }
    // Now even the right password is refused, until the lock ends.
    let locked = reviewers::authenticate(&mut client, "reviewer-li", PASSWORD, NOW + 60);
    assert!(
        matches!(locked, Err(AuthError::Locked { until, .. }) if until == NOW + reviewers::LOCKOUT_SECONDS),
        "{locked:?}"
    );
    let later = NOW + reviewers::LOCKOUT_SECONDS + 1;
    assert!(reviewers::authenticate(&mut client, "reviewer-li", PASSWORD, later).is_ok());
    // A success starts the count again.
    for guess in 0..reviewers::MAX_FAILED_LOGINS - 1 {
        let result =
            reviewers::authenticate(&mut client, "reviewer-li", &format!("guess-{guess}"), later);
        assert!(matches!(result, Err(AuthError::WrongCredentials(_))));
    }
    assert!(reviewers::authenticate(&mut client, "reviewer-li", PASSWORD, later).is_ok());
}

#[test]
fn a_disabled_reviewer_decides_nothing_even_if_logged_in_before() {
    let db = TestDatabase::with_schema().expect("db");
    apply_at(&db, 1, &[jia_filing(1, &["jia.example.cn"], 1)]);
    let beijing = account(&db, "bj-01", Role::Authority, Some(11), &[]);
    let mut client = db.connect().unwrap();
    reviewers::disable(&mut client, &ministry(&db), "bj-01", NOW).unwrap();
    let refused = approve_as(&db, "R1", &beijing).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "receipt R1: reviewer bj-01 (authority, province 11) is disabled"
    );
    assert_eq!(state_of(&db, "R1"), "awaiting-regional-review");
    let login = reviewers::authenticate(&mut client, "bj-01", PASSWORD, NOW);
    assert!(matches!(login, Err(AuthError::Disabled(_))), "{login:?}");
}

#[test]
fn an_authority_creates_pre_approval_reviewers_for_its_own_province_only() {
    let db = TestDatabase::with_schema().expect("db");
    let zhejiang = account(&db, "zj-01", Role::Authority, Some(33), &[]);
    let mut client = db.connect().unwrap();
    let new = |name: &'static str, role, province, types: &[&str]| NewAccount {
        name,
        role,
        province,
        service_types: types.iter().map(|s| (*s).to_owned()).collect(),
        password: PASSWORD,
    };
    let made = reviewers::create(
        &mut client,
        &zhejiang,
        &new("zj-med", Role::PreApproval, Some(33), &["medical"]),
        NOW,
    )
    .unwrap();
    assert_eq!(made.created_by.as_deref(), Some("zj-01"));
    let refused = reviewers::create(
        &mut client,
        &zhejiang,
        &new("bj-med", Role::PreApproval, Some(11), &["medical"]),
        NOW,
    )
    .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "reviewer zj-01 (authority, province 33) may not create a pre-approval reviewer for \
         province 11"
    );
    let refused = reviewers::create(
        &mut client,
        &zhejiang,
        &new("zj-02", Role::Authority, Some(33), &[]),
        NOW,
    )
    .unwrap_err();
    assert!(matches!(refused, AccountError::NotAllowed(_)), "{refused}");
    let med = reviewers::authenticate(&mut client, "zj-med", PASSWORD, NOW).unwrap();
    let refused = reviewers::create(
        &mut client,
        &med,
        &new("zj-med2", Role::PreApproval, Some(33), &["medical"]),
        NOW,
    )
    .unwrap_err();
    assert!(
        refused.to_string().ends_with("may not create accounts"),
        "{refused}"
    );
    // Nothing refused was made.
    let names: Vec<String> = reviewers::list(&mut client)
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["reviewer-li", "zj-01", "zj-med"]);
}

#[test]
fn a_second_bootstrap_is_refused_while_a_ministry_account_exists() {
    let db = TestDatabase::with_schema().expect("db");
    ministry(&db);
    let mut client = db.connect().unwrap();
    let refused = reviewers::bootstrap_ministry(&mut client, "intruder", PASSWORD, NOW);
    assert!(
        matches!(&refused, Err(AccountError::MinistryExists(name)) if name == "reviewer-li"),
        "{refused:?}"
    );
}

#[test]
fn accounts_with_bad_names_passwords_or_scopes_are_refused_with_the_rule() {
    let db = TestDatabase::with_schema().expect("db");
    let li = ministry(&db);
    let mut client = db.connect().unwrap();
    let cases: [(NewAccount<'_>, &str); 6] = [
        (
            NewAccount {
                name: "zj 01",
                role: Role::Authority,
                province: Some(33),
                service_types: vec![],
                password: PASSWORD,
            },
            "account zj 01: the name has ' '; use letters, Chinese characters, digits, _, - and . only",
        ),
        (
            NewAccount {
                name: "zj-01",
                role: Role::Authority,
                province: Some(33),
                service_types: vec![],
                password: "12345678",
            },
            "account zj-01: the password must not be digits only",
        ),
        (
            NewAccount {
                name: "zj-01",
                role: Role::Authority,
                province: None,
                service_types: vec![],
                password: PASSWORD,
            },
            "account zj-01: an authority account needs a province (two-digit code, e.g. 33 for \
             Zhejiang)",
        ),
        (
            NewAccount {
                name: "xx-01",
                role: Role::Authority,
                province: Some(99),
                service_types: vec![],
                password: PASSWORD,
            },
            "account xx-01: 99 is not the code of one of the 31 provincial authorities",
        ),
        (
            NewAccount {
                name: "zj-blog",
                role: Role::PreApproval,
                province: Some(33),
                service_types: vec!["blog".to_owned()],
                password: PASSWORD,
            },
            "account zj-blog: \"blog\" is not a service type that needs a pre-approval; one of \
             news, publishing, education, medical, drugs, culture, broadcasting",
        ),
        (
            NewAccount {
                name: "reviewer-li",
                role: Role::Ministry,
                province: None,
                service_types: vec![],
                password: PASSWORD,
            },
            "an account named reviewer-li exists already",
        ),
    ];
    for (new, expected) in cases {
        let refused = reviewers::create(&mut client, &li, &new, NOW).unwrap_err();
        assert_eq!(refused.to_string(), expected);
    }
    assert_eq!(reviewers::list(&mut client).unwrap().len(), 1);
}

#[test]
fn a_reason_too_long_to_cross_back_is_refused_before_anything_changes() {
    let db = TestDatabase::with_schema().expect("db");
    apply_at(&db, 1, &[jia_filing(1, &["jia.example.cn"], 1)]);
    let li = ministry(&db);
    let before = events(&db);
    let reason = "地址不完整".repeat(100);
    let refused = decide(&db, |tx| review::reject(tx, "R1", &li, &reason, NOW)).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "receipt R1: the reason is 1500 bytes long; at most 1024 bytes (about 341 Chinese \
         characters) cross back to the submitter"
    );
    assert_eq!(state_of(&db, "R1"), "awaiting-regional-review");
    assert_eq!(events(&db), before);
}

#[test]
fn a_locked_out_reviewer_gets_back_in_only_with_a_new_password_set_by_its_authority() {
    let db = TestDatabase::with_schema().expect("db");
    let zhejiang = account(&db, "zj-01", Role::Authority, Some(33), &[]);
    let mut client = db.connect().unwrap();
    let made = NewAccount {
        name: "zj-med",
        role: Role::PreApproval,
        province: Some(33),
        service_types: vec!["medical".to_owned()],
        password: PASSWORD,
    };
    reviewers::create(&mut client, &zhejiang, &made, NOW).unwrap();
    for guess in 0..reviewers::MAX_FAILED_LOGINS {
        let _ = reviewers::authenticate(&mut client, "zj-med", &format!("guess-{guess}"), NOW);
    }
    assert!(matches!(
        reviewers::authenticate(&mut client, "zj-med", PASSWORD, NOW),
        Err(AuthError::Locked { .. })
    ));
    // Another province's authority may not set it; its own may, which lifts the lock.
    let beijing = account(&db, "bj-01", Role::Authority, Some(11), &[]);
    let refused = reviewers::set_password(&mut client, &beijing, "zj-med", "新的密码-2026-xyz");
    assert_eq!(
        refused.unwrap_err().to_string(),
        "reviewer bj-01 (authority, province 11) may not set the password of account zj-med"
    );
    reviewers::set_password(&mut client, &zhejiang, "zj-med", "新的密码-2026-xyz").unwrap();
    assert!(reviewers::authenticate(&mut client, "zj-med", PASSWORD, NOW).is_err());
    let med = reviewers::authenticate(&mut client, "zj-med", "新的密码-2026-xyz", NOW).unwrap();
    // A reviewer sets its own.
    reviewers::set_password(&mut client, &med, "zj-med", "我自己的密码-2026").unwrap();
    assert!(reviewers::authenticate(&mut client, "zj-med", "我自己的密码-2026", NOW).is_ok());
}

#[test]
fn a_page_session_ends_when_idle_too_long_or_too_old_whatever_its_use() {
    let db = TestDatabase::with_schema().expect("db");
    let li = ministry(&db);
    let mut client = db.connect().unwrap();
    let token = reviewers::start_session(&mut client, &li, NOW).unwrap();
    assert_eq!(
        reviewers::session(&mut client, &token, NOW + 60)
            .unwrap()
            .name(),
        "reviewer-li"
    );
    let idle = NOW + 60 + reviewers::IDLE_SECONDS + 1;
    assert!(matches!(
        reviewers::session(&mut client, &token, idle),
        Err(AuthError::SessionEnded)
    ));
    // Used every twenty minutes, a session still ends after eight hours.
    let token = reviewers::start_session(&mut client, &li, NOW).unwrap();
    let mut at = NOW;
    while at + 20 * 60 < NOW + reviewers::SESSION_SECONDS {
        at += 20 * 60;
        assert!(
            reviewers::session(&mut client, &token, at).is_ok(),
            "at {at}"
        );
    }
    assert!(matches!(
        reviewers::session(&mut client, &token, NOW + reviewers::SESSION_SECONDS),
        Err(AuthError::SessionEnded)
    ));
    // A made-up token is no session.
    assert!(matches!(
        reviewers::session(&mut client, &"0".repeat(64), NOW),
        Err(AuthError::SessionEnded)
    ));
}
