//! Reviewer accounts inside, the manuals' three inner user kinds: the **ministry** (every
//! province, every stage; creates authority accounts), a provincial **authority** (its
//! province's provider check and regional review; creates pre-approval reviewers for its
//! province) and a **pre-approval** reviewer (its province's pre-approval stage, for the service
//! types it confirms). The operator makes the first ministry account with [`bootstrap_ministry`];
//! every other account is made by an account allowed to ([`create`]).
//!
//! A [`Reviewer`] exists only by [`authenticate`] (or [`bootstrap_ministry`]): name and
//! password checked against an Argon2id hash, with five wrong passwords in a row locking the
//! account for a quarter of an hour. Every decision in [`crate::review`] takes one, checks it
//! against the submission's stage and province ([`Reviewer::may_decide`]) and records the
//! account on the review event.

use postgres::GenericClient;
use serde::Serialize;

mod password;
mod rules;
mod sessions;

pub use self::password::{MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};
pub use self::rules::{NotAllowed, PRE_APPROVAL_SERVICE_TYPES};
pub use self::sessions::{IDLE_SECONDS, SESSION_SECONDS, end_session, session, start_session};
use crate::store::describe;

/// Wrong passwords in a row after which an account refuses every login for [`LOCKOUT_SECONDS`].
pub const MAX_FAILED_LOGINS: i32 = 5;
/// How long a locked account refuses logins.
pub const LOCKOUT_SECONDS: i64 = 15 * 60;
/// Most reviewer accounts one listing returns.
pub const MAX_LISTED: i64 = 10_000;

/// What a reviewer account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The ministry (部): every province and stage; creates authority and ministry accounts.
    Ministry,
    /// A provincial authority (省通信管理局): its province's provider check and regional review.
    Authority,
    /// A pre-approval body (前置审批部门): its province's pre-approval stage, for its service
    /// types.
    PreApproval,
}

impl Role {
    /// The role's name in the database and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Role::Ministry => "ministry",
            Role::Authority => "authority",
            Role::PreApproval => "pre-approval",
        }
    }

    /// Parses a name written by [`Role::name`].
    pub fn parse(name: &str) -> Option<Role> {
        [Role::Ministry, Role::Authority, Role::PreApproval]
            .into_iter()
            .find(|r| r.name() == name)
    }
}

/// An authenticated reviewer. Only [`authenticate`] and [`bootstrap_ministry`] make one; a
/// decision reads the account again in its own transaction, so one disabled meanwhile decides
/// nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reviewer {
    account_id: i64,
    name: String,
    role: Role,
    province: Option<i16>,
    service_types: Vec<String>,
}

impl Reviewer {
    /// The account's id (`reviewer_accounts.account_id`).
    pub fn account_id(&self) -> i64 {
        self.account_id
    }
    /// The account name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The role.
    pub fn role(&self) -> Role {
        self.role
    }
    /// The province (two-digit GB/T 2260 code); none for the ministry.
    pub fn province(&self) -> Option<i16> {
        self.province
    }
    /// The pre-approval service types a pre-approval reviewer confirms.
    pub fn service_types(&self) -> &[String] {
        &self.service_types
    }
}

/// A reviewer account as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    /// Account name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Province, none for the ministry.
    pub province: Option<i16>,
    /// Pre-approval service types (pre-approval reviewers only).
    pub service_types: Vec<String>,
    /// Name of the account that created it; none for the operator's bootstrap account.
    pub created_by: Option<String>,
    /// When it was created, Unix seconds.
    pub created_at: i64,
    /// When it was disabled, if it was.
    pub disabled_at: Option<i64>,
}

/// An account to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount<'a> {
    /// Account name: 2 to 32 letters (Latin or Chinese), digits, `_`, `-` or `.`.
    pub name: &'a str,
    /// Role.
    pub role: Role,
    /// Province; required for an authority or pre-approval reviewer, none for the ministry.
    pub province: Option<i16>,
    /// Service types a pre-approval reviewer confirms (some of
    /// [`PRE_APPROVAL_SERVICE_TYPES`]); none for the other roles.
    pub service_types: Vec<String>,
    /// Its first password.
    pub password: &'a str,
}

