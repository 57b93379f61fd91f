-- A submissions bundle the inner side refused as a whole for its signer (a key revoked or
-- expired by the time it arrived): when the refusal came back and why. Until the bundle is sent
-- again under the current key, its versions wait (they are not "in transit"), and it is neither
-- resent as it was nor published for a gap report.
ALTER TABLE transfer_outbox ADD COLUMN refused_at INTEGER;
ALTER TABLE transfer_outbox ADD COLUMN refusal TEXT;
