-- Purchases: upfront purchases of paid integrations, and prepaid credit.
--
-- Upfront purchases of paid integrations: one row per purchase, from
-- `pending` (the payment provider's checkout started) to `paid` (the
-- entitlement granted and the sale and its fee posted to the ledger, in
-- one transaction) and `refunded` (the entitlement removed, the sale
-- reversed). `developer` is the account that owned the integration's
-- name when it was bought (NULL: the platform's own). Prices and fees are
-- integer cents: `fee_estimate_cents` is what was shown before paying
-- (round(2.9% x price) + 30), `fee_cents` what the provider reported.
--
-- Portable SQL only (TEXT, BIGINT). Times are Unix milliseconds.
CREATE TABLE purchases (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    integration TEXT NOT NULL,
    developer TEXT,
    price_cents BIGINT NOT NULL,
    fee_estimate_cents BIGINT NOT NULL,
    fee_cents BIGINT,
    provider TEXT NOT NULL,
    provider_ref TEXT,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK (price_cents > 0 AND fee_estimate_cents >= 0),
    CHECK (fee_cents IS NULL OR (fee_cents >= 0 AND fee_cents <= price_cents))
);
CREATE INDEX purchases_by_account ON purchases (account_id, created_at);
CREATE UNIQUE INDEX purchases_by_provider_ref ON purchases (provider, provider_ref);

-- Prepaid credit bought by a user, from `pending` to `paid` (the credit
-- posted to the ledger, `user:<id>:credit` credited, in the same
-- transaction). Statements draw the credit down before invoicing.
CREATE TABLE credit_purchases (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    provider TEXT NOT NULL,
    provider_ref TEXT,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK (amount_cents > 0)
);
CREATE INDEX credit_purchases_by_account ON credit_purchases (account_id, created_at);
