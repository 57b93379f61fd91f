-- Payloads move to a table of their own. Export marks every version it sends in transit; with
-- the payload in the version's row, SQLite rewrote each payload (about 1 KiB, sharing pages with
-- its neighbours) to change three small columns, and apply did the same to clear it. Now marking
-- touches small rows only, and removing a payload after its ack deletes one row.
-- `payload_removed_at IS NULL` is what "payload stored" means in submission_versions from here
-- on; a payload row exists exactly while it is NULL.
CREATE TABLE submission_payloads (
    receipt TEXT NOT NULL,
    version INTEGER NOT NULL,
    payload BLOB NOT NULL,
    PRIMARY KEY (receipt, version),
    FOREIGN KEY (receipt, version) REFERENCES submission_versions (receipt, version)
);
INSERT INTO submission_payloads (receipt, version, payload)
    SELECT receipt, version, payload FROM submission_versions WHERE payload IS NOT NULL;
UPDATE submission_versions SET payload_removed_at = coalesce(acknowledged_at, 0)
    WHERE payload IS NULL AND payload_removed_at IS NULL;
DROP INDEX submission_versions_unexported;
ALTER TABLE submission_versions DROP COLUMN payload;
CREATE INDEX submission_versions_unexported
    ON submission_versions(submitted_at, receipt, version)
    WHERE exported_sequence IS NULL AND payload_removed_at IS NULL;
