-- The access provider's check done outside (issue 15 item 3): the provider's decision crosses
-- inward as a submission of its own kind, `provider-check`, naming the receipt, version and
-- content hash it checked (inner::import::provider_check). It is an instruction, not a case:
-- its version row is kept (kind `provider-check`), it gets no `receipts` row.
ALTER TABLE submission_versions DROP CONSTRAINT submission_versions_kind_check;
ALTER TABLE submission_versions ADD CONSTRAINT submission_versions_kind_check
    CHECK (kind IN ('new-filing', 'change-subject', 'change-website', 'change-access',
                    'added-website', 'cancel-subject', 'cancel-website', 'cancel-access',
                    'withdrawal', 'provider-check'));

-- Which providers must check a version that waits for the check: one row per provider the
-- version's access details name (filing::provider_check::named_providers), written by the
-- import that stores the version. A provider's confirmation fills `confirmed_by` (the receipt of
-- its check); the version moves on when every provider named has confirmed. A version stored
-- before this migration gets its rows when the first check of it arrives, read from its stored
-- record.
CREATE TABLE provider_checks (
    receipt       text NOT NULL,
    version       bigint NOT NULL,
    provider      text NOT NULL,
    confirmed_by  text,
    confirmed_at  bigint,
    PRIMARY KEY (receipt, version, provider)
);
