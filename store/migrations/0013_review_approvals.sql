-- Review governance: the approvals recorded before a submission is
-- approved. A version that widens access compared with its integration's
-- previous approved version needs two approvals from two different
-- reviewers (the engine's rule, host/engine/src/review.rs); the first is
-- kept here, with the fingerprint of the report that reviewer approved,
-- and the submission stays `pending_review` until the second.
--
-- Portable SQL only (TEXT, BIGINT): the same migration runs on SQLite and
-- PostgreSQL. Times are Unix milliseconds.
CREATE TABLE review_approvals (
    submission_id TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (submission_id, reviewer)
);

-- A reviewer's claim on a pending submission: while it lasts
-- (`expires_at`, Unix ms), other reviewers cannot approve or reject it.
-- One claim per submission; an expired claim is ignored and replaced by
-- the next one made.
CREATE TABLE review_claims (
    submission_id TEXT PRIMARY KEY,
    reviewer TEXT NOT NULL,
    claimed_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
