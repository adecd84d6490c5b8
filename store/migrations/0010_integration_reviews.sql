-- Ratings and written reviews of integrations by the users who ran them
-- (the seed's `integration_reviews`).
--
-- Portable SQL only (TEXT, BIGINT): the same migration runs on SQLite and
-- PostgreSQL. Times are Unix milliseconds.
--
-- One review per user (`author`, an account id) per integration (its
-- name): the unique key makes a second one an edit of the first, in
-- place (`created_at` kept, `updated_at` moved). `rating` is 1 to 5;
-- `title` is optional. The integration's publisher may reply once
-- (`reply_*`, all set together or all NULL). An admin may hide an abusive
-- review: it is kept, flagged with who hid it, when and why
-- (`hidden_*`, all set together or all NULL), left out of the public list
-- and of the summary, and shown (flagged) to its author and to admins.
CREATE TABLE integration_reviews (
    id TEXT PRIMARY KEY,
    integration TEXT NOT NULL,
    author TEXT NOT NULL,
    rating BIGINT NOT NULL CHECK (rating BETWEEN 1 AND 5),
    title TEXT,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    reply_body TEXT,
    reply_by TEXT,
    reply_at BIGINT,
    hidden_at BIGINT,
    hidden_by TEXT,
    hidden_reason TEXT,
    UNIQUE (integration, author)
);

-- The list of one integration's reviews, newest first, a page at a time.
CREATE INDEX integration_reviews_by_integration
    ON integration_reviews (integration, created_at, id);
