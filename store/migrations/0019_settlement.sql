-- Settlement: what the payment provider was asked to do with the money
-- the ledger says is owed, and what it reported back.
--
-- `payment_events`: every provider notification (webhook) applied, by the
-- provider's event id, so a notification sent twice is applied once.
-- `payment_customers`: the provider's customer of an account (usage
-- invoices are sent to it). `invoices`: one per finalized user statement
-- with something to pay, from `open` to `paid` (the ledger then moves the
-- amount from the user's receivable to the provider) or `payment_failed`
-- (retried by the provider; `attempts` counts the failures).
-- `sale_transfers`: the part of an upfront sale the provider moved to the
-- developer's connected account with the charge (a destination charge),
-- and how much of it a refund reversed. `payouts`: one per finalized
-- developer statement: what the developer's payable account is owed then,
-- floored to the cent (the rest stays on the account for the next one).
-- `skipped` when less than a cent is owed or the developer has no payout
-- account yet (the balance waits for the next statement); else `pending`
-- (the ledger already moved the amount to the provider: the transfer is
-- asked for with the payout's id as its idempotency key until the provider
-- answers), then `paid` or `failed` (the amount moved back to the
-- developer's payable).
--
-- Portable SQL only (TEXT, BIGINT). Amounts are integer cents; times are
-- Unix milliseconds.
CREATE TABLE payment_events (
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (provider, event_id)
);

CREATE TABLE payment_customers (
    account_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    customer_ref TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, provider)
);

CREATE TABLE invoices (
    statement_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    provider TEXT NOT NULL,
    provider_ref TEXT,
    url TEXT,
    state TEXT NOT NULL,
    failure TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK (amount_cents > 0)
);
CREATE UNIQUE INDEX invoices_by_provider_ref ON invoices (provider, provider_ref);
CREATE INDEX invoices_by_account ON invoices (account_id, created_at);

CREATE TABLE sale_transfers (
    purchase_id TEXT PRIMARY KEY,
    provider_ref TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    reversed_cents BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    CHECK (amount_cents >= 0 AND reversed_cents >= 0 AND reversed_cents <= amount_cents)
);

CREATE TABLE payouts (
    id TEXT PRIMARY KEY,
    developer TEXT NOT NULL,
    statement_id TEXT NOT NULL UNIQUE,
    amount_cents BIGINT NOT NULL,
    destination TEXT,
    provider TEXT NOT NULL,
    provider_ref TEXT,
    state TEXT NOT NULL,
    failure TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK (amount_cents >= 0)
);
CREATE INDEX payouts_by_developer ON payouts (developer, created_at);
CREATE INDEX payouts_by_state ON payouts (state, created_at);

-- A provider's notification names a credit purchase by its checkout.
CREATE UNIQUE INDEX credit_purchases_by_provider_ref ON credit_purchases (provider, provider_ref);
