-- The operations page's history: every sample line of the transfer tool's metrics, kept by
-- `sluice-transfer status --prometheus --record-history` with the time it was taken. The page
-- (`/ops`) plots these; rows older than the retention are deleted when a new sample is kept.
CREATE TABLE ops_samples (
    taken_at INTEGER NOT NULL,
    metric   TEXT NOT NULL,
    labels   TEXT NOT NULL,
    value    REAL NOT NULL
);
CREATE INDEX ops_samples_by_time ON ops_samples (taken_at);
