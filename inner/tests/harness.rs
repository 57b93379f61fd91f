//! The throwaway PostgreSQL harness and the migrations, against a real server.

use inner::schema::{MIGRATIONS, migrate};
use inner::testing::TestDatabase;

#[test]
fn each_test_database_starts_empty_and_is_separate() {
    let first = TestDatabase::new().expect("first database");
    let second = TestDatabase::new().expect("second database");
    assert_ne!(first.name(), second.name());
    let mut a = first.connect().expect("connect first");
    a.batch_execute("CREATE TABLE only_here (x int)")
        .expect("create");
    let mut b = second.connect().expect("connect second");
    let count: i64 = b
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .expect("count")
        .get(0);
    assert_eq!(count, 0, "a new test database has no tables");
}

#[test]
fn connection_string_reaches_the_same_database() {
    let db = TestDatabase::new().expect("database");
    let config: postgres::Config = db.connection_string().parse().expect("parses");
    let mut client = config.connect(postgres::NoTls).expect("connect by string");
    let name: String = client
        .query_one("SELECT current_database()", &[])
        .expect("query")
        .get(0);
    assert_eq!(name, db.name());
}

#[test]
fn server_is_reachable_only_over_a_unix_socket() {
    let db = TestDatabase::new().expect("database");
    if std::env::var_os(inner::testing::DATABASE_URL_ENV).is_some() {
        // An external server listens wherever its operator chose; what the harness owns there
        // is the naming of its databases.
        assert!(db.name().starts_with("sluice_test_"), "{}", db.name());
        return;
    }
    let mut client = db.connect().expect("connect");
    let listen: String = client
        .query_one("SHOW listen_addresses", &[])
        .expect("show")
        .get(0);
    assert_eq!(listen, "");
    let user: String = client
        .query_one(
            "SELECT usename::text FROM pg_stat_activity WHERE pid = pg_backend_pid()",
            &[],
        )
        .expect("user")
        .get(0);
    assert_eq!(user, "postgres");
}

#[test]
fn migrations_apply_from_empty_then_are_a_no_op() {
    let db = TestDatabase::new().expect("database");
    let mut client = db.connect().expect("connect");
    let report = migrate(&mut client).expect("migrate from empty");
    let all: Vec<i32> = MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(report.applied, all);
    for table in [
        "bundles",
        "filings",
        "receipts",
        "submission_versions",
        "website_domains",
        "review_events",
        "certificates",
        "return_queue",
    ] {
        let exists: bool = client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
            .expect("lookup")
            .get(0);
        assert!(exists, "table {table} after migrating");
    }
    let again = migrate(&mut client).expect("migrate again");
    assert!(again.applied.is_empty());
    assert_eq!(again.current, report.current);
}

#[test]
fn an_edited_migration_is_refused() {
    let db = TestDatabase::with_schema().expect("database");
    let mut client = db.connect().expect("connect");
    client
        .batch_execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
        .expect("tamper");
    let error = migrate(&mut client).expect_err("edited migration");
    assert!(
        error.to_string().contains("applied with different text"),
        "{error}"
    );
}
