-- Ranges, not rows. Every stored version gets a sequence number in the commit that stores it
-- (`seq`: one sequence per store, because an outer store feeds one submissions channel). An
-- export no longer marks each version it sends: it writes one outbox row per bundle naming the
-- range of sequence numbers it holds (`first_seq`..`last_seq`, `versions`, `members_digest`)
-- and moves its channel's `exported_through` mark. "In transit" is derived: a version at or
-- below the mark, inside an exported range, without an ack.

-- 1. Number the versions already stored: those exported first, bundle by bundle in chain order
--    (so each bundle's versions get one unbroken range), then the rest in the order export
--    used to read them.
ALTER TABLE submission_versions ADD COLUMN seq INTEGER;
CREATE TEMP TABLE numbering (version_row INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
INSERT INTO temp.numbering (version_row, seq)
    SELECT v.rowid, row_number() OVER (
               ORDER BY v.exported_bundle_id IS NULL, o.epoch, o.sequence, v.exported_sequence,
                        v.submitted_at, v.receipt, v.version)
    FROM submission_versions v LEFT JOIN transfer_outbox o ON o.bundle_id = v.exported_bundle_id;
UPDATE submission_versions
    SET seq = (SELECT n.seq FROM temp.numbering n WHERE n.version_row = submission_versions.rowid);
CREATE UNIQUE INDEX submission_versions_seq ON submission_versions(seq);

-- 2. Each bundle row names its range. A bundle exported before this migration keeps a NULL
--    members digest: whoever needs it computes it from the range.
ALTER TABLE transfer_outbox ADD COLUMN first_seq INTEGER;
ALTER TABLE transfer_outbox ADD COLUMN last_seq INTEGER;
ALTER TABLE transfer_outbox ADD COLUMN versions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE transfer_outbox ADD COLUMN members_digest BLOB;
UPDATE transfer_outbox
    SET (first_seq, last_seq, versions) =
        (SELECT min(n.seq), max(n.seq), count(*)
         FROM submission_versions v JOIN temp.numbering n ON n.version_row = v.rowid
         WHERE v.exported_bundle_id = transfer_outbox.bundle_id)
    WHERE kind = 'submissions';
UPDATE transfer_outbox SET first_seq = NULL, last_seq = NULL WHERE versions = 0;
DROP TABLE temp.numbering;
CREATE INDEX transfer_outbox_range ON transfer_outbox(last_seq) WHERE last_seq IS NOT NULL;

-- 3. The channel's mark: every version at or below it went out in one of its bundles.
ALTER TABLE transfer_send_state ADD COLUMN exported_through INTEGER NOT NULL DEFAULT 0;
UPDATE transfer_send_state
    SET exported_through = coalesce(
        (SELECT max(o.last_seq) FROM transfer_outbox o WHERE o.channel = transfer_send_state.channel),
        0);

-- 4. The per-version marks go. A receipt that export had moved to "in transit" goes back to the
--    stored state "received"; reading its status derives "in transit" from the ranges, and the
--    history rows export wrote before stay as they are.
DROP INDEX submission_versions_unexported;
ALTER TABLE submission_versions DROP COLUMN exported_bundle_id;
ALTER TABLE submission_versions DROP COLUMN exported_sequence;
ALTER TABLE submission_versions DROP COLUMN in_transit_since;
UPDATE receipts SET state = 'received', bundle_sequence = NULL, in_transit_since = NULL
    WHERE state = 'in_transit';
