-- The registry: submissions of integration components for review, every
-- review transition, and the signed approval of the approved ones.
--
-- A submission is one version of one integration: the component (stored
-- content-addressed by `digest` outside the database), the manifest text
-- as submitted and its hash, the review report (JSON), and its state:
-- pending_review -> approved | rejected, approved -> revoked. Portable SQL;
-- times are Unix milliseconds.
CREATE TABLE submissions (
    id TEXT PRIMARY KEY,
    integration TEXT NOT NULL,
    version TEXT NOT NULL,
    digest TEXT NOT NULL,
    manifest TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    contract_version TEXT NOT NULL,
    size BIGINT NOT NULL,
    submitted_by TEXT NOT NULL,
    state TEXT NOT NULL,
    report TEXT NOT NULL,
    approval TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX submissions_by_integration ON submissions (integration, state);
CREATE INDEX submissions_by_digest ON submissions (digest);

-- Every state change of a submission: who, when, why.
CREATE TABLE review_events (
    submission_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT,
    at BIGINT NOT NULL,
    PRIMARY KEY (submission_id, seq)
);
