-- The inner store, first schema. Times are Unix seconds (bigint), as on the wire.
-- Unsigned wire integers (u32 channel, u64 epoch and sequence) are stored in bigint; the code
-- refuses values above i64::MAX before they reach SQL.

-- An inclusive range of IP addresses, so that "which filing serves this address" is one GiST
-- lookup.
CREATE TYPE inetrange AS RANGE (subtype = inet);

-- The import ledger: one row per submissions bundle applied, written in the same transaction as
-- its data (that is what makes an import happen exactly once). Two bundles with one
-- (channel, epoch, sequence) are a fork and can never both be here.
CREATE TABLE bundles (
    bundle_id        bytea PRIMARY KEY CHECK (length(bundle_id) = 32),
    channel          bigint NOT NULL CHECK (channel BETWEEN 0 AND 4294967295),
    epoch            bigint NOT NULL CHECK (epoch >= 0),
    sequence         bigint NOT NULL CHECK (sequence >= 0),
    signer_key_id    bytea NOT NULL CHECK (length(signer_key_id) = 8),
    created          bigint NOT NULL,
    imported_at      bigint NOT NULL,
    submission_count integer NOT NULL CHECK (submission_count >= 0),
    UNIQUE (channel, epoch, sequence)
);

-- A filing: one subject and its websites. Its number is assigned at first approval.
CREATE TABLE filings (
    filing_id         bigserial PRIMARY KEY,
    origin_receipt    text NOT NULL UNIQUE,
    province          smallint NOT NULL CHECK (province BETWEEN 11 AND 65),
    status            text NOT NULL CHECK (status IN ('pending', 'active', 'cancelled', 'rejected', 'withdrawn')),
    filing_number     text UNIQUE,
    next_website_seq  integer NOT NULL DEFAULT 1 CHECK (next_website_seq >= 1),
    first_approved_at bigint,
    last_approved_at  bigint,
    CHECK (status <> 'active' OR filing_number IS NOT NULL)
);

-- The last serial handed out per province and year. Numbers are never reused: this only grows,
-- and the row lock of the increment makes concurrent approvals take turns.
CREATE TABLE filing_number_serials (
    province    smallint NOT NULL,
    year        integer NOT NULL,
    last_serial integer NOT NULL CHECK (last_serial BETWEEN 1 AND 999999),
    PRIMARY KEY (province, year)
);

-- Record statuses shared by subject and website records: a submission writes `pending` rows,
-- approval makes them `active` and the rows they replace `superseded`.
CREATE TABLE subject_records (
    record_id                    bigserial PRIMARY KEY,
    filing_id                    bigint NOT NULL REFERENCES filings,
    receipt                      text NOT NULL,
    status                       text NOT NULL CHECK (status IN ('pending', 'active', 'superseded', 'cancelled', 'discarded')),
    name                         text NOT NULL,
    nature                       text NOT NULL,
    certificate_type             text NOT NULL,
    certificate_number           text NOT NULL,
    region_code                  integer NOT NULL,
    address                      text NOT NULL,
    investor                     text NOT NULL,
    principal_name               text NOT NULL,
    principal_certificate_type   text NOT NULL,
    principal_certificate_number text NOT NULL,
    principal_mobile_phones      text[] NOT NULL,
    principal_office_phones      text[] NOT NULL,
    principal_email              text NOT NULL
);
CREATE UNIQUE INDEX subject_records_one_active ON subject_records (filing_id) WHERE status = 'active';
CREATE INDEX subject_records_receipt ON subject_records (receipt);
CREATE INDEX subject_records_active_name ON subject_records (name) WHERE status = 'active';
CREATE INDEX subject_records_active_certificate ON subject_records (certificate_number) WHERE status = 'active';

