-- Installing with consent: each time a user accepts what an integration
-- version may do (the hosts it may reach and the OAuth scopes it asks for,
-- by provider, from its signed approval), a row records who (`owner`, an
-- account id), which integration and version, the exact set accepted (as
-- JSON: `hosts` a sorted array of host patterns, `scopes` an object of
-- provider -> sorted array of scopes), the digest of that set the client
-- echoed back (`sha256:...`), and when.
--
-- Rows are kept after an uninstall: they are the record of what was
-- accepted. Installations made before this migration have no row; their
-- installed version's approved set stands for what was accepted.
--
-- Portable SQL only (TEXT, BIGINT): the same migration runs on SQLite and
-- PostgreSQL. Times are Unix milliseconds.
CREATE TABLE install_consents (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    integration TEXT NOT NULL,
    version TEXT NOT NULL,
    hosts TEXT NOT NULL,
    scopes TEXT NOT NULL,
    consent_digest TEXT NOT NULL,
    accepted_at BIGINT NOT NULL
);

CREATE INDEX install_consents_by_owner ON install_consents (owner, integration, accepted_at);
