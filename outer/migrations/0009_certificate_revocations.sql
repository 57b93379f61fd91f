-- Revocation reaches the outside (trust boundaries, item 4): a certificate the inner side
-- revoked is kept, with when and why, and no longer served; its receipt's status says so. A
-- certificate issued later under the same filing number clears both.
ALTER TABLE certificates ADD COLUMN revoked_at INTEGER;
ALTER TABLE certificates ADD COLUMN revocation_reason TEXT;

-- A receipt's status reads whether the certificate its approval issued was revoked: found by
-- receipt, not by filing number, so that lookup has an index of its own.
CREATE INDEX certificates_receipt ON certificates (receipt);
