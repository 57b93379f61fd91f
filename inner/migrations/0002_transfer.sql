-- The transfer tool's tables (sluice-transfer import and return). Databases that transfer
-- prepared before this migration existed already have them, hence IF NOT EXISTS.
-- Every bundle imported (or found a duplicate of one imported): the chain's memory, written in
-- the transaction that applies the bundle.
CREATE TABLE IF NOT EXISTS transfer_inbound (
    bundle_id   bytea PRIMARY KEY,
    channel     bigint NOT NULL,
    epoch       bigint NOT NULL,
    sequence    bigint NOT NULL,
    previous    bytea NOT NULL,
    kind        text NOT NULL,
    file_name   text NOT NULL,
    imported_at bigint NOT NULL,
    UNIQUE (channel, epoch, sequence)
);
-- Every return bundle written, with the sequence reports it carried.
CREATE TABLE IF NOT EXISTS transfer_return_sent (
    bundle_id    bytea PRIMARY KEY,
    channel      bigint NOT NULL,
    epoch        bigint NOT NULL,
    sequence     bigint NOT NULL,
    file_name    text NOT NULL,
    entries      integer NOT NULL,
    reports      bytea NOT NULL,
    created      bigint NOT NULL,
    published_at bigint,
    UNIQUE (channel, epoch, sequence)
);
