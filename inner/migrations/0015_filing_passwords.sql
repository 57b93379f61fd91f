-- The filing password (备案密码, issue 15 item 4). Approval issues it beside the filing's first
-- certificate, in the same transaction; inside only its salted hash is kept (filing::password
-- says why SHA-256 with a salt of the filing's own is enough for a random password of 80 bits).
-- The password itself leaves once, in a `filing-password` record of the return queue, for the
-- intake node whose channel created the receipt approved; once a return bundle carries it, the
-- queued record keeps the filing number and receipt but no longer the password
-- (inner::returns::mark_sent). A re-approval after a change keeps the password, as the
-- manuals' system keeps it per filing.
CREATE TABLE filing_passwords (
    filing_id  bigint PRIMARY KEY REFERENCES filings,
    -- The receipt whose approval issued it: whose owner is given it outside.
    receipt    text NOT NULL,
    salt       bytea NOT NULL CHECK (length(salt) = 16),
    hash       bytea NOT NULL CHECK (length(hash) = 32),
    issued_at  bigint NOT NULL
);

ALTER TABLE return_queue DROP CONSTRAINT return_queue_kind_check;
ALTER TABLE return_queue ADD CONSTRAINT return_queue_kind_check
    CHECK (kind IN ('ack', 'status-change', 'certificate', 'bundle-refusal',
                    'certificate-revocation', 'register-entry', 'register-removal',
                    'filing-password'));
