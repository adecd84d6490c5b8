-- Listings and entitlements: what the marketplace shows of each
-- integration (the seed's `marketplace_integrations`, one row per
-- integration name) and which accounts may install a paid one.
--
-- Portable SQL only (TEXT, BIGINT): the same migration runs on SQLite and
-- PostgreSQL. Times are Unix milliseconds.

-- The listing of one integration name, written by its owner or a
-- co-maintainer (the engine checks who). `categories` is a JSON array of
-- category slugs from the engine's fixed list; `changelog` a JSON object
-- from approved version to its notes. `price_cents` is the upfront price
-- in integer cents ($19 to $249), NULL for a free integration. The icon
-- is an image in the registry's content-addressed artifact store
-- (`icon_digest`, `sha256:...`) with its media type; both NULL without one.
CREATE TABLE marketplace_integrations (
    name TEXT PRIMARY KEY,
    summary TEXT NOT NULL,
    description TEXT NOT NULL,
    categories TEXT NOT NULL,
    changelog TEXT NOT NULL,
    price_cents BIGINT CHECK (price_cents IS NULL OR price_cents BETWEEN 1900 AND 24900),
    icon_digest TEXT,
    icon_type TEXT,
    updated_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- An account's right to install a paid integration: granted by a purchase
-- (billing, a later release) or by an admin; `source` says which
-- (`purchase:<id>`, `grant:<admin>`, ...). One per account and name.
CREATE TABLE entitlements (
    account_id TEXT NOT NULL,
    integration TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (account_id, integration)
);
