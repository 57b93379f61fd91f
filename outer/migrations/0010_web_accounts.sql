-- Accounts for people in a browser (the manuals' four outer user kinds): website owners register
-- themselves with an e-mailed code, the ministry account creates provincial authority accounts,
-- and an authority creates the access-provider accounts of its province.
--
-- SQLite cannot change a CHECK constraint in place, and rebuilding `accounts` would drop the
-- table that receipts, tokens and idempotency keys reference. So the kind moves to a new column
-- with the wider check: add it, copy, drop the old column (its check belongs to it alone) and
-- give the new one the old name. Its default is never used: every insert names the kind.
ALTER TABLE accounts ADD COLUMN kind_with_hierarchy TEXT NOT NULL DEFAULT 'website_owner'
    CHECK (kind_with_hierarchy IN
        ('ministry', 'authority', 'access_provider', 'website_owner', 'operator'));
UPDATE accounts SET kind_with_hierarchy = kind;
ALTER TABLE accounts DROP COLUMN kind;
ALTER TABLE accounts RENAME COLUMN kind_with_hierarchy TO kind;

-- An argon2id hash in the PHC string format; NULL for accounts that only hold API tokens and
-- for deleted ones.
ALTER TABLE accounts ADD COLUMN password_hash TEXT;
ALTER TABLE accounts ADD COLUMN email TEXT;
-- Set once the e-mailed code came back (registration) or a password was set from an e-mailed
-- code (accounts created by another); an owner cannot log in before.
ALTER TABLE accounts ADD COLUMN email_verified_at INTEGER;
-- The province (GB/T 2260 two-digit code) an authority or access-provider account serves.
ALTER TABLE accounts ADD COLUMN province TEXT;
-- The account that created this one (ministry -> authority -> access provider); NULL for
-- self-registered owners and for accounts made on the command line.
ALTER TABLE accounts ADD COLUMN created_by INTEGER REFERENCES accounts(id);
-- A deleted account keeps its row and its name for good: its receipts keep their status, and
-- the inner side knows filings by account name, so the name must never pass to someone else.
ALTER TABLE accounts ADD COLUMN deleted_at INTEGER;

-- A login. Only the SHA-256 of the cookie's secret is kept; the CSRF token of its forms is
-- stored as it is, since it is not a credential on its own.
CREATE TABLE sessions (
    session_hash BLOB PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    csrf_token   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);

-- An e-mailed code waiting to be typed in: one per account and purpose, replaced when a new
-- one is sent, deleted when used. Stored as a hash, with the wrong guesses counted.
CREATE TABLE email_codes (
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    purpose     TEXT NOT NULL CHECK (purpose IN ('verify', 'reset')),
    code_hash   BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    failures    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, purpose)
);

-- An owner's page lists the account's own receipts, newest first.
CREATE INDEX receipts_account ON receipts (account_id, created_at);
