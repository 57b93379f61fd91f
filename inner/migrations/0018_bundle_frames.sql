-- Where each zstd frame of a stored bundle's message lies (bundle format version 10, SPEC.md
-- §4.1), so that a pending version is read back by decompressing its own frame alone instead
-- of its bundle's content up to it (inner::store::versions). One row per frame, written by the
-- import that stores the message: the frame's first record (`submission_versions.bundle_position`
-- of the versions it holds start there), its offset in the message (header included) and its
-- length. A bundle of one frame has one row. A bundle imported before this migration has none
-- and is read from its whole message, as before.
CREATE TABLE bundle_frames (
    bundle_id      bytea NOT NULL REFERENCES bundles,
    first_record   integer NOT NULL CHECK (first_record >= 0),
    message_offset integer NOT NULL CHECK (message_offset >= 160),
    frame_length   integer NOT NULL CHECK (frame_length > 0),
    PRIMARY KEY (bundle_id, first_record)
);
