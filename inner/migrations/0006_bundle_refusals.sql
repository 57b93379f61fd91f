-- Trust boundaries (receipts owned by their channel, refused bundles reported back).
--
-- The return queue also carries a bundle refusal: the notice that a whole submissions bundle
-- was refused for its signer (a key revoked or expired by the time it arrived), so that the
-- outer side sends its versions again under its current key. Stored as the wire encoding of
-- the record, like an ack.
ALTER TABLE return_queue DROP CONSTRAINT return_queue_kind_check;
ALTER TABLE return_queue ADD CONSTRAINT return_queue_kind_check
    CHECK (kind IN ('ack', 'status-change', 'certificate', 'bundle-refusal'));

-- The creating channel of a receipt is the channel of its first stored version that was not
-- refused for coming from another channel; the import looks it up per receipt.
CREATE INDEX submission_versions_receipt_received
    ON submission_versions (receipt, received_at, version);
