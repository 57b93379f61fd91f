-- Revocation by the authority (撤销), and the public register that crosses back out.
--
-- A provincial authority (or the ministry) may revoke an approved filing, or one of its
-- websites, with a reason. The revoked records keep their rows, marked `revoked`, and their
-- domains, IP ranges and home URLs become inactive, which frees the domains for another
-- filing. Each revocation is kept in `revocations` with the account that made it: the
-- filing's history of what the regulator did.
ALTER TABLE filings DROP CONSTRAINT filings_status_check;
ALTER TABLE filings ADD CONSTRAINT filings_status_check
    CHECK (status IN ('pending', 'active', 'cancelled', 'rejected', 'withdrawn', 'revoked'));
ALTER TABLE subject_records DROP CONSTRAINT subject_records_status_check;
ALTER TABLE subject_records ADD CONSTRAINT subject_records_status_check
    CHECK (status IN ('pending', 'active', 'superseded', 'cancelled', 'discarded', 'revoked'));
ALTER TABLE website_records DROP CONSTRAINT website_records_status_check;
ALTER TABLE website_records ADD CONSTRAINT website_records_status_check
    CHECK (status IN ('pending', 'active', 'superseded', 'cancelled', 'discarded', 'revoked'));

CREATE TABLE revocations (
    revocation_id    bigserial PRIMARY KEY,
    filing_id        bigint NOT NULL REFERENCES filings,
    filing_number    text NOT NULL,
    -- The website's suffix when one website was revoked; NULL for the whole filing.
    website_seq      integer CHECK (website_seq >= 1),
    -- Whether the revocation ended the whole filing (a revoked last website does too).
    whole_filing     boolean NOT NULL,
    reason           text NOT NULL CHECK (char_length(reason) >= 1 AND octet_length(reason) <= 1024),
    reviewer         text NOT NULL,
    reviewer_account bigint NOT NULL REFERENCES reviewer_accounts,
    at               bigint NOT NULL
);
CREATE INDEX revocations_filing ON revocations (filing_id, revocation_id);

-- The public register (number, subject name, website numbers, names, domains, approval
-- date; nothing personal) crosses back out as records of its own, stored in the queue as
-- their wire encoding like certificates. They concern every intake node, so each is queued
-- once per submissions channel known (inner::returns). Their event ids come from one counter,
-- so the outer side can keep the newest per filing number whatever order bundles are read in.
ALTER TABLE return_queue DROP CONSTRAINT return_queue_kind_check;
ALTER TABLE return_queue ADD CONSTRAINT return_queue_kind_check
    CHECK (kind IN ('ack', 'status-change', 'certificate', 'bundle-refusal',
                    'certificate-revocation', 'register-entry', 'register-removal'));
CREATE SEQUENCE register_events;
