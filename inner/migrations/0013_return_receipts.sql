-- How far each intake node has applied each return channel, as the receipts riding on its
-- submissions bundles and heartbeats say (the highest seen; a receipt never moves it back).
CREATE TABLE transfer_return_receipts (
    channel        bigint NOT NULL,  -- the submissions channel the receipt came on
    return_channel bigint NOT NULL,
    epoch          bigint NOT NULL,
    through        bigint NOT NULL,  -- every sequence up to this one applied outside
    bundle_id      bytea NOT NULL,   -- the bundle that carried the newest receipt
    received_at    bigint NOT NULL,
    PRIMARY KEY (channel, return_channel)
);

-- A return bundle every node it serves has applied is deleted from the retained outbox; its
-- ledger row stays, marked with when.
ALTER TABLE transfer_return_sent ADD COLUMN pruned_at bigint;
CREATE INDEX transfer_return_sent_retained ON transfer_return_sent (channel, epoch, sequence)
    WHERE pruned_at IS NULL;
