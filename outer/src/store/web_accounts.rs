//! Accounts as people use them in a browser (migration 10): password hashes, e-mailed codes,
//! sessions, the accounts one account created, its API tokens, and deletion. The hashing and
//! the rules live in [`crate::accounts`]; this module only stores what it is given, so every
//! call here is quick and safe on the writer thread.

use rusqlite::{Connection, OptionalExtension, params};

use super::accounts::{AccountKind, IssuedToken, token_hash};
use super::{Store, StoreError, db, now};

/// Most API tokens an account may hold at once (revoked ones do not count).
pub const MAX_LIVE_TOKENS_PER_ACCOUNT: i64 = 20;
/// Most wrong guesses of one e-mailed code; the code is then thrown away.
pub const MAX_CODE_FAILURES: i64 = 5;
/// Seconds after which a self-registration whose e-mailed code never came back frees its
/// user name for someone else.
pub const UNVERIFIED_REGISTRATION_SECS: i64 = 24 * 3600;
/// Fewest seconds between two codes e-mailed to one account for one purpose.
pub const MIN_SECS_BETWEEN_CODES: i64 = 60;
/// Most accounts one account's page lists as created by it.
pub const MAX_LISTED_ACCOUNTS: i64 = 1000;

/// An account as its pages show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebAccount {
    /// Row id.
    pub id: i64,
    /// Unique user name.
    pub name: String,
    /// Kind.
    pub kind: AccountKind,
    /// Where codes are sent; `None` for accounts made on the command line without one.
    pub email: Option<String>,
    /// Province code of an authority or access provider.
    pub province: Option<String>,
    /// Whether the e-mail address was confirmed with a code.
    pub verified: bool,
    /// Disabled by an operator.
    pub disabled: bool,
    /// Unix seconds.
    pub created_at: i64,
}

/// What a login needs to decide: the account and its password hash.
#[derive(Clone, Debug)]
pub struct LoginRecord {
    /// The account.
    pub account: WebAccount,
    /// Argon2id PHC string; `None` when no password was ever set.
    pub password_hash: Option<String>,
}

/// A new account to store.
#[derive(Clone, Debug)]
pub struct NewWebAccount {
    /// User name, already checked.
    pub name: String,
    /// Kind.
    pub kind: AccountKind,
    /// E-mail address, already checked.
    pub email: String,
    /// Province code, for authorities and access providers.
    pub province: Option<String>,
    /// The account creating it (`None` for self-registration).
    pub created_by: Option<i64>,
    /// Argon2id PHC string; `None` until the person sets one from an e-mailed code.
    pub password_hash: Option<String>,
}

/// Why an e-mailed code is wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodePurpose {
    /// Confirms the e-mail address of a new registration.
    Verify,
    /// Sets a new password (a forgotten one, or the first one of an account another created).
    Reset,
}

impl CodePurpose {
    /// The word stored for it, and bound into its codes' hashes.
    pub fn as_str(self) -> &'static str {
        match self {
            CodePurpose::Verify => "verify",
            CodePurpose::Reset => "reset",
        }
    }
}

/// What became of a code typed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeOutcome {
    /// It matched and was used up; what it was for is done.
    Accepted,
    /// It did not match; this many guesses are left.
    Wrong {
        /// Guesses left before the code is thrown away.
        left: i64,
    },
    /// No code is waiting (never sent, used, expired or thrown away after too many guesses).
    NoneWaiting,
}

/// A login found by its cookie.
#[derive(Clone, Debug)]
pub struct Session {
    /// Whose.
    pub account: WebAccount,
    /// The token every form of this session carries.
    pub csrf_token: String,
}

/// An API token as its account's page lists it (never the secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    /// Row id.
    pub id: i64,
    /// What it is for.
    pub label: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds, once revoked.
    pub revoked_at: Option<i64>,
}

const ACCOUNT_COLUMNS: &str =
    "id, name, kind, email, province, email_verified_at IS NOT NULL, disabled, created_at";

