//! The public query of the filing system: look up approved websites by website name, domain,
//! home URL, filing number, IP address or organiser name. Only approved (active) records are
//! ever answered; pending, superseded, cancelled and rejected ones are invisible here. Every key
//! is served by a partial index over active rows.

use std::net::IpAddr;

use postgres::GenericClient;
use serde::Serialize;

use crate::filing_number;

/// Most websites one query answers with.
pub const MAX_RESULTS: i64 = 1000;

/// What to look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryKey {
    /// A website's exact name.
    WebsiteName(String),
    /// A domain exactly as filed (compared case-insensitively).
    Domain(String),
    /// A home URL exactly as filed.
    HomeUrl(String),
    /// A subject's filing number (all its websites) or a website's number with its suffix.
    FilingNumber(String),
    /// An IP address some website is served from.
    Ip(IpAddr),
    /// The organiser's exact name.
    OrganiserName(String),
}

/// One approved website as the public sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicRecord {
    /// The subject's filing number.
    pub filing_number: String,
    /// The website's number (filing number with suffix).
    pub website_number: String,
    /// The organiser's name.
    pub organiser: String,
    /// The organiser's nature (`enterprise`, `individual`…).
    pub organiser_nature: String,
    /// The website's name.
    pub website_name: String,
    /// Its domains.
    pub domains: Vec<String>,
    /// Its home URLs.
    pub home_urls: Vec<String>,
    /// When the filing was last approved, Unix seconds.
    pub approved_at: i64,
}

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// The database failed.
    #[error("database error while querying: {}", crate::store::describe(.0))]
    Database(#[from] postgres::Error),
}

/// The SQL of a query and its one parameter.
fn statement(
    key: &QueryKey,
) -> (
    String,
    Box<dyn postgres::types::ToSql + Sync + '_>,
    Option<i32>,
) {
    let select = |matching: &str| {
        format!(
            "WITH matching AS ({matching})
             SELECT f.filing_number, w.website_seq, s.name, s.nature, w.name,
                    ARRAY(SELECT d.domain FROM website_domains d
                          WHERE d.record_id = w.record_id AND d.active ORDER BY d.domain),
                    ARRAY(SELECT u.url FROM website_home_urls u
                          WHERE u.record_id = w.record_id AND u.active ORDER BY u.url),
                    f.last_approved_at
             FROM website_records w
             JOIN filings f ON f.filing_id = w.filing_id AND f.status = 'active'
             JOIN subject_records s ON s.filing_id = w.filing_id AND s.status = 'active'
             WHERE w.status = 'active' AND w.record_id IN (SELECT record_id FROM matching)
             ORDER BY f.filing_number, w.website_seq
             LIMIT {MAX_RESULTS}"
        )
    };
    let by_number = "SELECT w.record_id FROM filings f JOIN website_records w
                         ON w.filing_id = f.filing_id AND w.status = 'active'
                     WHERE f.filing_number = $1";
    match key {
        QueryKey::WebsiteName(name) => (
            select("SELECT record_id FROM website_records WHERE status = 'active' AND name = $1"),
            Box::new(name.as_str()),
            None,
        ),
        QueryKey::Domain(domain) => (
            select("SELECT record_id FROM website_domains WHERE active AND domain = $1"),
            Box::new(domain.trim().trim_end_matches('.').to_ascii_lowercase()),
            None,
        ),
        QueryKey::HomeUrl(url) => (
            select("SELECT record_id FROM website_home_urls WHERE active AND url = $1"),
            Box::new(url.trim()),
            None,
        ),
        QueryKey::FilingNumber(number) => {
            let number = number.trim();
            match filing_number::split_website_number(number) {
                Some((base, seq)) => (
                    select(&format!("{by_number} AND w.website_seq = $2")),
                    Box::new(base),
                    Some(seq),
                ),
                None => (select(by_number), Box::new(number), None),
            }
        }
        QueryKey::Ip(ip) => (
            select("SELECT record_id FROM website_ips WHERE active AND ips @> $1::inet"),
            Box::new(*ip),
            None,
        ),
        QueryKey::OrganiserName(name) => (
            select(
                "SELECT w.record_id FROM subject_records s JOIN website_records w
                     ON w.filing_id = s.filing_id AND w.status = 'active'
                 WHERE s.status = 'active' AND s.name = $1",
            ),
            Box::new(name.as_str()),
            None,
        ),
    }
}

fn run(
    client: &mut impl GenericClient,
    sql: &str,
    key: &QueryKey,
) -> Result<Vec<postgres::Row>, postgres::Error> {
    let (_, param, seq) = statement(key);
    match &seq {
        Some(seq) => client.query(sql, &[param.as_ref(), seq]),
        None => client.query(sql, &[param.as_ref()]),
    }
}

/// The server's plan for a query (`EXPLAIN`), for operators checking that a key is served by
/// its index.
pub fn plan(client: &mut impl GenericClient, key: &QueryKey) -> Result<String, QueryError> {
    let (sql, _, _) = statement(key);
    let rows = run(client, &format!("EXPLAIN {sql}"), key)?;
    Ok(rows
        .iter()
        .map(|row| row.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// Answers a public query from approved records only, ordered by website number.
pub fn query(
    client: &mut impl GenericClient,
    key: &QueryKey,
) -> Result<Vec<PublicRecord>, QueryError> {
    let (sql, _, _) = statement(key);
    let rows = run(client, &sql, key)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let number: String = row.get(0);
            let seq: i32 = row.get(1);
            PublicRecord {
                website_number: filing_number::website_number(&number, seq),
                filing_number: number,
                organiser: row.get(2),
                organiser_nature: row.get(3),
                website_name: row.get(4),
                domains: row.get(5),
                home_urls: row.get(6),
                approved_at: row.get::<_, Option<i64>>(7).unwrap_or_default(),
            }
        })
        .collect())
}
