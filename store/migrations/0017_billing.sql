-- Billing: the free allowance counted per user and month, one usage
-- record per execution written in the transaction that commits its step,
-- monthly statements (stored only when finalized; a draft is computed
-- from the usage not yet on one) and the append-only double-entry ledger.
--
-- Portable SQL only (TEXT, BIGINT): the same migration runs on SQLite and
-- PostgreSQL. Times are Unix milliseconds; months are calendar months in
-- UTC written `YYYY-MM`. Money is integer mills (1/1000 USD) except where
-- a column says cents.

-- How many billable executions (step executions that succeeded) a user
-- has had in a month, counted in the transaction that commits each one:
-- the row is locked by the first writer on PostgreSQL and SQLite
-- serialises writers, so the n-th billable execution of a month, in
-- commit order, is numbered n on every host.
CREATE TABLE billing_months (
    owner TEXT NOT NULL,
    month TEXT NOT NULL,
    billable BIGINT NOT NULL,
    PRIMARY KEY (owner, month)
);

-- One row per execution of a workflow step (a step attempt whose plugin
-- ran, or was refused after the attempt started), keyed by the attempt,
-- written in the transaction that commits the attempt's result, so a
-- crash or a second host can never count it twice or not at all.
-- `month` is the month of `started_at`. `developer` is the account that
-- owned the integration's name when it ran (NULL: no account, the
-- platform's own integration). `seq` numbers the billable ones per user
-- and month (NULL when not billable); the first `free_per_month` are
-- free. `charge_mills` = `developer_mills` + `platform_mills`.
-- `statement_id` is the user statement that charged it and
-- `developer_statement_id` the developer statement that credited its
-- share, each set once, when that statement is finalized.
CREATE TABLE usage_records (
    run_id TEXT NOT NULL,
    step_index BIGINT NOT NULL,
    attempt BIGINT NOT NULL,
    owner TEXT NOT NULL,
    integration TEXT NOT NULL,
    developer TEXT,
    month TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    committed_at BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    class TEXT NOT NULL,
    compute_units BIGINT NOT NULL,
    seq BIGINT,
    charge_mills BIGINT NOT NULL,
    developer_mills BIGINT NOT NULL,
    platform_mills BIGINT NOT NULL,
    statement_id TEXT,
    developer_statement_id TEXT,
    PRIMARY KEY (run_id, step_index, attempt),
    CHECK (charge_mills = developer_mills + platform_mills),
    CHECK (charge_mills >= 0 AND developer_mills >= 0 AND platform_mills >= 0)
);

-- One billable number per user and month, whatever happens; also how a
-- user's records are found (by owner, then month).
CREATE UNIQUE INDEX usage_records_seq ON usage_records (owner, month, seq);
CREATE INDEX usage_records_by_developer ON usage_records (developer, developer_statement_id);
CREATE INDEX usage_records_by_statement ON usage_records (statement_id, month, owner);

-- A finalized monthly statement: of a user (`kind` = 'user': what their
-- usage cost) or of a developer (`kind` = 'developer': their share of the
-- usage charged that month and what is paid out). Written once, never
-- updated. `total_mills` is the month's own amount (user: charges of the
-- month's usage; developer: shares), `adjustment_mills` the amount of
-- earlier months' usage that arrived after their statement was final,
-- `carried_in_mills` the sub-cent remainder of the previous statement,
-- `credit_mills` the user's prepaid credit drawn down by it,
-- `amount_cents` what is invoiced or paid out (floored to the cent),
-- `carried_out_mills` the remainder carried to the next. `summary` and
-- `lines` are JSON (counts; lines per integration).
CREATE TABLE statements (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    month TEXT NOT NULL,
    total_mills BIGINT NOT NULL,
    adjustment_mills BIGINT NOT NULL,
    carried_in_mills BIGINT NOT NULL,
    credit_mills BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL,
    carried_out_mills BIGINT NOT NULL,
    summary TEXT NOT NULL,
    lines TEXT NOT NULL,
    finalized_at BIGINT NOT NULL,
    UNIQUE (account_id, kind, month),
    CHECK (credit_mills >= 0),
    CHECK ((total_mills + adjustment_mills + carried_in_mills - credit_mills)
        = amount_cents * 10 + carried_out_mills)
);

-- The double-entry ledger, append-only: the entries of one transaction
-- (`txn`) sum to zero; a correction is a new transaction. `amount_mills`
-- is a debit when positive, a credit when negative. Accounts:
-- `user:<id>:receivable`, `developer:<id>:payable`,
-- `developer:platform:payable` (the developer share of the platform's
-- own integrations), `platform:revenue`, and those payments will add.
-- `kind` says what the entry records (`user_charge`, `developer_share`,
-- `platform_share`, ...); `reference` the statement (or purchase,
-- payout, refund) it belongs to; `seq` the entry's place in its
-- transaction.
CREATE TABLE ledger_entries (
    id TEXT PRIMARY KEY,
    txn TEXT NOT NULL,
    seq BIGINT NOT NULL,
    account TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount_mills BIGINT NOT NULL,
    reference TEXT NOT NULL,
    posted_at BIGINT NOT NULL
);
CREATE INDEX ledger_entries_by_account ON ledger_entries (account, posted_at);
CREATE INDEX ledger_entries_by_txn ON ledger_entries (txn, seq);
CREATE INDEX ledger_entries_by_time ON ledger_entries (posted_at, id);
