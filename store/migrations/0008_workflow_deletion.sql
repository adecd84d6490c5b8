-- Deleting a workflow. A deleted workflow keeps its row and every version
-- (`deleted_at` set, its webhook token and signing key cleared): runs
-- already recorded stay readable with the workflow's name and the version
-- they ran, while triggers, lists and lookups by name see only workflows
-- that are not deleted. Its name is free again at once: a workflow's name
-- is unique among the owner's workflows that are not deleted, so the
-- table-level `UNIQUE (owner, name)` of 0003 becomes a partial unique
-- index.
--
-- SQLite cannot drop a table constraint, so the table is rebuilt (the
-- procedure SQLite documents; no other table refers to this one, and the
-- migration runs in one transaction). Portable SQL: the same statements
-- run on PostgreSQL, where the primary key and the token's unique
-- constraint keep the names they were made with (`workflows_next_pkey`,
-- `workflows_next_webhook_token_key`); nothing refers to them by name.
CREATE TABLE workflows_next (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    trigger_kind TEXT NOT NULL,
    webhook_token TEXT UNIQUE,
    webhook_secret TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);

INSERT INTO workflows_next (id, owner, name, version, trigger_kind, webhook_token,
    webhook_secret, created_at, updated_at)
SELECT id, owner, name, version, trigger_kind, webhook_token, webhook_secret,
    created_at, updated_at
FROM workflows;

DROP TABLE workflows;

ALTER TABLE workflows_next RENAME TO workflows;

-- One workflow of each name per owner among those not deleted.
CREATE UNIQUE INDEX workflows_live_name ON workflows (owner, name) WHERE deleted_at IS NULL;

CREATE INDEX workflows_by_trigger ON workflows (trigger_kind);
