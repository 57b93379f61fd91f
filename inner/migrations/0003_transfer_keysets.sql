-- Every keyset version the transfer tool installed (received in a keyset bundle, or published
-- here with sluice-transfer publish-keyset), with the keyset file itself: written in the
-- transaction that records the bundle, so the file in the keyset directory can be written
-- again from it.
CREATE TABLE transfer_keysets (
    version     bigint PRIMARY KEY,
    file        bytea NOT NULL,
    origin      text NOT NULL CHECK (origin IN ('received', 'published')),
    bundle_id   bytea,
    channel     bigint,
    sequence    bigint,
    recorded_at bigint NOT NULL
);
