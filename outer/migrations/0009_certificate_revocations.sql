-- Revocation reaches the outside (trust boundaries, item 4): a certificate the inner side
-- revoked is kept, with when and why, and no longer served; its receipt's status says so. A
-- certificate issued later under the same filing number clears both.
ALTER TABLE certificates ADD COLUMN revoked_at INTEGER;
ALTER TABLE certificates ADD COLUMN revocation_reason TEXT;
