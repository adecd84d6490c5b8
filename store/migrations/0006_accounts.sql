-- Accounts: the people who sign in, their browser sessions, the API
-- tokens they made for scripts, and the request counters that rate-limit
-- them across every host sharing the database.
--
-- Portable SQL only (TEXT, BIGINT): the same migration runs on SQLite and
-- PostgreSQL. Times are Unix milliseconds. Secrets are never stored in the
-- clear: passwords as their hash, session ids and API tokens as SHA-256.

-- One account. `email` is stored as the caller normalised it and is
-- unique, so two sign-ups racing for one address cannot both win.
-- `password_hash` is the password's hash, never the password; `roles` is
-- space-separated. A disabled account (`disabled_at` set) keeps its rows
-- but cannot sign in.
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    roles TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    disabled_at BIGINT
);

-- One browser session, keyed by the SHA-256 (hex) of its opaque id: the id
-- itself is only ever in the browser's cookie, so a copy of the database
-- signs nobody in. A session is live until `expires_at` (slid forward as it
-- is used, at most once per gap, `last_seen_at`) unless `revoked_at` is set
-- (sign-out, password change).
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    revoked_at BIGINT
);

-- Revoking every session of an account looks them up by account.
CREATE INDEX sessions_by_account ON sessions (account_id);

-- Ended sessions are purged by expiry.
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- One API token of one account, stored as the SHA-256 (hex) of the token
-- (`token_hash`, unique) with its first characters in the clear (`prefix`)
-- so its owner can tell tokens apart. `scopes` is space-separated;
-- `expires_at` NULL means it never expires. Revoked tokens are kept (with
-- `revoked_at` set) so the owner still sees them listed.
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT,
    revoked_at BIGINT
);

CREATE INDEX api_tokens_by_account ON api_tokens (account_id);

-- Fixed-window request counters: `hits` requests counted in `bucket` (who
-- and what is limited, e.g. `signin-address:<digest of the address>`) during the window starting at
-- `window_start`. Every host counts into the same row with one upsert, so
-- a limit holds across hosts; old windows are purged.
CREATE TABLE rate_limits (
    bucket TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    PRIMARY KEY (bucket, window_start)
);

-- Windows that ended are purged by their start.
CREATE INDEX rate_limits_by_window ON rate_limits (window_start);
