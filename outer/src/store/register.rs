//! The public register outside: what the inner side's register records (SPEC.md §6.3, wire
//! version 4) say of each approved filing — filing number, subject name and nature, website
//! numbers, names and domains, approval date, nothing personal — and the public query over it
//! by website name, domain or filing number. A removal (the filing cancelled or revoked)
//! drops the filing's websites and domains and keeps only when and why it left.

use bundle_format::records::{RegisterEntry, RegisterRemoval};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::{Store, StoreError, db};

/// Most websites one public query answers with.
pub const MAX_REGISTER_RESULTS: usize = 50;
/// Most characters of what a public query looks for (at most 800 bytes of UTF-8).
pub const MAX_REGISTER_QUERY_CHARS: usize = 200;

/// What a public query looks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegisterQuery {
    /// A website's name, exactly.
    WebsiteName(String),
    /// A domain as filed (compared in lower case, without a trailing dot).
    Domain(String),
    /// A subject's filing number (all its websites) or a website's number with its suffix.
    FilingNumber(String),
}

/// One website of the register, as the public query shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RegisterWebsiteView {
    /// The subject's filing number.
    pub filing_number: String,
    /// The website's number (filing number with its suffix).
    pub website_number: String,
    /// The subject's name.
    pub subject_name: String,
    /// The subject's nature (`enterprise`, `individual`…).
    pub subject_nature: String,
    /// The website's name.
    pub website_name: String,
    /// Its domains as filed.
    pub domains: Vec<String>,
    /// When the filing was last approved, Unix seconds.
    pub approved_at: i64,
}

/// The event of the row held for `filing_number`, if any.
fn held_event(conn: &Connection, filing_number: &str) -> Result<Option<i64>, StoreError> {
    conn.prepare_cached("SELECT event FROM public_register WHERE filing_number = ?1")
        .and_then(|mut stmt| stmt.query_row([filing_number], |row| row.get(0)).optional())
        .map_err(db("reading the public register"))
}

fn event_of(event: u64) -> i64 {
    i64::try_from(event).unwrap_or(i64::MAX)
}

/// Stores a filing's register entry on `conn` in place of what is held for its number, unless
/// what is held is as new or newer; returns whether it changed anything.
pub fn apply_register_entry_on(
    conn: &Connection,
    entry: &RegisterEntry,
) -> Result<bool, StoreError> {
    let event = event_of(entry.event);
    if held_event(conn, &entry.filing_number)?.is_some_and(|held| held >= event) {
        return Ok(false);
    }
    conn.prepare_cached(
        "INSERT INTO public_register (filing_number, event, subject_name, subject_nature,
                                      approved_at, removed_at, removal_reason)
         VALUES (?1, ?2, ?3, ?4, ?5, NULL, NULL)
         ON CONFLICT (filing_number) DO UPDATE SET event = excluded.event,
            subject_name = excluded.subject_name, subject_nature = excluded.subject_nature,
            approved_at = excluded.approved_at, removed_at = NULL, removal_reason = NULL",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            entry.filing_number,
            event,
            entry.subject_name,
            entry.subject_nature,
            entry.approved_at
        ])
    })
    .map_err(db("storing a register entry"))?;
    drop_websites(conn, &entry.filing_number)?;
    for website in &entry.websites {
        conn.prepare_cached(
            "INSERT INTO public_register_websites (website_number, filing_number, name, domains)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (website_number) DO UPDATE SET filing_number = excluded.filing_number,
                name = excluded.name, domains = excluded.domains",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                website.website_number,
                entry.filing_number,
                website.name,
                website.domains.join("\n")
            ])
        })
        .map_err(db("storing a register website"))?;
        for domain in &website.domains {
            conn.prepare_cached(
                "INSERT INTO public_register_domains (domain, website_number) VALUES (?1, ?2)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![normalise_domain(domain), website.website_number])
            })
            .map_err(db("storing a register domain"))?;
        }
    }
    Ok(true)
}

/// Removes a filing from the register on `conn` (its websites and domains go; its row keeps
/// when and why), unless what is held is newer; returns whether it changed anything.
pub fn apply_register_removal_on(
    conn: &Connection,
    removal: &RegisterRemoval,
) -> Result<bool, StoreError> {
    let event = event_of(removal.event);
    if held_event(conn, &removal.filing_number)?.is_some_and(|held| held >= event) {
        return Ok(false);
    }
    drop_websites(conn, &removal.filing_number)?;
    conn.prepare_cached(
        "INSERT INTO public_register (filing_number, event, subject_name, subject_nature,
                                      approved_at, removed_at, removal_reason)
         VALUES (?1, ?2, NULL, NULL, NULL, ?3, ?4)
         ON CONFLICT (filing_number) DO UPDATE SET event = excluded.event,
            subject_name = NULL, subject_nature = NULL, approved_at = NULL,
            removed_at = excluded.removed_at, removal_reason = excluded.removal_reason",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            removal.filing_number,
            event,
            removal.removed_at,
            removal.reason
        ])
    })
    .map_err(db("removing a register entry"))?;
    Ok(true)
}

