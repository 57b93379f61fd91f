-- Pending filings stored slim (owner's decision of 2026-12-03, "ranges, not rows").
--
-- Until now the import wrote every accepted submission twice over: a verbatim copy of the
-- version (submission_versions.encoded, about 1.2 KB) and its normalised rows (a pending
-- filing, subject record, website records with access, domains, IP ranges, home URLs and
-- pre-approvals: about 20 rows and 35 index entries per new filing), which approval then
-- switched to `active`. Most of that work was for filings still under review.
--
-- From here on:
-- - the import keeps the verified bundle's signed message once (bundles.message), and per
--   version one row in submission_versions with what review, conflicts, status and audit need;
--   the version itself is read back by decoding record number `bundle_position` of that
--   message (inner::stored);
-- - approval writes the filing, subject, website, access, domain, IP, home URL and
--   pre-approval rows in its own transaction, so those tables hold approved filings only;
-- - a pending filing's domains and IP ranges live in the version row's arrays, with GIN
--   indexes, for the competitor check between pending filings.

-- The signed message M of every bundle imported from now on (header and zstd frame, exactly
-- as verified; its SHA-256 is the bundle id, which the check makes the database hold to).
-- NULL for bundles imported before this migration: their versions keep `encoded`. The frame
-- is compressed already, so the server does not try to compress it again (EXTERNAL).
ALTER TABLE bundles ADD COLUMN message bytea
    CHECK (message IS NULL OR sha256(message) = bundle_id);
ALTER TABLE bundles ALTER COLUMN message SET STORAGE EXTERNAL;

-- The version row. `encoded` stays for the versions imported before (NULL from now on: the
-- version is in its bundle's message). New columns:
-- - channel: the channel whose signed bundle brought the version (so the creating channel of
--   each receipt can be checked);
-- - kind, province, filing_ref (the filing number a change or cancellation names),
--   subject_key (the subject's certificate number, for new filings and subject changes);
-- - domains (lower case, sorted) and ip_ranges (`first-last`, sorted) of the websites the
--   version files, for accepted versions only (outcome applied or conflict); an access change
--   carries the domains of the website it changes.
ALTER TABLE submission_versions
    ALTER COLUMN encoded DROP NOT NULL,
    ADD COLUMN channel bigint CHECK (channel BETWEEN 0 AND 4294967295),
    ADD COLUMN kind text CHECK (kind IN ('new-filing', 'change-subject', 'change-website',
        'change-access', 'added-website', 'cancel-subject', 'cancel-website', 'cancel-access',
        'withdrawal')),
    ADD COLUMN province smallint,
    ADD COLUMN filing_ref text,
    ADD COLUMN subject_key text,
    ADD COLUMN domains text[],
    ADD COLUMN ip_ranges text[];

-- Carry the versions imported before forward. Their channel is their bundle's.
UPDATE submission_versions v SET channel = b.channel FROM bundles b WHERE b.bundle_id = v.bundle_id;
ALTER TABLE submission_versions ALTER COLUMN channel SET NOT NULL;

-- What the receipt row knows of the version it names (versions that never entered review keep
-- NULL there: nothing reads them but the audit).
UPDATE submission_versions v
SET kind = r.kind, province = r.province,
    filing_ref = CASE WHEN r.kind <> 'new-filing' THEN f.filing_number END
FROM receipts r LEFT JOIN filings f ON f.filing_id = r.filing_id
WHERE r.receipt = v.receipt AND r.version = v.version AND r.content_hash = v.content_hash;

-- The pending rows the old import wrote belong to each receipt's current version: their
-- subject key, domains and IP ranges move into the version row.
UPDATE submission_versions v
SET subject_key = s.certificate_number
FROM receipts r JOIN subject_records s ON s.receipt = r.receipt AND s.status = 'pending'
WHERE r.receipt = v.receipt AND r.version = v.version AND r.content_hash = v.content_hash;

UPDATE submission_versions v
SET domains = ARRAY(SELECT d.domain FROM website_records w
                    JOIN website_domains d ON d.record_id = w.record_id
                    WHERE w.receipt = r.receipt AND w.status = 'pending'
                    ORDER BY d.domain),
    ip_ranges = ARRAY(SELECT host(lower(i.ips)) || '-' || host(upper(i.ips))
                      FROM website_records w
                      JOIN website_ips i ON i.record_id = w.record_id
                      WHERE w.receipt = r.receipt AND w.status = 'pending'
                      ORDER BY 1)
FROM receipts r
WHERE r.receipt = v.receipt AND r.version = v.version AND r.content_hash = v.content_hash
  AND v.outcome IN ('applied', 'conflict');

-- The normalised tables now hold approved filings only: pending rows (now in the version rows
-- and in `encoded`) and discarded ones (rejected or withdrawn, never approved) go. Deleting a
-- website record deletes its child rows (migration 4's statement trigger). A pending filing
-- row stays: its receipt names it, and approval reuses it.
DELETE FROM website_records WHERE status IN ('pending', 'discarded');
DELETE FROM subject_records WHERE status IN ('pending', 'discarded');

-- The competitor check between pending filings: which other version files this domain or this
-- IP range. Versions that file nothing hold NULL.
CREATE INDEX submission_versions_domains ON submission_versions USING gin (domains);
CREATE INDEX submission_versions_ip_ranges ON submission_versions USING gin (ip_ranges);