/// Why an account could not be made, changed or listed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// The database failed.
    #[error("database error while {step}: {}", describe(source))]
    Database {
        /// What was being done.
        step: &'static str,
        /// The error.
        #[source]
        source: postgres::Error,
    },
    /// Something about the new account is not acceptable.
    #[error("account {name}: {problem}")]
    Invalid {
        /// The account name given.
        name: String,
        /// What is wrong and what to give instead.
        problem: String,
    },
    /// The name is taken.
    #[error("an account named {0} exists already")]
    NameTaken(String),
    /// The reviewer may not do this.
    #[error(transparent)]
    NotAllowed(#[from] NotAllowed),
    /// A ministry account exists, so the operator may not bootstrap another.
    #[error(
        "a ministry account exists already ({0}); further accounts are created by it with \
         `sluice-inner reviewers create`"
    )]
    MinistryExists(String),
    /// No such account.
    #[error("no reviewer account named {0}")]
    UnknownAccount(String),
    /// The password could not be hashed.
    #[error("{0}")]
    Hash(String),
}

/// Why a login failed. The messages never say whether a name exists.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The database failed.
    #[error("database error while {step}: {}", describe(source))]
    Database {
        /// What was being done.
        step: &'static str,
        /// The error.
        #[source]
        source: postgres::Error,
    },
    /// Unknown name or wrong password.
    #[error("reviewer {0}: wrong name or password")]
    WrongCredentials(String),
    /// Too many wrong passwords in a row.
    #[error(
        "reviewer {name}: locked after {MAX_FAILED_LOGINS} wrong passwords; try again after \
         {until}",
        until = keys::time::rfc3339(*until)
    )]
    Locked {
        /// The account.
        name: String,
        /// Unix seconds when logins are accepted again.
        until: i64,
    },
    /// The account was disabled.
    #[error("reviewer {0}: the account is disabled")]
    Disabled(String),
    /// A page session is unknown or has ended (signed out, too long idle or too old, or its
    /// account was disabled).
    #[error("the session has ended; sign in again")]
    SessionEnded,
}

fn account_db(step: &'static str) -> impl FnOnce(postgres::Error) -> AccountError {
    move |source| AccountError::Database { step, source }
}

fn auth_db(step: &'static str) -> impl FnOnce(postgres::Error) -> AuthError {
    move |source| AuthError::Database { step, source }
}

/// Checks name and password and returns the reviewer. Call it outside the transaction of the
/// decision it is for: a wrong password is counted in its own statement, which must stay
/// committed even though the caller then gives up.
pub fn authenticate(
    client: &mut impl GenericClient,
    name: &str,
    password: &str,
    now: i64,
) -> Result<Reviewer, AuthError> {
    let row = client
        .query_opt(
            "SELECT account_id, role, province, service_types, password_hash, disabled_at,
                    locked_until
             FROM reviewer_accounts WHERE name = $1",
            &[&name],
        )
        .map_err(auth_db("reading the reviewer account"))?;
    let Some(row) = row else {
        password::verify_nothing(password);
        return Err(AuthError::WrongCredentials(name.to_owned()));
    };
    let account_id: i64 = row.get(0);
    let locked_until: Option<i64> = row.get(6);
    if let Some(until) = locked_until.filter(|until| *until > now) {
        return Err(AuthError::Locked {
            name: name.to_owned(),
            until,
        });
    }
    let stored: String = row.get(4);
    if !password::verify(password, &stored) {
        // Counted in one statement, so concurrent failures all count.
        client
            .execute(
                "UPDATE reviewer_accounts SET
                    failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0
                                         ELSE failed_logins + 1 END,
                    locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3
                                        ELSE locked_until END
                 WHERE account_id = $1",
                &[&account_id, &MAX_FAILED_LOGINS, &(now + LOCKOUT_SECONDS)],
            )
            .map_err(auth_db("counting a wrong password"))?;
        return Err(AuthError::WrongCredentials(name.to_owned()));
    }
    let disabled_at: Option<i64> = row.get(5);
    if disabled_at.is_some() {
        return Err(AuthError::Disabled(name.to_owned()));
    }
    client
        .execute(
            "UPDATE reviewer_accounts SET failed_logins = 0, locked_until = NULL
             WHERE account_id = $1 AND (failed_logins <> 0 OR locked_until IS NOT NULL)",
            &[&account_id],
        )
        .map_err(auth_db("clearing the wrong-password count"))?;
    let role: String = row.get(1);
    Ok(Reviewer {
        account_id,
        name: name.to_owned(),
        role: Role::parse(&role).unwrap_or(Role::PreApproval),
        province: row.get(2),
        service_types: row.get(3),
    })
}