CREATE TABLE website_records (
    record_id                    bigserial PRIMARY KEY,
    filing_id                    bigint NOT NULL REFERENCES filings,
    receipt                      text NOT NULL,
    status                       text NOT NULL CHECK (status IN ('pending', 'active', 'superseded', 'cancelled', 'discarded')),
    -- The `-n` suffix of the website's number; given at first approval, kept by later versions.
    website_seq                  integer CHECK (website_seq >= 1),
    name                         text NOT NULL,
    service_types                text[] NOT NULL,
    principal_name               text NOT NULL,
    principal_certificate_type   text NOT NULL,
    principal_certificate_number text NOT NULL,
    principal_mobile_phones      text[] NOT NULL,
    principal_office_phones      text[] NOT NULL,
    principal_email              text NOT NULL,
    CHECK (status <> 'active' OR website_seq IS NOT NULL)
);
CREATE UNIQUE INDEX website_records_one_active ON website_records (filing_id, website_seq) WHERE status = 'active';
CREATE INDEX website_records_receipt ON website_records (receipt);
CREATE INDEX website_records_filing ON website_records (filing_id);
CREATE INDEX website_records_active_name ON website_records (name) WHERE status = 'active';

-- Child rows of a website record. They are written and replaced together with their record;
-- `active` mirrors the record's status so that the public indexes stay small and partial.
CREATE TABLE website_access (
    record_id          bigint PRIMARY KEY REFERENCES website_records ON DELETE CASCADE,
    provider           text NOT NULL,
    method             text NOT NULL,
    server_region_code integer NOT NULL,
    cancelled          boolean NOT NULL DEFAULT false
);

CREATE TABLE website_domains (
    record_id bigint NOT NULL REFERENCES website_records ON DELETE CASCADE,
    filing_id bigint NOT NULL REFERENCES filings,
    domain    text NOT NULL,
    active    boolean NOT NULL DEFAULT false
);
CREATE INDEX website_domains_record ON website_domains (record_id);
CREATE INDEX website_domains_domain ON website_domains (domain);
-- What must never happen: one domain actively filed twice (by two subjects, or twice by one).
CREATE UNIQUE INDEX website_domains_one_active ON website_domains (domain) WHERE active;

CREATE TABLE website_ips (
    record_id bigint NOT NULL REFERENCES website_records ON DELETE CASCADE,
    filing_id bigint NOT NULL REFERENCES filings,
    ips       inetrange NOT NULL,
    active    boolean NOT NULL DEFAULT false
);
CREATE INDEX website_ips_record ON website_ips (record_id);
CREATE INDEX website_ips_active ON website_ips USING gist (ips) WHERE active;

CREATE TABLE website_home_urls (
    record_id bigint NOT NULL REFERENCES website_records ON DELETE CASCADE,
    url       text NOT NULL,
    active    boolean NOT NULL DEFAULT false
);
CREATE INDEX website_home_urls_record ON website_home_urls (record_id);
CREATE INDEX website_home_urls_active ON website_home_urls (url) WHERE active;

CREATE TABLE website_pre_approvals (
    record_id       bigint NOT NULL REFERENCES website_records ON DELETE CASCADE,
    item            text NOT NULL,
    document_number text NOT NULL
);
CREATE INDEX website_pre_approvals_record ON website_pre_approvals (record_id);

-- Every submission version ever received, kept verbatim (its wire encoding) for audit, with the
-- bundle it came in and what the import did with it.
CREATE TABLE submission_versions (
    receipt         text NOT NULL,
    version         bigint NOT NULL CHECK (version >= 0),
    content_hash    bytea NOT NULL CHECK (length(content_hash) = 32),
    bundle_id       bytea NOT NULL REFERENCES bundles,
    bundle_position integer NOT NULL,
    submitted_at    bigint NOT NULL,
    submitter       text NOT NULL,
    access_provider text,
    encoded         bytea NOT NULL,
    outcome         text NOT NULL CHECK (outcome IN ('applied', 'conflict', 'rejected', 'superseded')),
    reason          text,
    received_at     bigint NOT NULL,
    PRIMARY KEY (receipt, version, content_hash)
);
CREATE INDEX submission_versions_bundle ON submission_versions (bundle_id);