fn drop_websites(conn: &Connection, filing_number: &str) -> Result<(), StoreError> {
    // The domains go with their websites (ON DELETE CASCADE).
    conn.prepare_cached("DELETE FROM public_register_websites WHERE filing_number = ?1")
        .and_then(|mut stmt| stmt.execute([filing_number]))
        .map_err(db("dropping a filing's register websites"))?;
    Ok(())
}

/// A domain as the register compares it: trimmed, lower case, without a trailing dot.
pub fn normalise_domain(domain: &str) -> String {
    domain.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Answers a public query on `conn`: the websites in the register that match, by website
/// number, at most [`MAX_REGISTER_RESULTS`].
pub fn query_register_on(
    conn: &Connection,
    query: &RegisterQuery,
) -> Result<Vec<RegisterWebsiteView>, StoreError> {
    let (matching, key): (&str, String) = match query {
        RegisterQuery::WebsiteName(name) => (
            "SELECT website_number FROM public_register_websites WHERE name = ?1",
            name.trim().to_owned(),
        ),
        RegisterQuery::Domain(domain) => (
            "SELECT website_number FROM public_register_domains WHERE domain = ?1",
            normalise_domain(domain),
        ),
        RegisterQuery::FilingNumber(number) => {
            let number = number.trim();
            if filing::number::split_website_number(number).is_some() {
                (
                    "SELECT website_number FROM public_register_websites
                     WHERE website_number = ?1",
                    number.to_owned(),
                )
            } else {
                (
                    "SELECT website_number FROM public_register_websites WHERE filing_number = ?1",
                    number.to_owned(),
                )
            }
        }
    };
    let limit = i64::try_from(MAX_REGISTER_RESULTS).unwrap_or(i64::MAX);
    let sql = format!(
        "SELECT r.filing_number, w.website_number, r.subject_name, r.subject_nature, w.name,
                w.domains, r.approved_at
         FROM public_register_websites w
         JOIN public_register r ON r.filing_number = w.filing_number
         WHERE r.removed_at IS NULL AND w.website_number IN ({matching})
         ORDER BY r.filing_number, length(w.website_number), w.website_number
         LIMIT ?2"
    );
    let mut stmt = conn
        .prepare_cached(&sql)
        .map_err(db("querying the public register"))?;
    let rows = stmt
        .query_map(params![key, limit], |row| {
            let domains: String = row.get(5)?;
            Ok(RegisterWebsiteView {
                filing_number: row.get(0)?,
                website_number: row.get(1)?,
                subject_name: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
                subject_nature: row.get::<_, Option<String>>(3)?.unwrap_or_default(),
                website_name: row.get(4)?,
                domains: domains.lines().map(str::to_owned).collect(),
                approved_at: row.get::<_, Option<i64>>(6)?.unwrap_or_default(),
            })
        })
        .map_err(db("querying the public register"))?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(db("reading the public register"))
}

/// When and why a filing left the register, if it did.
pub fn register_removal_on(
    conn: &Connection,
    filing_number: &str,
) -> Result<Option<(i64, String)>, StoreError> {
    conn.prepare_cached(
        "SELECT removed_at, coalesce(removal_reason, '') FROM public_register
         WHERE filing_number = ?1 AND removed_at IS NOT NULL",
    )
    .and_then(|mut stmt| {
        stmt.query_row([filing_number], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()
    })
    .map_err(db("reading the public register"))
}

impl Store {
    /// [`query_register_on`] on a reader.
    pub async fn query_register(
        &self,
        query: RegisterQuery,
    ) -> Result<Vec<RegisterWebsiteView>, StoreError> {
        self.read(move |conn| query_register_on(conn, &query)).await
    }

    /// [`register_removal_on`] on a reader.
    pub async fn register_removal(
        &self,
        filing_number: &str,
    ) -> Result<Option<(i64, String)>, StoreError> {
        let filing_number = filing_number.to_owned();
        self.read(move |conn| register_removal_on(conn, &filing_number))
            .await
    }
}
