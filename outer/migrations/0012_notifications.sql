-- E-mail notifications of outcomes that crossed back (issue 15 item 6): one row per event and
-- recipient, queued in the transaction that applies the event, so an event is queued exactly
-- once; sent (with retries) by the intake service and `sluice-outer notify`, and marked sent
-- once the relay took it, so it is never sent twice.
CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    event_key       TEXT NOT NULL,    -- `status:<event id>` or `revocation:<filing>:<receipt>`
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    receipt         TEXT NOT NULL,
    outcome         TEXT NOT NULL CHECK (outcome IN ('approved', 'returned', 'rejected', 'revoked')),
    filing_number   TEXT,
    reason          TEXT,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    sent_at         INTEGER,
    UNIQUE (event_key, account_id)
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE sent_at IS NULL;