/// The reviewer `account_id` as it is now, read (and share-locked) in the caller's
/// transaction; `None` if it is gone or disabled.
pub(crate) fn current(
    client: &mut impl GenericClient,
    account_id: i64,
) -> Result<Option<Reviewer>, postgres::Error> {
    Ok(client
        .query_opt(
            "SELECT name, role, province, service_types FROM reviewer_accounts
             WHERE account_id = $1 AND disabled_at IS NULL FOR SHARE",
            &[&account_id],
        )?
        .map(|row| {
            let role: String = row.get(1);
            Reviewer {
                account_id,
                name: row.get(0),
                role: Role::parse(&role).unwrap_or(Role::PreApproval),
                province: row.get(2),
                service_types: row.get(3),
            }
        }))
}

/// Creates the first ministry account, as the operator does on a new installation (or after
/// every ministry account was disabled). Refused while an enabled ministry account exists.
pub fn bootstrap_ministry(
    client: &mut postgres::Client,
    name: &str,
    password: &str,
    now: i64,
) -> Result<Reviewer, AccountError> {
    let new = NewAccount {
        name,
        role: Role::Ministry,
        province: None,
        service_types: Vec::new(),
        password,
    };
    check(&new)?;
    let hash = password::hash(password).map_err(AccountError::Hash)?;
    let mut tx = client.transaction().map_err(account_db("beginning"))?;
    // Two operators bootstrapping at once: one of them waits and then sees the other's account.
    tx.batch_execute("LOCK TABLE reviewer_accounts IN SHARE ROW EXCLUSIVE MODE")
        .map_err(account_db("locking the reviewer accounts"))?;
    if let Some(row) = tx
        .query_opt(
            "SELECT name FROM reviewer_accounts
             WHERE role = 'ministry' AND disabled_at IS NULL ORDER BY account_id LIMIT 1",
            &[],
        )
        .map_err(account_db("looking for a ministry account"))?
    {
        return Err(AccountError::MinistryExists(row.get(0)));
    }
    let reviewer = insert(&mut tx, &new, &hash, None, now)?;
    tx.commit().map_err(account_db("committing the account"))?;
    Ok(reviewer)
}

/// Creates an account as `by`, if `by` may create one of that role and province.
pub fn create(
    client: &mut postgres::Client,
    by: &Reviewer,
    new: &NewAccount<'_>,
    now: i64,
) -> Result<Account, AccountError> {
    check(new)?;
    by.may_create(new.role, new.province)?;
    let hash = password::hash(new.password).map_err(AccountError::Hash)?;
    let mut tx = client.transaction().map_err(account_db("beginning"))?;
    let creator = current(&mut tx, by.account_id)
        .map_err(account_db("reading the creating account"))?
        .ok_or_else(|| AccountError::UnknownAccount(by.name.clone()))?;
    creator.may_create(new.role, new.province)?;
    let made = insert(&mut tx, new, &hash, Some(by.account_id), now)?;
    tx.commit().map_err(account_db("committing the account"))?;
    Ok(Account {
        name: made.name,
        role: made.role,
        province: made.province,
        service_types: made.service_types,
        created_by: Some(by.name.clone()),
        created_at: now,
        disabled_at: None,
    })
}

