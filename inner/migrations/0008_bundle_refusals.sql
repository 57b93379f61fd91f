-- Trust boundaries (receipts owned by their channel, refused bundles reported back).
--
-- The return queue also carries a bundle refusal: the notice that a whole submissions bundle
-- was refused for its signer (a key revoked or expired by the time it arrived), so that the
-- outer side sends its versions again under its current key. Stored as the wire encoding of
-- the record, like an ack.
ALTER TABLE return_queue DROP CONSTRAINT return_queue_kind_check;
ALTER TABLE return_queue ADD CONSTRAINT return_queue_kind_check
    CHECK (kind IN ('ack', 'status-change', 'certificate', 'bundle-refusal'));

-- Which intake node each entry is for: the submissions channel that created the receipt it is
-- about (an ack or a refusal: the channel of the bundle). A return run for one intake node's
-- return channel takes only that node's entries, so its return bundles carry only its own
-- receipts. NULL for entries queued before this migration: they go to whichever run comes first.
-- The pending entries' index (entry_id, WHERE sent_in IS NULL) serves that run too: it reads
-- the pending entries in order and passes over other nodes' (no index of its own to keep up on
-- every import).
ALTER TABLE return_queue ADD COLUMN destination bigint
    CHECK (destination BETWEEN 0 AND 4294967295);

-- The channel that created a receipt: that of its first stored version not refused for coming
-- from another channel (NULL for a receipt no version of which is stored).
CREATE FUNCTION receipt_channel(receipt text) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT v.channel FROM submission_versions v
    WHERE v.receipt = receipt_channel.receipt
      AND v.reason IS DISTINCT FROM 'receipt-of-another-channel'
    ORDER BY v.received_at, v.version LIMIT 1
$$;

-- The import looks the creating channel up per receipt; the primary key's index (receipt first)
-- finds a receipt's few versions, so no index of its own is kept up for it on every import.
