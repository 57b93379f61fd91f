-- The approved record (issue 15 item 3): after every decision that changes a filing's records
-- in service, the filing as it now stands (or its withdrawal) is queued in the decision's
-- transaction as an `approved-record` entry of the return queue, for the intake node whose
-- channel created the filing's first receipt (inner::approved_records). Its event ids come from
-- their own counter, so the outer side keeps the newest record per filing number whatever
-- order the bundles are applied in.
CREATE SEQUENCE approved_record_events;

ALTER TABLE return_queue DROP CONSTRAINT return_queue_kind_check;
ALTER TABLE return_queue ADD CONSTRAINT return_queue_kind_check
    CHECK (kind IN ('ack', 'status-change', 'certificate', 'bundle-refusal',
                    'certificate-revocation', 'register-entry', 'register-removal',
                    'filing-password', 'approved-record'));
