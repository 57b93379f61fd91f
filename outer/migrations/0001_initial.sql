CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('website_owner', 'access_provider', 'operator')),
    disabled    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);
CREATE TABLE tokens (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    token_hash  BLOB NOT NULL UNIQUE,
    label       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
-- One row per receipt ever issued. It outlives every payload (DESIGN.md invariant 6).
CREATE TABLE receipts (
    receipt          TEXT PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts(id),
    kind             TEXT NOT NULL,
    latest_version   INTEGER NOT NULL,
    state            TEXT NOT NULL,
    state_version    INTEGER NOT NULL,
    reason           TEXT,
    filing_number    TEXT,
    bundle_sequence  INTEGER,
    in_transit_since INTEGER,
    last_event_id    INTEGER,
    certificate_ready INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX receipts_filing_number ON receipts(filing_number);
CREATE TABLE status_history (
    id              INTEGER PRIMARY KEY,
    receipt         TEXT NOT NULL REFERENCES receipts(receipt),
    version         INTEGER NOT NULL,
    state           TEXT NOT NULL,
    at              INTEGER NOT NULL,
    reason          TEXT,
    filing_number   TEXT,
    bundle_sequence INTEGER
);
CREATE INDEX status_history_receipt ON status_history(receipt, id);
-- Every accepted version. `payload` is the bincode encoding of records::SubmissionVersion and
-- becomes NULL only once a signed ack named this exact version and content hash.
CREATE TABLE submission_versions (
    receipt            TEXT NOT NULL REFERENCES receipts(receipt),
    version            INTEGER NOT NULL,
    content_hash       BLOB NOT NULL,
    submitted_at       INTEGER NOT NULL,
    submitter          TEXT NOT NULL,
    access_provider    TEXT,
    payload            BLOB,
    exported_bundle_id BLOB,
    exported_sequence  INTEGER,
    in_transit_since   INTEGER,
    acknowledged_at    INTEGER,
    ack_outcome        TEXT,
    payload_removed_at INTEGER,
    PRIMARY KEY (receipt, version)
);
CREATE INDEX submission_versions_unexported
    ON submission_versions(submitted_at) WHERE exported_sequence IS NULL AND payload IS NOT NULL;
CREATE TABLE idempotency_keys (
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    key           TEXT NOT NULL,
    request_hash  BLOB NOT NULL,
    receipt       TEXT NOT NULL,
    version       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (account_id, key)
);
CREATE TABLE certificates (
    filing_number TEXT PRIMARY KEY,
    receipt       TEXT NOT NULL,
    issued_at     INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    supersedes    TEXT,
    document      BLOB NOT NULL
);
