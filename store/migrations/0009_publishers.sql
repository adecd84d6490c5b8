-- Publishers: the developer profile each publishing account shows the
-- marketplace, and the co-maintainers an integration's owner lets publish
-- versions of its name.
--
-- Portable SQL only (TEXT, BIGINT): the same migration runs on SQLite and
-- PostgreSQL. Times are Unix milliseconds.

-- One developer account's public face. `website` and `support_contact`
-- are checked by the engine (https URLs, or an email address for the
-- contact); `payout_account` is an opaque reference billing uses, shown
-- only to the account itself and to admins. The profile is verified while
-- `verified_at` is set (with the admin who verified it in `verified_by`);
-- only an admin sets them, and changing the display name or the website
-- clears them.
CREATE TABLE developer_profiles (
    account_id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    website TEXT,
    support_contact TEXT NOT NULL,
    payout_account TEXT,
    verified_by TEXT,
    verified_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Accounts the owner of an integration's name (see integration_owners)
-- lets publish versions of it. A co-maintainer never becomes the owner:
-- approving their version leaves the name with its owner.
CREATE TABLE integration_maintainers (
    integration TEXT NOT NULL,
    account_id TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (integration, account_id)
);

-- "Which names may this account publish" looks them up by account.
CREATE INDEX integration_maintainers_by_account ON integration_maintainers (account_id);
