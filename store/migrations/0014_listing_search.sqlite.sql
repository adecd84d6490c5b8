-- Marketplace search (SQLite): one search document per integration name
-- that has an approved, not revoked version, kept by the store in the
-- transactions that write a listing or approve or revoke a version
-- (`store/src/search.rs`), and its words in an FTS5 index.
--
-- The documents of a database of the previous release are written by
-- the store when it opens it (`search::backfill`): the newest approved
-- version and the OAuth providers come from the manifests (TOML), which
-- SQL does not read.
--
-- Times are Unix milliseconds.

-- The search document of one integration name. `id` is the row id the
-- full-text index refers to. `categories` and `providers` are JSON arrays
-- of slugs (also in `listing_search_facets`, which the filters read);
-- `price_cents` is NULL for a free integration; `owner` the account that
-- owns the name (its developer profile gives the publisher's name);
-- `version` the newest approved version; `first_approved_at` when the name
-- was first approved (the "newest" order).
CREATE TABLE listing_search (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    summary TEXT NOT NULL,
    description TEXT NOT NULL,
    categories TEXT NOT NULL,
    providers TEXT NOT NULL,
    price_cents BIGINT,
    has_icon BIGINT NOT NULL,
    owner TEXT,
    version TEXT NOT NULL,
    first_approved_at BIGINT NOT NULL
);

-- Browsing the newest first reads this index in order.
CREATE INDEX listing_search_by_first_approval ON listing_search (first_approved_at DESC, name);

-- The filters: `category:<slug>` and `provider:<name>` per document.
CREATE TABLE listing_search_facets (
    facet TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (facet, name)
);

CREATE INDEX listing_search_facets_by_name ON listing_search_facets (name);

-- The words of each document: name, summary and description, stemmed
-- (Porter) after Unicode folding; ranked with bm25, name weighted above
-- summary above description. An external-content index: the text lives
-- once, in `listing_search`, and these triggers keep the index in step.
CREATE VIRTUAL TABLE listing_search_text USING fts5(
    name, summary, description,
    content = 'listing_search', content_rowid = 'id',
    tokenize = 'porter unicode61'
);

CREATE TRIGGER listing_search_text_insert AFTER INSERT ON listing_search BEGIN
    INSERT INTO listing_search_text (rowid, name, summary, description)
    VALUES (new.id, new.name, new.summary, new.description);
END;

CREATE TRIGGER listing_search_text_delete AFTER DELETE ON listing_search BEGIN
    INSERT INTO listing_search_text (listing_search_text, rowid, name, summary, description)
    VALUES ('delete', old.id, old.name, old.summary, old.description);
END;

CREATE TRIGGER listing_search_text_update AFTER UPDATE ON listing_search BEGIN
    INSERT INTO listing_search_text (listing_search_text, rowid, name, summary, description)
    VALUES ('delete', old.id, old.name, old.summary, old.description);
    INSERT INTO listing_search_text (rowid, name, summary, description)
    VALUES (new.id, new.name, new.summary, new.description);
END;
