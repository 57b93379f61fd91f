-- The inner side's newest word on this store's submissions channel, as its return bundles carry
-- it: the highest sequence it imported with none missing below, the sequence numbers it misses
-- above that, and when it wrote the return bundle that said so (its clock). `sluice-transfer
-- reconcile` compares the outbox with it.
CREATE TABLE transfer_inner_reports (
    channel            INTEGER PRIMARY KEY,
    epoch              INTEGER NOT NULL,
    highest_contiguous INTEGER NOT NULL,
    missing            TEXT NOT NULL,    -- ascending sequence numbers, comma-separated
    reported_at        INTEGER NOT NULL, -- when the inner side wrote the return bundle
    applied_at         INTEGER NOT NULL
);
