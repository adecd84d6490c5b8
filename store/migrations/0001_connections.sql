-- Connections: one OAuth grant of one user for one provider. Tokens are
-- stored sealed (AES-256-GCM, see host/src/vault/keyring.rs); the store
-- never sees them in the clear.
--
-- Portable SQL only (TEXT, BIGINT): the same migration runs on SQLite and
-- PostgreSQL. Times are Unix milliseconds.
CREATE TABLE connections (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    provider TEXT NOT NULL,
    account TEXT,
    scopes TEXT NOT NULL,
    access_token TEXT NOT NULL,
    refresh_token TEXT,
    expires_at BIGINT,
    status TEXT NOT NULL,
    status_reason TEXT,
    token_version BIGINT NOT NULL,
    refresh_lease_owner TEXT,
    refresh_lease_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX connections_by_owner ON connections (owner, provider);

-- Authorization requests in flight: the single-use `state` of the
-- authorization-code flow (stored as its SHA-256) with the PKCE verifier
-- (sealed) and what the callback needs to finish.
CREATE TABLE oauth_states (
    state_hash TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    provider TEXT NOT NULL,
    scopes TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
