//! Accounts and their API tokens: who may submit, batch-upload or read everything, and the one
//! lookup every authenticated request makes. Only a token's hash is stored. The CLI creates and
//! revokes these, hence the blocking calls.

use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::{Store, StoreError, db, now};

/// Kinds of account, which decide what a token may do. The first four are the filing manuals'
/// outer user kinds, whose hierarchy is [`AccountKind::may_create`]; operators run the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccountKind {
    /// The ministry: creates the provincial authority accounts.
    Ministry,
    /// A provincial communications authority: creates the access-provider accounts of its
    /// province.
    Authority,
    /// Submits its own filings one at a time.
    WebsiteOwner,
    /// Submits for its customers, one at a time or in batches.
    AccessProvider,
    /// Runs the service; reads every receipt.
    Operator,
}

impl AccountKind {
    /// Every kind.
    pub const ALL: [AccountKind; 5] = [
        AccountKind::Ministry,
        AccountKind::Authority,
        AccountKind::WebsiteOwner,
        AccountKind::AccessProvider,
        AccountKind::Operator,
    ];

    /// The kind's name in the database, on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Ministry => "ministry",
            AccountKind::Authority => "authority",
            AccountKind::WebsiteOwner => "website_owner",
            AccountKind::AccessProvider => "access_provider",
            AccountKind::Operator => "operator",
        }
    }

    /// The kind of account this kind may create from its own page: the ministry creates
    /// authorities, an authority creates access providers (of its own province); nobody else
    /// creates accounts from a page (owners register themselves, operators and the ministry
    /// are made on the command line).
    pub fn may_create(self) -> Option<AccountKind> {
        match self {
            AccountKind::Ministry => Some(AccountKind::Authority),
            AccountKind::Authority => Some(AccountKind::AccessProvider),
            _ => None,
        }
    }

    /// Parses a name written by [`AccountKind::as_str`] (dashes are accepted for underscores).
    pub fn parse(name: &str) -> Option<AccountKind> {
        let name = name.replace('-', "_");
        AccountKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

impl std::fmt::Display for AccountKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An account as listed by `accounts list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// What its tokens may do.
    pub kind: AccountKind,
    /// Disabled accounts' tokens are refused.
    pub disabled: bool,
    /// Unix seconds.
    pub created_at: i64,
}

/// Who a valid token belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Account row id.
    pub account_id: i64,
    /// Account name.
    pub account: String,
    /// Account kind.
    pub kind: AccountKind,
    /// Token row id (rate limits are per token).
    pub token_id: i64,
}

/// A token just issued: the secret is shown once and stored only hashed.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    /// Token row id, for `tokens revoke`.
    pub id: i64,
    /// The bearer secret.
    pub secret: String,
}

/// A new random bearer token: 32 bytes from the operating system, in hex.
pub(super) fn new_token_secret() -> String {
    use rand_core::RngCore;
    let mut secret_bytes = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut secret_bytes);
    format!("sluice_{}", hex::encode(secret_bytes))
}

/// SHA-256 of a bearer token, the only form the store keeps.
pub fn token_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

impl Store {
    /// Creates an account.
    pub fn add_account(&self, name: &str, kind: AccountKind) -> Result<Account, StoreError> {
        let name = name.to_owned();
        self.write_blocking(move |conn| {
            let created_at = now();
            match conn.execute(
                "INSERT INTO accounts (name, kind, created_at) VALUES (?1, ?2, ?3)",
                params![name, kind.as_str(), created_at],
            ) {
                Ok(_) => {}
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    return Err(StoreError::AccountExists(name));
                }
                Err(source) => return Err(db("creating an account")(source)),
            }
            Ok(Account {
                id: conn.last_insert_rowid(),
                name,
                kind,
                disabled: false,
                created_at,
            })
        })
    }

    /// Every account, by name.
    pub fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.read_blocking(|conn| {
            let mut stmt = conn
                .prepare("SELECT id, name, kind, disabled, created_at FROM accounts ORDER BY name")
                .map_err(db("listing accounts"))?;
            let rows = stmt
                .query_map([], |row| {
                    let kind: String = row.get(2)?;
                    Ok(Account {
                        id: row.get(0)?,
                        name: row.get(1)?,
                        kind: AccountKind::parse(&kind).unwrap_or(AccountKind::WebsiteOwner),
                        disabled: row.get::<_, i64>(3)? != 0,
                        created_at: row.get(4)?,
                    })
                })
                .map_err(db("listing accounts"))?;
            rows.collect::<Result<Vec<_>, _>>()
                .map_err(db("listing accounts"))
        })
    }

    /// Disables (or re-enables) an account; its tokens stop (or start) working at once.
    pub fn set_account_disabled(&self, name: &str, disabled: bool) -> Result<(), StoreError> {
        let name = name.to_owned();
        self.write_blocking(move |conn| {
            let changed = conn
                .execute(
                    "UPDATE accounts SET disabled = ?2 WHERE name = ?1",
                    params![name, disabled],
                )
                .map_err(db("disabling an account"))?;
            if changed == 0 {
                return Err(StoreError::NoSuchAccount(name));
            }
            Ok(())
        })
    }

    /// Records the e-mail address (and the province) of an account made on the command line,
    /// so that its person can set a password from a code sent there (the ministry account).
    pub fn set_account_contact(
        &self,
        name: &str,
        email: Option<&str>,
        province: Option<&str>,
    ) -> Result<(), StoreError> {
        let (name, email, province) = (
            name.to_owned(),
            email.map(str::to_owned),
            province.map(str::to_owned),
        );
        self.write_blocking(move |conn| {
            let changed = conn
                .execute(
                    "UPDATE accounts SET email = COALESCE(?2, email),
                                         province = COALESCE(?3, province)
                     WHERE name = ?1 AND deleted_at IS NULL",
                    params![name, email, province],
                )
                .map_err(db("recording an account's e-mail address"))?;
            if changed == 0 {
                return Err(StoreError::NoSuchAccount(name));
            }
            Ok(())
        })
    }

    /// Issues a new API token for an account; only its hash is stored.
    pub fn issue_token(&self, account: &str, label: &str) -> Result<IssuedToken, StoreError> {
        let secret = new_token_secret();
        let hash = token_hash(&secret);
        let account = account.to_owned();
        let label = label.to_owned();
        let id = self.write_blocking(move |conn| {
            let account_id: Option<i64> = conn
                .query_row(
                    "SELECT id FROM accounts WHERE name = ?1 AND deleted_at IS NULL",
                    [&account],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db("finding an account"))?;
            let account_id = account_id.ok_or_else(|| StoreError::NoSuchAccount(account.clone()))?;
            conn.execute(
                "INSERT INTO tokens (account_id, token_hash, label, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![account_id, &hash[..], label, now()],
            )
            .map_err(db("storing a token"))?;
            Ok(conn.last_insert_rowid())
        })?;
        Ok(IssuedToken { id, secret })
    }

    /// Revokes a token by id.
    pub fn revoke_token(&self, id: i64) -> Result<(), StoreError> {
        self.write_blocking(move |conn| {
            let changed = conn
                .execute(
                    "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                    params![id, now()],
                )
                .map_err(db("revoking a token"))?;
            if changed == 0 {
                return Err(StoreError::NoSuchToken(id));
            }
            Ok(())
        })
    }

    /// Finds who a bearer token belongs to; `None` for unknown, revoked or disabled.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<Principal>, StoreError> {
        let hash = token_hash(secret);
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT a.id, a.name, a.kind, t.id FROM tokens t JOIN accounts a ON a.id = t.account_id
                 WHERE t.token_hash = ?1 AND t.revoked_at IS NULL AND a.disabled = 0",
            )
            .and_then(|mut stmt| {
                stmt.query_row([&hash[..]], |row| {
                    let kind: String = row.get(2)?;
                    Ok(Principal {
                        account_id: row.get(0)?,
                        account: row.get(1)?,
                        kind: AccountKind::parse(&kind).unwrap_or(AccountKind::WebsiteOwner),
                        token_id: row.get(3)?,
                    })
                })
                .optional()
            })
            .map_err(db("checking a token"))
        })
        .await
    }
}
