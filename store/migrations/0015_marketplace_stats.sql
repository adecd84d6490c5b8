-- The marketplace's computed figures per integration name: installs and
-- ratings kept exact in the transactions that change them, executions
-- rolled up per UTC day from the step attempts the workflow engine
-- records, so a listing page and a search sorted by installs or rating
-- read a few rows instead of counting millions.
--
-- Portable SQL only (TEXT, BIGINT): the same migration runs on SQLite and
-- PostgreSQL. Times are Unix milliseconds.

-- Installs and ratings of one integration name. `installs_current` is
-- how many accounts have it installed now; `installs_total` how many
-- installs were ever made (an install of an account that did not have it;
-- upgrades and re-installs in place do not count). The rating figures
-- cover the reviews that are not hidden: their count, the sum of their
-- ratings (the average is `rating_sum / rating_count`, computed where it
-- is shown) and how many gave each number of stars.
CREATE TABLE integration_stats (
    integration TEXT PRIMARY KEY,
    installs_current BIGINT NOT NULL DEFAULT 0,
    installs_total BIGINT NOT NULL DEFAULT 0,
    rating_count BIGINT NOT NULL DEFAULT 0,
    rating_sum BIGINT NOT NULL DEFAULT 0,
    stars_1 BIGINT NOT NULL DEFAULT 0,
    stars_2 BIGINT NOT NULL DEFAULT 0,
    stars_3 BIGINT NOT NULL DEFAULT 0,
    stars_4 BIGINT NOT NULL DEFAULT 0,
    stars_5 BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);

-- The executions (finished step attempts) of one integration on one UTC
-- day (`day`: days since 1970-01-01): how many, how many succeeded, and
-- their latencies (finished - started) as a histogram, a JSON object from
-- bucket number to count (the buckets are the engine's; only non-empty
-- ones are stored).
CREATE TABLE integration_usage_daily (
    integration TEXT NOT NULL,
    day BIGINT NOT NULL,
    executions BIGINT NOT NULL,
    successes BIGINT NOT NULL,
    latency_buckets TEXT NOT NULL,
    PRIMARY KEY (integration, day)
);

-- How far the roll-up has read `step_attempts`: every attempt that
-- finished at or before (`finished_at`, `run_id`, `step_index`,
-- `attempt`) is counted in `integration_usage_daily`. One row (`id` = 1).
CREATE TABLE usage_rollup_cursor (
    id BIGINT PRIMARY KEY,
    finished_at BIGINT NOT NULL,
    run_id TEXT NOT NULL,
    step_index BIGINT NOT NULL,
    attempt BIGINT NOT NULL
);

-- The roll-up reads attempts in the order they finished.
CREATE INDEX step_attempts_by_finish ON step_attempts (finished_at, run_id, step_index, attempt);

-- Counting one integration's installations.
CREATE INDEX installations_by_integration ON installations (integration);

-- The figures of what a database of the previous release holds: current
-- installs (the total is not known further back, so it starts equal) and
-- the ratings of reviews that are not hidden.
INSERT INTO integration_stats (integration, installs_current, installs_total, updated_at)
SELECT integration, COUNT(*), COUNT(*), 0 FROM installations GROUP BY integration;

INSERT INTO integration_stats (integration, updated_at)
SELECT DISTINCT r.integration, 0 FROM integration_reviews r
WHERE NOT EXISTS (SELECT 1 FROM integration_stats s WHERE s.integration = r.integration);

UPDATE integration_stats SET
    rating_count = (SELECT COUNT(*) FROM integration_reviews r
        WHERE r.integration = integration_stats.integration AND r.hidden_at IS NULL),
    rating_sum = (SELECT COALESCE(SUM(r.rating), 0) FROM integration_reviews r
        WHERE r.integration = integration_stats.integration AND r.hidden_at IS NULL),
    stars_1 = (SELECT COUNT(*) FROM integration_reviews r
        WHERE r.integration = integration_stats.integration AND r.hidden_at IS NULL AND r.rating = 1),
    stars_2 = (SELECT COUNT(*) FROM integration_reviews r
        WHERE r.integration = integration_stats.integration AND r.hidden_at IS NULL AND r.rating = 2),
    stars_3 = (SELECT COUNT(*) FROM integration_reviews r
        WHERE r.integration = integration_stats.integration AND r.hidden_at IS NULL AND r.rating = 3),
    stars_4 = (SELECT COUNT(*) FROM integration_reviews r
        WHERE r.integration = integration_stats.integration AND r.hidden_at IS NULL AND r.rating = 4),
    stars_5 = (SELECT COUNT(*) FROM integration_reviews r
        WHERE r.integration = integration_stats.integration AND r.hidden_at IS NULL AND r.rating = 5);

-- The roll-up starts before every attempt: the first one counts the
-- attempts an earlier release recorded, a batch at a time.
INSERT INTO usage_rollup_cursor (id, finished_at, run_id, step_index, attempt)
VALUES (1, -1, '', -1, -1);
