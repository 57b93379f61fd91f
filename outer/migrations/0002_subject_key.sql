-- The subject a new filing is for (certificate type and number), so that one subject files once.
ALTER TABLE receipts ADD COLUMN subject_key TEXT;
CREATE INDEX receipts_subject_key ON receipts(subject_key) WHERE subject_key IS NOT NULL;
