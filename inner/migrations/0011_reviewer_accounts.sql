-- Reviewer accounts inside (the manuals' three inner user kinds) and who made each decision.
--
-- Until now a decision named its reviewer in free text, and any reviewer could act on any
-- province's filing at any stage. From here on every decision is made by an account:
-- - `ministry`: every province and every stage; creates authority (and ministry) accounts.
--   The first one is made by the operator (`sluice-inner reviewers bootstrap`);
-- - `authority`: one province (GB/T 2260 two-digit code); the provider check and the regional
--   review of that province's filings; creates pre-approval reviewers for it;
-- - `pre-approval`: one province and the pre-approval service types it may confirm (news,
--   publishing, education, medical, drugs, culture, broadcasting); the pre-approval stage only.
-- The rules themselves are in inner::reviewers; the checks here only keep the rows coherent.
CREATE TABLE reviewer_accounts (
    account_id    bigserial PRIMARY KEY,
    name          text NOT NULL UNIQUE CHECK (char_length(name) BETWEEN 2 AND 32),
    role          text NOT NULL CHECK (role IN ('ministry', 'authority', 'pre-approval')),
    province      smallint CHECK (province BETWEEN 11 AND 65),
    service_types text[] NOT NULL DEFAULT '{}' CHECK (service_types <@ ARRAY['news', 'publishing',
                      'education', 'medical', 'drugs', 'culture', 'broadcasting']),
    -- An Argon2id hash in the PHC string format, salt and cost included.
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    -- NULL only for the operator's bootstrap account.
    created_by    bigint REFERENCES reviewer_accounts,
    created_at    bigint NOT NULL,
    disabled_at   bigint,
    -- Consecutive wrong passwords, and until when the account refuses every login after too
    -- many of them.
    failed_logins integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until  bigint,
    CHECK ((role = 'ministry') = (province IS NULL)),
    CHECK ((role = 'pre-approval') = (cardinality(service_types) > 0))
);

-- The account that made a decision. NULL for the events nobody decided (an arrival in an
-- import, a withdrawal) and for decisions recorded before this migration, whose `reviewer`
-- text is all that is known.
ALTER TABLE review_events ADD COLUMN reviewer_account bigint REFERENCES reviewer_accounts;
CREATE INDEX review_events_reviewer_account ON review_events (reviewer_account)
    WHERE reviewer_account IS NOT NULL;
