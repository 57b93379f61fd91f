-- Revocation reaches the outside (trust boundaries, item 4).
--
-- The return queue also carries a certificate revocation: when a filing's certificate is
-- revoked (the filing cancelled), the outer side must stop serving it. Stored as the wire
-- encoding of the record, like a certificate; its destination is the intake node that created
-- the receipt whose approval issued the certificate.
ALTER TABLE return_queue DROP CONSTRAINT return_queue_kind_check;
ALTER TABLE return_queue ADD CONSTRAINT return_queue_kind_check
    CHECK (kind IN ('ack', 'status-change', 'certificate', 'bundle-refusal',
                    'certificate-revocation'));