fn account_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<WebAccount> {
    let kind: String = row.get(2)?;
    Ok(WebAccount {
        id: row.get(0)?,
        name: row.get(1)?,
        kind: AccountKind::parse(&kind).unwrap_or(AccountKind::WebsiteOwner),
        email: row.get(3)?,
        province: row.get(4)?,
        verified: row.get(5)?,
        disabled: row.get::<_, i64>(6)? != 0,
        created_at: row.get(7)?,
    })
}

fn live_account(conn: &Connection, id: i64) -> Result<WebAccount, StoreError> {
    conn.query_row(
        &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1 AND deleted_at IS NULL"),
        [id],
        account_row,
    )
    .optional()
    .map_err(db("reading an account"))?
    .ok_or_else(|| StoreError::NoSuchAccount(format!("#{id}")))
}

impl Store {
    /// Stores a new account. A name taken by any account, deleted ones included, is
    /// [`StoreError::AccountExists`], with one exception: a self-registration whose code
    /// never came back within [`UNVERIFIED_REGISTRATION_SECS`] frees its name (nobody could
    /// log in to it, so it never filed anything and the inner side never saw the name).
    pub async fn create_web_account(&self, new: NewWebAccount) -> Result<WebAccount, StoreError> {
        self.write(move |conn| {
            let created_at = now();
            let stale = "name = ?1 AND kind = 'website_owner' AND created_by IS NULL
                 AND password_hash IS NOT NULL AND email_verified_at IS NULL
                 AND deleted_at IS NULL AND created_at < ?2
                 AND NOT EXISTS (SELECT 1 FROM receipts r WHERE r.account_id = accounts.id)
                 AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.account_id = accounts.id)
                 AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.account_id = accounts.id)
                 AND NOT EXISTS (SELECT 1 FROM idempotency_keys k
                                 WHERE k.account_id = accounts.id)
                 AND NOT EXISTS (SELECT 1 FROM accounts c WHERE c.created_by = accounts.id)";
            let cutoff = created_at - UNVERIFIED_REGISTRATION_SECS;
            conn.execute(
                &format!(
                    "DELETE FROM email_codes WHERE account_id IN
                         (SELECT id FROM accounts WHERE {stale})"
                ),
                params![new.name, cutoff],
            )
            .map_err(db("freeing an unverified registration's name"))?;
            conn.execute(
                &format!("DELETE FROM accounts WHERE {stale}"),
                params![new.name, cutoff],
            )
            .map_err(db("freeing an unverified registration's name"))?;
            let inserted = conn.execute(
                "INSERT INTO accounts (name, kind, email, province, created_by, password_hash,
                                       created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    new.name,
                    new.kind.as_str(),
                    new.email,
                    new.province,
                    new.created_by,
                    new.password_hash,
                    created_at
                ],
            );
            match inserted {
                Ok(_) => {}
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    return Err(StoreError::AccountExists(new.name));
                }
                Err(source) => return Err(db("creating an account")(source)),
            }
            live_account(conn, conn.last_insert_rowid())
        })
        .await
    }

    /// The account a login names, with its password hash; `None` for an unknown or deleted
    /// name.
    pub async fn login_record(&self, name: &str) -> Result<Option<LoginRecord>, StoreError> {
        let name = name.to_owned();
        self.read(move |conn| {
            conn.query_row(
                &format!(
                    "SELECT {ACCOUNT_COLUMNS}, password_hash FROM accounts
                     WHERE name = ?1 AND deleted_at IS NULL"
                ),
                [name],
                |row| {
                    Ok(LoginRecord {
                        account: account_row(row)?,
                        password_hash: row.get(8)?,
                    })
                },
            )
            .optional()
            .map_err(db("reading an account"))
        })
        .await
    }

    /// Replaces the code waiting for `purpose` with a new one valid for `ttl_secs`, unless
    /// the one waiting was made less than [`MIN_SECS_BETWEEN_CODES`] ago: then nothing
    /// changes and the answer is `false` (send nothing), so nobody can flood an inbox or
    /// reset the wrong-guess count by asking again and again.
    pub async fn replace_code(
        &self,
        account_id: i64,
        purpose: CodePurpose,
        code_hash: [u8; 32],
        ttl_secs: i64,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| {
            let recent: Option<i64> = conn
                .query_row(
                    "SELECT created_at FROM email_codes
                     WHERE account_id = ?1 AND purpose = ?2 AND created_at > ?3",
                    params![account_id, purpose.as_str(), now() - MIN_SECS_BETWEEN_CODES],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db("reading a code"))?;
            if recent.is_some() {
                return Ok(false);
            }
            put_code(conn, account_id, purpose, &code_hash, ttl_secs)?;
            Ok(true)
        })
        .await
    }

    /// Checks a code typed in. When it matches, it is used up and its purpose done in the same
    /// commit: a verification marks the e-mail confirmed; a reset stores `new_password_hash`,
    /// marks the e-mail confirmed (the code reached it) and ends every session of the account.
    pub async fn use_code(
        &self,
        account_id: i64,
        purpose: CodePurpose,
        code_hash: [u8; 32],
        new_password_hash: Option<String>,
    ) -> Result<CodeOutcome, StoreError> {
        self.write(move |conn| {
            let waiting: Option<(Vec<u8>, i64, i64)> = conn
                .query_row(
                    "SELECT code_hash, expires_at, failures FROM email_codes
                     WHERE account_id = ?1 AND purpose = ?2",
                    params![account_id, purpose.as_str()],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()
                .map_err(db("reading a code"))?;
            let Some((stored, expires_at, failures)) = waiting else {
                return Ok(CodeOutcome::NoneWaiting);
            };
            let delete = |conn: &Connection| {
                conn.execute(
                    "DELETE FROM email_codes WHERE account_id = ?1 AND purpose = ?2",
                    params![account_id, purpose.as_str()],
                )
                .map_err(db("removing a code"))
            };
            if expires_at < now() {
                delete(conn)?;
                return Ok(CodeOutcome::NoneWaiting);
            }
            let matches: bool =
                subtle::ConstantTimeEq::ct_eq(stored.as_slice(), code_hash.as_slice()).into();
            if !matches {
                let failures = failures + 1;
                if failures >= MAX_CODE_FAILURES {
                    delete(conn)?;
                } else {
                    conn.execute(
                        "UPDATE email_codes SET failures = ?3 WHERE account_id = ?1 AND purpose = ?2",
                        params![account_id, purpose.as_str(), failures],
                    )
                    .map_err(db("counting a wrong code"))?;
                }
                return Ok(CodeOutcome::Wrong {
                    left: MAX_CODE_FAILURES - failures,
                });
            }
            delete(conn)?;
            let at = now();
            conn.execute(
                "UPDATE accounts SET email_verified_at = COALESCE(email_verified_at, ?2)
                 WHERE id = ?1",
                params![account_id, at],
            )
            .map_err(db("confirming an e-mail address"))?;
            if purpose == CodePurpose::Reset {
                conn.execute(
                    "UPDATE accounts SET password_hash = ?2 WHERE id = ?1",
                    params![account_id, new_password_hash],
                )
                .map_err(db("setting a password"))?;
                end_sessions(conn, account_id, None)?;
            }
            Ok(CodeOutcome::Accepted)
        })
        .await
    }

    /// Stores a new password hash and ends every other session of the account.
    pub async fn change_password(
        &self,
        account_id: i64,
        password_hash: String,
        keep_session: [u8; 32],
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.execute(
                "UPDATE accounts SET password_hash = ?2 WHERE id = ?1 AND deleted_at IS NULL",
                params![account_id, password_hash],
            )
            .map_err(db("changing a password"))?;
            end_sessions(conn, account_id, Some(&keep_session))
        })
        .await
    }

    /// Starts a session lasting `ttl_secs`, stored by the hash of its cookie's secret.
    pub async fn create_session(
        &self,
        account_id: i64,
        session_hash: [u8; 32],
        csrf_token: String,
        ttl_secs: i64,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            let at = now();
            // Sessions that ran out are cleared as new ones start, so the table stays small.
            conn.execute("DELETE FROM sessions WHERE expires_at < ?1", [at])
                .map_err(db("clearing expired sessions"))?;
            conn.execute(
                "INSERT INTO sessions (session_hash, account_id, csrf_token, created_at,
                                       last_seen_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
                params![&session_hash[..], account_id, csrf_token, at, at + ttl_secs],
            )
            .map_err(db("starting a session"))?;
            Ok(())
        })
        .await
    }

    /// The live session with this hash, of an account neither disabled nor deleted.
    pub async fn session(&self, session_hash: [u8; 32]) -> Result<Option<Session>, StoreError> {
        self.read(move |conn| {
            conn.query_row(
                &format!(
                    "SELECT {}, s.csrf_token FROM sessions s JOIN accounts a ON a.id = s.account_id
                     WHERE s.session_hash = ?1 AND s.expires_at >= ?2
                       AND a.deleted_at IS NULL AND a.disabled = 0",
                    ACCOUNT_COLUMNS
                        .split(", ")
                        .map(|column| format!("a.{column}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                params![&session_hash[..], now()],
                |row| {
                    Ok(Session {
                        account: account_row(row)?,
                        csrf_token: row.get(8)?,
                    })
                },
            )
            .optional()
            .map_err(db("reading a session"))
        })
        .await
    }

    /// Ends one session (logout).
    pub async fn end_session(&self, session_hash: [u8; 32]) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.execute(
                "DELETE FROM sessions WHERE session_hash = ?1",
                [&session_hash[..]],
            )
            .map_err(db("ending a session"))?;
            Ok(())
        })
        .await
    }

    /// Deletes an account for good: its password, e-mail address, sessions, codes and tokens
    /// go; its row stays (disabled, marked deleted) so its receipts keep their status and its
    /// name is never given to anyone else.
    pub async fn delete_web_account(&self, account_id: i64) -> Result<(), StoreError> {
        self.write(move |conn| {
            let at = now();
            conn.execute(
                "UPDATE accounts SET deleted_at = ?2, disabled = 1, password_hash = NULL,
                                     email = NULL
                 WHERE id = ?1 AND deleted_at IS NULL",
                params![account_id, at],
            )
            .map_err(db("deleting an account"))?;
            conn.execute(
                "UPDATE tokens SET revoked_at = ?2 WHERE account_id = ?1 AND revoked_at IS NULL",
                params![account_id, at],
            )
            .map_err(db("revoking a deleted account's tokens"))?;
            conn.execute(
                "DELETE FROM email_codes WHERE account_id = ?1",
                [account_id],
            )
            .map_err(db("removing a deleted account's codes"))?;
            end_sessions(conn, account_id, None)
        })
        .await
    }

    /// The accounts `creator` created, by name.
    pub async fn accounts_created_by(&self, creator: i64) -> Result<Vec<WebAccount>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM accounts
                     WHERE created_by = ?1 AND deleted_at IS NULL ORDER BY name LIMIT ?2"
                ))
                .map_err(db("listing accounts"))?;
            stmt.query_map(params![creator, MAX_LISTED_ACCOUNTS], account_row)
                .and_then(Iterator::collect)
                .map_err(db("listing accounts"))
        })
        .await
    }

    /// An account's API tokens, newest first (revoked ones too, marked).
    pub async fn tokens_of(&self, account_id: i64) -> Result<Vec<TokenInfo>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT id, label, created_at, revoked_at FROM tokens WHERE account_id = ?1
                     ORDER BY id DESC LIMIT 100",
                )
                .map_err(db("listing tokens"))?;
            stmt.query_map([account_id], |row| {
                Ok(TokenInfo {
                    id: row.get(0)?,
                    label: row.get(1)?,
                    created_at: row.get(2)?,
                    revoked_at: row.get(3)?,
                })
            })
            .and_then(Iterator::collect)
            .map_err(db("listing tokens"))
        })
        .await
    }

    /// Issues an API token to an account from its own page, within
    /// [`MAX_LIVE_TOKENS_PER_ACCOUNT`]; `None` when the account holds that many already.
    pub async fn issue_token_for(
        &self,
        account_id: i64,
        label: String,
    ) -> Result<Option<IssuedToken>, StoreError> {
        let secret = super::accounts::new_token_secret();
        let hash = token_hash(&secret);
        self.write(move |conn| {
            let live: i64 = conn
                .query_row(
                    "SELECT count(*) FROM tokens WHERE account_id = ?1 AND revoked_at IS NULL",
                    [account_id],
                    |row| row.get(0),
                )
                .map_err(db("counting tokens"))?;
            if live >= MAX_LIVE_TOKENS_PER_ACCOUNT {
                return Ok(None);
            }
            conn.execute(
                "INSERT INTO tokens (account_id, token_hash, label, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![account_id, &hash[..], label, now()],
            )
            .map_err(db("storing a token"))?;
            Ok(Some(IssuedToken {
                id: conn.last_insert_rowid(),
                secret,
            }))
        })
        .await
    }

    /// Revokes one of the account's own tokens; another account's token is
    /// [`StoreError::NoSuchToken`], as an unknown one is.
    pub async fn revoke_own_token(&self, account_id: i64, token_id: i64) -> Result<(), StoreError> {
        self.write(move |conn| {
            let changed = conn
                .execute(
                    "UPDATE tokens SET revoked_at = ?3
                     WHERE id = ?1 AND account_id = ?2 AND revoked_at IS NULL",
                    params![token_id, account_id, now()],
                )
                .map_err(db("revoking a token"))?;
            if changed == 0 {
                return Err(StoreError::NoSuchToken(token_id));
            }
            Ok(())
        })
        .await
    }
}

