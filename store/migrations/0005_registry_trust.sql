-- The registry's trust records: who owns an integration's name, and the
-- signed, sequenced log of revocations.
--
-- A name belongs to the publisher (submitter) whose version of it was
-- approved first; the row is claimed in the transaction that approves that
-- version, so two publishers racing for one name cannot both win.
CREATE TABLE integration_owners (
    integration TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    claimed_at BIGINT NOT NULL
);

-- Names with an approved (or once approved, now revoked) version belong to
-- the submitter of the earliest such submission.
INSERT INTO integration_owners (integration, owner, submission_id, claimed_at)
SELECT s.integration, s.submitted_by, s.id, s.updated_at
FROM submissions s
WHERE s.state IN ('approved', 'revoked')
  AND NOT EXISTS (
    SELECT 1 FROM submissions t
    WHERE t.integration = s.integration
      AND t.state IN ('approved', 'revoked')
      AND (t.created_at < s.created_at OR (t.created_at = s.created_at AND t.id < s.id))
  );

-- Every revocation, numbered 1, 2, 3, ... by the database (never by a
-- machine's clock). `record` is the revocation signed by the review key
-- (JSON), its number included, so an edited, renumbered or deleted record
-- is detected by the hosts that read the log.
CREATE TABLE revocations (
    seq BIGINT PRIMARY KEY,
    submission_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    record TEXT NOT NULL,
    at BIGINT NOT NULL
);

-- The last revocation number handed out: one row, moved by a conditional
-- UPDATE inside the revoking transaction, so numbers never repeat or skip.
CREATE TABLE revocation_head (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL
);

INSERT INTO revocation_head (id, seq) VALUES (1, 0);
