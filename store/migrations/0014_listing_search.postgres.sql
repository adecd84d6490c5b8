-- Marketplace search (PostgreSQL): one search document per integration
-- name that has an approved, not revoked version, kept by the store in
-- the transactions that write a listing or approve or revoke a version
-- (`store/src/search.rs`), with its words as a weighted `tsvector`.
--
-- The documents of a database of the previous release are written by
-- the store when it opens it (`search::backfill`): the newest approved
-- version and the OAuth providers come from the manifests (TOML), which
-- SQL does not read.
--
-- Times are Unix milliseconds.

-- The search document of one integration name. `categories` and
-- `providers` are JSON arrays of slugs (also in `listing_search_facets`,
-- which the filters read); `price_cents` is NULL for a free integration;
-- `owner` the account that owns the name (its developer profile gives the
-- publisher's name); `version` the newest approved version;
-- `first_approved_at` when the name was first approved (the "newest"
-- order). `document` holds the words, stemmed ('english'), name weighted
-- A, summary B, description C, for `ts_rank`. Searches order names
-- bytewise (COLLATE "C"), as SQLite does, so pages are ordered alike on
-- both databases.
CREATE TABLE listing_search (
    name TEXT PRIMARY KEY,
    summary TEXT NOT NULL,
    description TEXT NOT NULL,
    categories TEXT NOT NULL,
    providers TEXT NOT NULL,
    price_cents BIGINT,
    has_icon BIGINT NOT NULL,
    owner TEXT,
    version TEXT NOT NULL,
    first_approved_at BIGINT NOT NULL,
    document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', name), 'A')
        || setweight(to_tsvector('english', summary), 'B')
        || setweight(to_tsvector('english', description), 'C')
    ) STORED
);

-- `fastupdate = off`: a document written goes straight into the index.
-- With GIN's default pending list, the documents written since the last
-- vacuum are scanned one by one on every search (about 25 ms a search
-- after 10,000 listings were written, whatever the words); listings are
-- written rarely and searched often.
CREATE INDEX listing_search_document ON listing_search USING GIN (document)
    WITH (fastupdate = off);

-- Browsing the newest first reads this index in order.
CREATE INDEX listing_search_by_first_approval ON listing_search (first_approved_at DESC, name COLLATE "C");

-- The filters: `category:<slug>` and `provider:<name>` per document.
CREATE TABLE listing_search_facets (
    facet TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (facet, name)
);

CREATE INDEX listing_search_facets_by_name ON listing_search_facets (name);
