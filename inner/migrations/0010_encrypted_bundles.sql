-- Bundles encrypted on the medium (bundle-format SPEC.md §4.5).
--
-- A submissions bundle whose channel the keyset names inward recipients for arrives with its
-- payload encrypted to the inner's age identity. The import decrypts it and keeps the opened
-- message: the header exactly as signed, followed by the decrypted zstd frame, from which a
-- pending version is read back as before. The signed message itself (whose SHA-256 is the
-- bundle id) is not kept for such a bundle: inside, the data is readable anyway, and keeping the
-- ciphertext would need the identity for every read.
ALTER TABLE bundles ADD COLUMN encrypted boolean NOT NULL DEFAULT false;

-- The stored message is the bundle's own (its SHA-256 is the bundle id) unless the bundle was
-- encrypted, in which case it is the opened message, whose header the import checked. The check
-- 0005 added got the server's name `bundles_check` (it names two columns); it now gets the name
-- the importer maps to its own error.
ALTER TABLE bundles DROP CONSTRAINT bundles_check;
ALTER TABLE bundles ADD CONSTRAINT bundles_message_check
    CHECK (message IS NULL OR encrypted OR sha256(message) = bundle_id);
