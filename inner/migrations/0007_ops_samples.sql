-- The operations page's history: every sample line of the transfer tool's metrics, kept by
-- `sluice-transfer status --prometheus --record-history` with the time it was taken. The page
-- (`sluice-inner serve-ops`) plots these; rows older than the retention are deleted when a new
-- sample is kept.
CREATE TABLE ops_samples (
    taken_at bigint NOT NULL,
    metric   text NOT NULL,
    labels   text NOT NULL,
    value    double precision NOT NULL
);
CREATE INDEX ops_samples_by_time ON ops_samples (taken_at);