/// Disables the account `name` as `by`. A disabled account logs in no more, and a decision it
/// had started is refused; its past decisions keep naming it.
pub fn disable(
    client: &mut postgres::Client,
    by: &Reviewer,
    name: &str,
    now: i64,
) -> Result<(), AccountError> {
    let mut tx = client.transaction().map_err(account_db("beginning"))?;
    let by = current(&mut tx, by.account_id)
        .map_err(account_db("reading the disabling account"))?
        .ok_or_else(|| AccountError::UnknownAccount(by.name.clone()))?;
    let row = tx
        .query_opt(
            "SELECT role, province FROM reviewer_accounts
             WHERE name = $1 AND disabled_at IS NULL FOR UPDATE",
            &[&name],
        )
        .map_err(account_db("reading the account"))?
        .ok_or_else(|| AccountError::UnknownAccount(name.to_owned()))?;
    let role: String = row.get(0);
    let role = Role::parse(&role).unwrap_or(Role::PreApproval);
    by.may_disable(name, role, row.get(1))?;
    tx.execute(
        "UPDATE reviewer_accounts SET disabled_at = $2 WHERE name = $1",
        &[&name, &now],
    )
    .map_err(account_db("disabling the account"))?;
    tx.commit().map_err(account_db("committing"))?;
    Ok(())
}

/// Sets the password of the account `name` as `by`: its own, or one `by` may disable (the
/// ministry any other account; an authority its province's pre-approval reviewers). Clears a
/// lock, so it is also how a locked-out reviewer gets back in before the lock ends.
pub fn set_password(
    client: &mut postgres::Client,
    by: &Reviewer,
    name: &str,
    password: &str,
) -> Result<(), AccountError> {
    password::check_new(name, password).map_err(|problem| AccountError::Invalid {
        name: name.to_owned(),
        problem,
    })?;
    let hash = password::hash(password).map_err(AccountError::Hash)?;
    let mut tx = client.transaction().map_err(account_db("beginning"))?;
    let by = current(&mut tx, by.account_id)
        .map_err(account_db("reading the acting account"))?
        .ok_or_else(|| AccountError::UnknownAccount(by.name.clone()))?;
    if name != by.name {
        let row = tx
            .query_opt(
                "SELECT role, province FROM reviewer_accounts WHERE name = $1 FOR UPDATE",
                &[&name],
            )
            .map_err(account_db("reading the account"))?
            .ok_or_else(|| AccountError::UnknownAccount(name.to_owned()))?;
        let role: String = row.get(0);
        by.may_disable(
            name,
            Role::parse(&role).unwrap_or(Role::PreApproval),
            row.get(1),
        )
        .map_err(|refused| NotAllowed {
            problem: format!("may not set the password of account {name}"),
            ..refused
        })?;
    }
    tx.execute(
        "UPDATE reviewer_accounts SET password_hash = $2, failed_logins = 0, locked_until = NULL
         WHERE name = $1",
        &[&name, &hash],
    )
    .map_err(account_db("setting the password"))?;
    tx.commit().map_err(account_db("committing"))?;
    Ok(())
}

/// Every account, oldest first (at most [`MAX_LISTED`]). No password hash leaves the database.
pub fn list(client: &mut impl GenericClient) -> Result<Vec<Account>, AccountError> {
    Ok(client
        .query(
            &format!(
                "SELECT a.name, a.role, a.province, a.service_types, c.name, a.created_at,
                        a.disabled_at
                 FROM reviewer_accounts a
                 LEFT JOIN reviewer_accounts c ON c.account_id = a.created_by
                 ORDER BY a.account_id LIMIT {MAX_LISTED}"
            ),
            &[],
        )
        .map_err(account_db("listing the reviewer accounts"))?
        .iter()
        .map(|row| {
            let role: String = row.get(1);
            Account {
                name: row.get(0),
                role: Role::parse(&role).unwrap_or(Role::PreApproval),
                province: row.get(2),
                service_types: row.get(3),
                created_by: row.get(4),
                created_at: row.get(5),
                disabled_at: row.get(6),
            }
        })
        .collect())
}

