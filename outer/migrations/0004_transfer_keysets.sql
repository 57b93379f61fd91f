-- Every keyset version the transfer tool installed (received in a keyset bundle, or published
-- here with publish-keyset), with the keyset file itself: written in the transaction that
-- records the bundle, so the file in the keyset directory can be written again from it.
CREATE TABLE transfer_keysets (
    version     INTEGER PRIMARY KEY,
    file        BLOB NOT NULL,
    origin      TEXT NOT NULL CHECK (origin IN ('received', 'published')),
    bundle_id   BLOB,
    channel     INTEGER,
    sequence    INTEGER,
    recorded_at INTEGER NOT NULL
);