-- One row per receipt that entered review: its latest accepted version and review state.
CREATE TABLE receipts (
    receipt             text PRIMARY KEY,
    version             bigint NOT NULL,
    content_hash        bytea NOT NULL,
    kind                text NOT NULL CHECK (kind IN ('new-filing', 'change-subject', 'change-website',
                            'change-access', 'added-website', 'cancel-subject', 'cancel-website',
                            'cancel-access', 'withdrawal')),
    filing_id           bigint REFERENCES filings,
    target_website_seq  integer,
    target_receipt      text,
    province            smallint NOT NULL,
    state               text NOT NULL CHECK (state IN ('delivered', 'awaiting-provider-check',
                            'awaiting-pre-approval', 'awaiting-regional-review', 'returned-to-provider',
                            'returned-to-submitter', 'approved', 'rejected', 'cancelled', 'withdrawn')),
    state_since         bigint NOT NULL,
    needs_pre_approval  boolean NOT NULL,
    conflict            text,
    submitter_reason    text,
    submitted_at        bigint NOT NULL,
    submitter           text NOT NULL,
    access_provider     text,
    received_at         bigint NOT NULL
);
CREATE INDEX receipts_queue ON receipts (province, state, state_since);
CREATE INDEX receipts_filing ON receipts (filing_id);

-- Every review state change, by whom, when and why. The event id is the status change's id on
-- the wire.
CREATE TABLE review_events (
    event_id      bigserial PRIMARY KEY,
    receipt       text NOT NULL REFERENCES receipts,
    version       bigint NOT NULL,
    from_state    text,
    to_state      text NOT NULL,
    reviewer      text NOT NULL,
    reason        text,
    at            bigint NOT NULL,
    filing_number text
);
CREATE INDEX review_events_receipt ON review_events (receipt, event_id);

-- Electronic certificates. One current certificate per filing; older ones are superseded or
-- revoked, never deleted.
CREATE TABLE certificates (
    certificate_id bigserial PRIMARY KEY,
    filing_id      bigint NOT NULL REFERENCES filings,
    filing_number  text NOT NULL,
    receipt        text NOT NULL,
    issued_at      bigint NOT NULL,
    expires_at     bigint NOT NULL CHECK (expires_at > issued_at),
    status         text NOT NULL CHECK (status IN ('current', 'superseded', 'revoked')),
    supersedes     bigint REFERENCES certificates,
    signer_key_id  bytea NOT NULL CHECK (length(signer_key_id) = 8),
    document       bytea NOT NULL
);
CREATE UNIQUE INDEX certificates_one_current ON certificates (filing_id) WHERE status = 'current';

-- What must never happen: a certificate for a filing that is not approved.
CREATE FUNCTION certificates_need_approved_filing() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM filings f
                   WHERE f.filing_id = NEW.filing_id AND f.status = 'active'
                     AND f.filing_number = NEW.filing_number) THEN
        RAISE EXCEPTION 'certificate for filing % (%) which is not approved', NEW.filing_id, NEW.filing_number
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER certificates_need_approved_filing BEFORE INSERT ON certificates
    FOR EACH ROW EXECUTE FUNCTION certificates_need_approved_filing();

-- Entries waiting to go back out on the return channel: acks and certificates as the wire
-- encoding of their record, status changes as the review event they report (the record is
-- built from that immutable row when read, so an import queues them with one statement).
-- `sent_in` names the return bundle that carried the entry.
CREATE TABLE return_queue (
    entry_id  bigserial PRIMARY KEY,
    kind      text NOT NULL CHECK (kind IN ('ack', 'status-change', 'certificate')),
    record    bytea,
    event_id  bigint REFERENCES review_events,
    queued_at bigint NOT NULL,
    sent_in   bytea CHECK (length(sent_in) = 32),
    sent_at   bigint,
    CHECK ((kind = 'status-change') = (event_id IS NOT NULL)),
    CHECK ((kind = 'status-change') = (record IS NULL))
);
CREATE INDEX return_queue_pending ON return_queue (entry_id) WHERE sent_in IS NULL;
