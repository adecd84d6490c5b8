-- Reviewer accounts' signing keys: each reviewer signs their approvals and
-- revocations with an ed25519 key of their own, and hosts trust a key as
-- that reviewer's (`key_id` -> `account_id`).
--
-- `public_key` is the verifying half (base64 of 32 bytes); the signing
-- half is stored only sealed with the platform's vault keyring
-- (`sealed_private_key`), bound to the key's id. A key is retired
-- (`retired_at` set) when its reviewer loses the reviewer role: it signs
-- nothing more, and hosts trust it only for approvals made before then.
-- The row is kept so existing approvals and revocations keep verifying.
-- An account has at most one key that is not retired; the partial unique
-- index decides when two first approvals race to make it. Portable SQL;
-- times are Unix milliseconds.
CREATE TABLE reviewer_keys (
    key_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    public_key TEXT NOT NULL,
    sealed_private_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);

CREATE UNIQUE INDEX reviewer_keys_one_active ON reviewer_keys (account_id)
    WHERE retired_at IS NULL;

-- A developer lists their own submissions.
CREATE INDEX submissions_by_submitter ON submissions (submitted_by, created_at);
