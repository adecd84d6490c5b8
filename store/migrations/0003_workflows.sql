-- Workflows: the integrations each user installed, the workflows they
-- saved (every version kept), the runs of those workflows with the lease
-- of the host process driving each one, every attempt of every step, and
-- the keys that make a webhook delivery or a cron tick start one run only.
--
-- Portable SQL only (TEXT, BIGINT; JSON is stored as TEXT): the same
-- migration runs on SQLite and PostgreSQL. Times are Unix milliseconds.

-- One integration installed by one user: the approved version it runs
-- (`digest` and the `submission_id` it was approved as) and the user's
-- settings for it (`config`, a JSON object of string -> string).
-- Installing again replaces the version and settings in place.
CREATE TABLE installations (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    integration TEXT NOT NULL,
    version TEXT NOT NULL,
    digest TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (owner, integration)
);

-- A workflow, named per owner. `version` is its latest version (the
-- definitions are in `workflow_versions`); `trigger_kind` is how runs
-- start (manual | webhook | schedule | event); `webhook_token` is the
-- secret path component of its webhook URL, when it has one, and
-- `webhook_secret` the key its deliveries are signed with (sealed by the
-- host's vault keyring, never stored in the clear).
CREATE TABLE workflows (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    trigger_kind TEXT NOT NULL,
    webhook_token TEXT UNIQUE,
    webhook_secret TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (owner, name)
);

CREATE INDEX workflows_by_trigger ON workflows (trigger_kind);

-- Every saved version of every workflow: its definition (JSON) as saved.
-- Runs pin the version they started with.
CREATE TABLE workflow_versions (
    workflow_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    definition TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workflow_id, version)
);

-- One run of one version of a workflow. `trigger_data` (JSON) is what
-- started it, `pins` (JSON) what it pinned (integration -> version and
-- digest). `status`: queued | running | waiting | succeeded | failed |
-- cancelled. `next_step` is the index of the step to run next and
-- `not_before` when the run may next be claimed. A running run is leased
-- to one host process (`lease_owner`) until `lease_until`; once the lease
-- expires another process may claim the run and resume it. `error` (JSON)
-- is why a run failed.
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    workflow_id TEXT NOT NULL,
    workflow_version BIGINT NOT NULL,
    owner TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    trigger_data TEXT NOT NULL,
    pins TEXT NOT NULL,
    status TEXT NOT NULL,
    next_step BIGINT NOT NULL,
    not_before BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    error TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    updated_at BIGINT NOT NULL
);

-- Claiming looks for due runs by status and time.
CREATE INDEX runs_due ON runs (status, not_before);
CREATE INDEX runs_by_workflow ON runs (workflow_id, created_at);
CREATE INDEX runs_by_owner ON runs (owner, created_at);

-- Every attempt of every step of a run: what went in and came out (JSON),
-- the error of a failed attempt and when it is retried, the step's report
-- (JSON), and the idempotency key the step's action was called with (the
-- same for a resumed attempt, so the service can dedupe it). `status`:
-- running | succeeded | failed | skipped.
CREATE TABLE step_attempts (
    run_id TEXT NOT NULL,
    step_index BIGINT NOT NULL,
    attempt BIGINT NOT NULL,
    step_id TEXT NOT NULL,
    action TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT,
    output TEXT,
    error TEXT,
    report TEXT,
    idempotency_key TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    retry_at BIGINT,
    PRIMARY KEY (run_id, step_index, attempt)
);

-- Keys of the triggers that started runs: a webhook delivery's idempotency
-- key or a cron tick (`tick:<unix ms>`). The primary key makes a second
-- insert of the same key fail, on one process or many, so each starts one
-- run only; keys are forgotten after `expires_at`.
CREATE TABLE trigger_keys (
    workflow_id TEXT NOT NULL,
    key TEXT NOT NULL,
    run_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (workflow_id, key)
);
