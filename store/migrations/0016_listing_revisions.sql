-- Every revision of every listing's text, kept so a reviewer can see how
-- a listing's words changed since the integration's last approved
-- version (the listing is what users read before they grant access, so
-- a claim that changed with a wider version is worth a second look), and
-- an admin can see who wrote what when.
--
-- Portable SQL only (TEXT, BIGINT): the same migration runs on SQLite and
-- PostgreSQL. Times are Unix milliseconds.
--
-- Append-only: writing a listing adds its next revision (1, 2, 3, ... per
-- integration) in the same transaction that updates
-- `marketplace_integrations`. The icon is not text and has no revisions.
CREATE TABLE listing_revisions (
    integration TEXT NOT NULL,
    revision BIGINT NOT NULL,
    summary TEXT NOT NULL,
    description TEXT NOT NULL,
    categories TEXT NOT NULL,
    price_cents BIGINT,
    written_by TEXT NOT NULL,
    written_at BIGINT NOT NULL,
    PRIMARY KEY (integration, revision)
);

-- "The listing as it stood at time t" reads one integration's revisions
-- by time.
CREATE INDEX listing_revisions_by_time ON listing_revisions (integration, written_at);

-- A listing written by the previous release is its own first revision.
INSERT INTO listing_revisions (integration, revision, summary, description, categories,
    price_cents, written_by, written_at)
SELECT name, 1, summary, description, categories, price_cents, updated_by, updated_at
FROM marketplace_integrations;
