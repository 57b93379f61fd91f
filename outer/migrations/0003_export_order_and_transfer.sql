-- Export reads pending versions in (submitted_at, receipt, version) order; an index in that
-- order spares it sorting every pending payload (SQLite's sorter spills them to temp files).
DROP INDEX submission_versions_unexported;
CREATE INDEX submission_versions_unexported
    ON submission_versions(submitted_at, receipt, version)
    WHERE exported_sequence IS NULL AND payload IS NOT NULL;
-- The transfer tool's tables (sluice-transfer export and apply). Stores that transfer opened
-- before this migration existed already have them, hence IF NOT EXISTS.
-- Per submissions channel: where the chain stands.
CREATE TABLE IF NOT EXISTS transfer_send_state (
    channel       INTEGER PRIMARY KEY,
    epoch         INTEGER NOT NULL,
    next_sequence INTEGER NOT NULL,
    previous      BLOB NOT NULL
);
-- Every bundle written, kept (as a file in the retained outbox) until acknowledged.
CREATE TABLE IF NOT EXISTS transfer_outbox (
    bundle_id       BLOB PRIMARY KEY,
    channel         INTEGER NOT NULL,
    epoch           INTEGER NOT NULL,
    sequence        INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    file_name       TEXT NOT NULL,
    records         INTEGER NOT NULL,
    created         INTEGER NOT NULL,
    published_at    INTEGER,
    last_sent_at    INTEGER,
    send_count      INTEGER NOT NULL DEFAULT 0,
    acknowledged_at INTEGER,
    UNIQUE (channel, epoch, sequence)
);
-- Every return bundle applied: what makes apply exactly-once.
CREATE TABLE IF NOT EXISTS transfer_return_ledger (
    bundle_id  BLOB PRIMARY KEY,
    channel    INTEGER NOT NULL,
    epoch      INTEGER NOT NULL,
    sequence   INTEGER NOT NULL,
    previous   BLOB NOT NULL,
    file_name  TEXT NOT NULL,
    applied_at INTEGER NOT NULL,
    UNIQUE (channel, epoch, sequence)
);
