-- The public register outside (issue 15 item 5): for each approved filing, what the manuals'
-- public query shows anyone — filing number, subject name and nature, website numbers, names
-- and domains, approval date — and nothing personal. The inner side sends each filing's entry
-- as it stands after every decision that changes it, and its removal when the filing is
-- cancelled or revoked.
--
-- `event` is the inner side's register counter: a record changes a filing's row only if its
-- event is newer than the row's, so bundles applied in any order leave the newest. A removed
-- filing keeps its row (no name, no websites) with when and why it left, so that an older
-- entry arriving later cannot bring it back.
CREATE TABLE public_register (
    filing_number  TEXT PRIMARY KEY,
    event          INTEGER NOT NULL CHECK (event >= 0),
    subject_name   TEXT,
    subject_nature TEXT,
    approved_at    INTEGER,
    removed_at     INTEGER,
    removal_reason TEXT,
    CHECK ((subject_name IS NULL) = (removed_at IS NOT NULL))
);
CREATE INDEX public_register_subject_name ON public_register (subject_name)
    WHERE subject_name IS NOT NULL;

CREATE TABLE public_register_websites (
    website_number TEXT PRIMARY KEY,
    filing_number  TEXT NOT NULL REFERENCES public_register (filing_number) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    -- Its domains, one per line, in the order filed (the query reads them with the website).
    domains        TEXT NOT NULL
);
CREATE INDEX public_register_websites_filing ON public_register_websites (filing_number);
CREATE INDEX public_register_websites_name ON public_register_websites (name);

-- One row per domain, lower case, for the query by domain.
CREATE TABLE public_register_domains (
    domain         TEXT NOT NULL,
    website_number TEXT NOT NULL
        REFERENCES public_register_websites (website_number) ON DELETE CASCADE
);
CREATE INDEX public_register_domains_domain ON public_register_domains (domain);
CREATE INDEX public_register_domains_website ON public_register_domains (website_number);
