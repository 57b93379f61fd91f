-- Sessions of the review page: a reviewer signs in once with name and password and the browser
-- then carries a random token in a cookie, instead of the password in every request. Only the
-- token's SHA-256 is stored, so a copy of this table lets nobody in. A session ends at
-- `expires_at`, after `idle_seconds` without a request, when its reviewer signs out, or when the
-- account is disabled (the page reads the account with every request).
CREATE TABLE reviewer_sessions (
    token_sha256 bytea PRIMARY KEY CHECK (length(token_sha256) = 32),
    account_id   bigint NOT NULL REFERENCES reviewer_accounts,
    created_at   bigint NOT NULL,
    last_seen    bigint NOT NULL,
    expires_at   bigint NOT NULL CHECK (expires_at > created_at)
);
CREATE INDEX reviewer_sessions_expires ON reviewer_sessions (expires_at);
