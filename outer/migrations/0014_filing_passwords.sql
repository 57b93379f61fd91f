-- The filing password (备案密码, issue 15 item 4) outside. It arrives once from the inner side
-- in a return bundle (a `FilingPassword` record, bundle format version 7) for a receipt this
-- store issued; the store keeps its own salted hash (a salt of its own, so the inner side's
-- hash is never needed here), and the password itself only until the owner of the receipt
-- has seen it once on their filings page: the statement that shows it clears it. Anyone with
-- the filing number and the password downloads the filing's certificate without an account.
-- Nothing here is ever listed by the API.
CREATE TABLE filing_passwords (
    filing_number TEXT PRIMARY KEY,
    -- The receipt whose approval issued it; its account is the one shown the password.
    receipt       TEXT NOT NULL REFERENCES receipts (receipt),
    issued_at     INTEGER NOT NULL,
    salt          BLOB NOT NULL CHECK (length(salt) = 16),
    hash          BLOB NOT NULL CHECK (length(hash) = 32),
    -- The password as shown, until its owner has seen it; then NULL, with when.
    unseen        TEXT,
    shown_at      INTEGER,
    CHECK ((unseen IS NULL) = (shown_at IS NOT NULL))
);
CREATE INDEX filing_passwords_unseen ON filing_passwords (receipt) WHERE unseen IS NOT NULL;