fn insert(
    tx: &mut postgres::Transaction<'_>,
    new: &NewAccount<'_>,
    hash: &str,
    created_by: Option<i64>,
    now: i64,
) -> Result<Reviewer, AccountError> {
    let inserted = tx
        .query_opt(
            "INSERT INTO reviewer_accounts (name, role, province, service_types, password_hash,
                                            created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (name) DO NOTHING RETURNING account_id",
            &[
                &new.name,
                &new.role.name(),
                &new.province,
                &new.service_types,
                &hash,
                &created_by,
                &now,
            ],
        )
        .map_err(account_db("creating the account"))?
        .ok_or_else(|| AccountError::NameTaken(new.name.to_owned()))?;
    Ok(Reviewer {
        account_id: inserted.get(0),
        name: new.name.to_owned(),
        role: new.role,
        province: new.province,
        service_types: new.service_types.clone(),
    })
}

/// Checks a new account's name, province, service types and password.
fn check(new: &NewAccount<'_>) -> Result<(), AccountError> {
    let invalid = |problem: String| AccountError::Invalid {
        name: new.name.to_owned(),
        problem,
    };
    check_name(new.name).map_err(invalid)?;
    match (new.role, new.province) {
        (Role::Ministry, Some(p)) => {
            return Err(invalid(format!(
                "a ministry account covers every province; give no province (got {p})"
            )));
        }
        (Role::Authority | Role::PreApproval, None) => {
            return Err(invalid(format!(
                "an {} account needs a province (two-digit code, e.g. 33 for Zhejiang)",
                new.role.name()
            )));
        }
        (_, Some(p))
            if u32::try_from(p)
                .ok()
                .and_then(filing::province::prefix_of_province)
                .is_none() =>
        {
            return Err(invalid(format!(
                "{p} is not the code of one of the 31 provincial authorities"
            )));
        }
        _ => {}
    }
    match new.role {
        Role::PreApproval if new.service_types.is_empty() => {
            return Err(invalid(format!(
                "a pre-approval reviewer needs the service types it confirms (some of {})",
                PRE_APPROVAL_SERVICE_TYPES.join(", ")
            )));
        }
        Role::PreApproval => {
            if let Some(unknown) = new
                .service_types
                .iter()
                .find(|s| !PRE_APPROVAL_SERVICE_TYPES.contains(&s.as_str()))
            {
                return Err(invalid(format!(
                    "{unknown:?} is not a service type that needs a pre-approval; one of {}",
                    PRE_APPROVAL_SERVICE_TYPES.join(", ")
                )));
            }
        }
        Role::Ministry | Role::Authority if !new.service_types.is_empty() => {
            return Err(invalid(format!(
                "only pre-approval reviewers have service types, not a {} account",
                new.role.name()
            )));
        }
        _ => {}
    }
    password::check_new(new.name, new.password).map_err(invalid)
}

/// An account name: 2 to 32 characters, Latin letters, Chinese characters, digits, `_`, `-`,
/// `.`, beginning with a letter, Chinese character or digit.
pub fn check_name(name: &str) -> Result<(), String> {
    let count = name.chars().count();
    if !(2..=32).contains(&count) {
        return Err(format!("the name has {count} characters; give 2 to 32"));
    }
    let word = |c: char| c.is_ascii_alphanumeric() || ('\u{4e00}'..='\u{9fff}').contains(&c);
    if !name.chars().next().is_some_and(word) {
        return Err("the name must begin with a letter, a Chinese character or a digit".to_owned());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !word(*c) && !matches!(c, '_' | '-' | '.'))
    {
        return Err(format!(
            "the name has {bad:?}; use letters, Chinese characters, digits, _, - and . only"
        ));
    }
    Ok(())
}
