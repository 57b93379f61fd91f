-- The access provider's check (待接入商核验) done outside. A version that waits for it (it brings
-- in access details and no access provider sent it: `filing::provider_check::needs_provider_check`)
-- keeps its payload after the inner side acknowledges it, so that the provider it names can be
-- shown the filing on its own page and API. It is still recorded delivered
-- (`acknowledged_at`); DESIGN.md invariant 3 says when a payload may go, not that it must.
-- The payload goes (`payload_removed_at` set, its row deleted) once a return bundle moves its
-- receipt out of `awaiting_provider_check`, or once a newer version of the receipt is stored
-- (the provider is shown only the latest version). Versions stored before this migration are not flagged: their payloads go on
-- their ack as before.
ALTER TABLE submission_versions
    ADD COLUMN kept_for_provider_check INTEGER NOT NULL DEFAULT 0
    CHECK (kept_for_provider_check IN (0, 1));
-- The kept payloads still held: few (those awaiting a check), looked at after every ack.
CREATE INDEX submission_versions_kept ON submission_versions (receipt, version)
    WHERE kept_for_provider_check = 1 AND payload_removed_at IS NULL;

-- The provider accounts a flagged version's access details name
-- (`filing::provider_check::named_providers`), so that a provider's list of what awaits its
-- check is an index lookup rather than a decoding of every kept payload.
CREATE TABLE provider_check_providers (
    receipt  TEXT NOT NULL,
    version  INTEGER NOT NULL,
    provider TEXT NOT NULL,
    PRIMARY KEY (receipt, version, provider),
    FOREIGN KEY (receipt, version) REFERENCES submission_versions (receipt, version)
) WITHOUT ROWID;
CREATE INDEX provider_check_providers_provider ON provider_check_providers (provider);

-- The checks sent from here, by the receipt and version they check: a provider does not send
-- a second check of a version while its first is on its way or accepted.
CREATE TABLE provider_checks_sent (
    check_receipt TEXT PRIMARY KEY REFERENCES receipts (receipt),
    receipt       TEXT NOT NULL,
    version       INTEGER NOT NULL,
    provider      TEXT NOT NULL
);
CREATE INDEX provider_checks_sent_checked ON provider_checks_sent (receipt, version);