impl Store {
    /// The status of an account's own receipts, newest first, at most `limit`.
    pub async fn receipts_of_account(
        &self,
        account_id: i64,
        limit: i64,
    ) -> Result<Vec<super::ReceiptStatus>, StoreError> {
        self.read(move |conn| {
            let receipts: Vec<String> = conn
                .prepare_cached(
                    "SELECT receipt FROM receipts WHERE account_id = ?1
                     ORDER BY created_at DESC, receipt DESC LIMIT ?2",
                )
                .and_then(|mut stmt| {
                    stmt.query_map(params![account_id, limit], |row| row.get(0))?
                        .collect::<Result<Vec<_>, _>>()
                })
                .map_err(db("listing an account's receipts"))?;
            let mut found = Vec::with_capacity(receipts.len());
            for receipt in receipts {
                if let Some(status) = super::status::read_status(conn, &receipt)? {
                    found.push(status);
                }
            }
            Ok(found)
        })
        .await
    }
}

fn put_code(
    conn: &Connection,
    account_id: i64,
    purpose: CodePurpose,
    code_hash: &[u8; 32],
    ttl_secs: i64,
) -> Result<(), StoreError> {
    let at = now();
    conn.execute(
        "INSERT OR REPLACE INTO email_codes (account_id, purpose, code_hash, created_at,
                                             expires_at, failures)
         VALUES (?1, ?2, ?3, ?4, ?5, 0)",
        params![
            account_id,
            purpose.as_str(),
            &code_hash[..],
            at,
            at + ttl_secs
        ],
    )
    .map_err(db("storing a code"))?;
    Ok(())
}

fn end_sessions(
    conn: &Connection,
    account_id: i64,
    keep: Option<&[u8; 32]>,
) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM sessions WHERE account_id = ?1 AND session_hash IS NOT ?2",
        params![account_id, keep.map(|hash| &hash[..])],
    )
    .map_err(db("ending sessions"))?;
    Ok(())
}
