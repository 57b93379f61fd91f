-- The approved record outside (issue 15 item 3): a filing as approved inside, carried back in an
-- `ApprovedRecord` (bundle format version 8) for a filing whose first receipt this store issued,
-- so that its owner (that receipt's account) and the access provider recorded for each of its
-- websites can read it after the submission's payload was deleted, and start a change from it.
-- Nobody else is shown it: it is personal.
--
-- `event` is the inner side's counter: a record changes a filing's row only if its event is
-- newer, so bundles applied in any order leave the newest. A withdrawn filing (cancelled or
-- revoked) keeps its row without the record, with when and why, so that an older record
-- applied later cannot bring it back.
CREATE TABLE approved_records (
    filing_number     TEXT PRIMARY KEY,
    event             INTEGER NOT NULL CHECK (event >= 0),
    -- The filing's first receipt; its account is the owner.
    origin_receipt    TEXT NOT NULL REFERENCES receipts (receipt),
    -- When the decision that sent it was made inside.
    decided_at        INTEGER NOT NULL,
    -- The wire encoding of the `Record::ApprovedRecord` while the filing is in service.
    record            BLOB,
    withdrawn_reason  TEXT,
    CHECK ((record IS NULL) = (withdrawn_reason IS NOT NULL))
);
CREATE INDEX approved_records_origin ON approved_records (origin_receipt);

-- The access providers the record's websites name, by account name: who else may read it.
CREATE TABLE approved_record_providers (
    filing_number TEXT NOT NULL REFERENCES approved_records (filing_number) ON DELETE CASCADE,
    provider      TEXT NOT NULL,
    PRIMARY KEY (filing_number, provider)
);
CREATE INDEX approved_record_providers_provider ON approved_record_providers (provider);
