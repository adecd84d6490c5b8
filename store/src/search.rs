//! The marketplace's search: one search document per integration name
//! that has an approved, not revoked version (`listing_search`), and the
//! one query over it ([`Search::search`]): words in the name, summary and
//! description (SQLite FTS5 ranked by bm25; PostgreSQL `tsvector` ranked
//! by `ts_rank`; the name weighs most, the description least), filters
//! by category, price and OAuth provider, four orders (relevance,
//! installs, rating, newest) and keyset pages behind an opaque cursor.
//!
//! A document is written from the rows it summarises (the newest approved
//! submission and its manifest, the listing, the name's owner) in the
//! transaction that changes them: a listing written
//! ([`crate::listings::Listings::put`], `set_icon`), a version approved or
//! revoked (every state change from or to `approved`). One function does
//! it, `refresh_in`; [`Search::rebuild`] writes every document at once
//! (a database of the previous release gets them when the store opens it,
//! `backfill`). The figures shown and sorted by (installs, ratings) are
//! read from `integration_stats` as they stand; the publisher's name and
//! badge from the owner's developer profile.
//!
//! The user's words never reach the database as query syntax: they are
//! split into words of letters and digits (at most [`MAX_QUERY_TERMS`],
//! from at most [`MAX_QUERY_CHARS`] characters), each quoted, all of them
//! required, the last matched as a prefix (`sla` finds `slack`).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{AnyConnection, Row as _};

use crate::submission_state::SubmissionState;
use crate::{Store, StoreError};

/// The most characters a query's text holds.
pub const MAX_QUERY_CHARS: usize = 200;

/// The most words of a query's text that are searched for; later ones
/// are left out.
pub const MAX_QUERY_TERMS: usize = 10;

/// How many results a page holds unless the query says otherwise.
pub const DEFAULT_LIMIT: i64 = 20;

/// The most results a page holds.
pub const MAX_LIMIT: i64 = 100;

/// The bm25 weights of the name, summary and description (SQLite); on
/// PostgreSQL the same order comes from the weights A, B and C.
const BM25_WEIGHTS: &str = "10.0, 4.0, 1.0";

/// How many documents one INSERT writes when many are written.
const DOCUMENTS_PER_STATEMENT: usize = 100;

/// The order of search results; ties are broken by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchSort {
    /// Best match first (needs words to search for).
    Relevance,
    /// Most current installs first.
    Installs,
    /// Best average rating first (to a tenth of a star), then most ratings.
    Rating,
    /// The most recently listed (first approved) first.
    Newest,
}

impl SearchSort {
    /// Every order, as the API names them.
    pub const ALL: [SearchSort; 4] = [
        SearchSort::Relevance,
        SearchSort::Installs,
        SearchSort::Rating,
        SearchSort::Newest,
    ];

    /// The order's name (`relevance`, `installs`, `rating`, `newest`).
    pub fn as_str(self) -> &'static str {
        match self {
            SearchSort::Relevance => "relevance",
            SearchSort::Installs => "installs",
            SearchSort::Rating => "rating",
            SearchSort::Newest => "newest",
        }
    }

    /// The order named `text`, if any.
    pub fn parse(text: &str) -> Option<SearchSort> {
        SearchSort::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Which prices a search keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PriceFilter {
    /// Free integrations only.
    Free,
    /// Paid integrations only.
    Paid,
}

impl PriceFilter {
    /// The filter's name (`free`, `paid`).
    pub fn as_str(self) -> &'static str {
        match self {
            PriceFilter::Free => "free",
            PriceFilter::Paid => "paid",
        }
    }

    /// The filter named `text`, if any.
    pub fn parse(text: &str) -> Option<PriceFilter> {
        [PriceFilter::Free, PriceFilter::Paid]
            .into_iter()
            .find(|p| p.as_str() == text)
    }
}

/// One search: what to look for, which to keep, in which order, which page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// The user's words, as typed (at most [`MAX_QUERY_CHARS`] characters).
    pub text: Option<String>,
    /// Only integrations filed under this category slug.
    pub category: Option<String>,
    /// Only integrations that use this OAuth provider.
    pub provider: Option<String>,
    /// Only free, or only paid, integrations.
    pub price: Option<PriceFilter>,
    /// Only integrations costing at most this many cents (free ones count
    /// as 0).
    pub max_price_cents: Option<i64>,
    /// The order; relevance when there are words, installs otherwise.
    pub sort: Option<SearchSort>,
    /// How many results a page holds, 1 to [`MAX_LIMIT`].
    pub limit: i64,
    /// The previous page's [`SearchPage::next_cursor`], for the page after it.
    pub cursor: Option<String>,
}

impl Default for SearchQuery {
    fn default() -> SearchQuery {
        SearchQuery {
            text: None,
            category: None,
            provider: None,
            price: None,
            max_price_cents: None,
            sort: None,
            limit: DEFAULT_LIMIT,
            cursor: None,
        }
    }
}

/// One integration found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    /// The integration's name.
    pub name: String,
    /// Its summary (the listing's, or the manifest's description without one).
    pub summary: String,
    /// Its category slugs.
    pub categories: Vec<String>,
    /// The OAuth providers its newest approved version uses.
    pub providers: Vec<String>,
    /// Its upfront price in cents; `None` when free.
    pub price_cents: Option<i64>,
    /// The publisher's display name, when the owner has a developer profile.
    pub publisher: Option<String>,
    /// Whether an admin verified the publisher.
    pub verified: bool,
    /// How many accounts have it installed.
    pub installs_current: i64,
    /// How many (visible) ratings it has.
    pub rating_count: i64,
    /// The sum of those ratings (the average is `rating_sum / rating_count`).
    pub rating_sum: i64,
    /// Whether its listing has an icon.
    pub has_icon: bool,
    /// Its newest approved version.
    pub version: String,
    /// When the name was first approved (Unix ms).
    pub first_approved_at: i64,
}

impl SearchHit {
    /// The average rating in tenths of a star, rounded (45 for 4.5), or
    /// `None` before the first rating.
    pub fn rating_tenths(&self) -> Option<i64> {
        (self.rating_count > 0)
            .then(|| (self.rating_sum * 20 + self.rating_count) / (self.rating_count * 2))
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPage {
    /// The results, in order.
    pub hits: Vec<SearchHit>,
    /// What fetches the next page (passed back as [`SearchQuery::cursor`]
    /// with the same query), or `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Why a search was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// One part of the query is wrong.
    #[error("{message}")]
    Invalid {
        /// The part at fault, named as the API names it (`q`, `limit`,
        /// `cursor`, `sort`, `max_price_cents`).
        field: &'static str,
        /// What was wrong and what to do.
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(field: &'static str, message: impl Into<String>) -> SearchError {
    SearchError::Invalid {
        field,
        message: message.into(),
    }
}

/// The search over the marketplace.
#[derive(Debug, Clone, Copy)]
pub struct Search<'s> {
    store: &'s Store,
}

impl Store {
    /// The marketplace's search documents and the query over them.
    pub fn search(&self) -> Search<'_> {
        Search { store: self }
    }
}

/// The words searched for in `text`: runs of letters and digits,
/// lower-cased, at most [`MAX_QUERY_TERMS`]. Nothing else of the text
/// reaches the database.
pub fn query_terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .map(|word| {
            word.to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
        })
        .filter(|word| !word.is_empty())
        .take(MAX_QUERY_TERMS)
        .collect()
}

/// `terms` as an FTS5 query: each a quoted string, all required, the
/// last a prefix.
fn fts5_query(terms: &[String]) -> String {
    let last = terms.len().saturating_sub(1);
    terms
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let star = if i == last { "*" } else { "" };
            format!("\"{}\"{star}", t.replace('"', "\"\""))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `terms` as a PostgreSQL `tsquery` text: each a quoted lexeme, all
/// required (`&`), the last a prefix (`:*`).
fn tsquery(terms: &[String]) -> String {
    let last = terms.len().saturating_sub(1);
    terms
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let star = if i == last { ":*" } else { "" };
            format!("'{}'{star}", t.replace(['\'', '\\'], ""))
        })
        .collect::<Vec<_>>()
        .join(" & ")
}

/// A page boundary: the last result's sort keys and name, and which
/// search it belongs to.
#[derive(Debug, Clone, PartialEq)]
struct Cursor {
    /// The fingerprint of the search (its words, filters and order).
    search: u64,
    /// The first sort key.
    key: Key,
    /// The second sort key (the rating count when sorting by rating).
    second: i64,
    /// The name.
    name: String,
}

/// A first sort key.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Key {
    /// A relevance score (lower is better).
    Score(f64),
    /// A count or time (higher first).
    Int(i64),
}

impl Cursor {
    /// The cursor as opaque text (hex of `search.key.second.name`).
    fn encode(&self) -> String {
        let key = match self.key {
            Key::Score(score) => format!("s{:016x}", score.to_bits()),
            Key::Int(n) => format!("i{n}"),
        };
        format!("{:016x}.{key}.{}.{}", self.search, self.second, self.name)
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The cursor `text` encodes, if it is one [`Cursor::encode`] made.
    fn decode(text: &str) -> Option<Cursor> {
        if !text.len().is_multiple_of(2) || !text.is_ascii() || text.len() > 2_000 {
            return None;
        }
        let bytes = (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        let text = String::from_utf8(bytes).ok()?;
        let mut parts = text.splitn(4, '.');
        let search = u64::from_str_radix(parts.next()?, 16).ok()?;
        let key = parts.next()?;
        let key = if let Some(bits) = key.strip_prefix('s') {
            Key::Score(f64::from_bits(u64::from_str_radix(bits, 16).ok()?))
        } else {
            Key::Int(key.strip_prefix('i')?.parse().ok()?)
        };
        if let Key::Score(score) = key
            && !score.is_finite()
        {
            return None;
        }
        let second = parts.next()?.parse().ok()?;
        let name = parts.next()?.to_string();
        if name.chars().any(char::is_control) {
            return None;
        }
        Some(Cursor {
            search,
            key,
            second,
            name,
        })
    }
}

/// A 64-bit FNV-1a hash: the same on every host and release.
fn fingerprint(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A value bound to a query.
#[derive(Debug, Clone)]
enum Arg {
    Text(String),
    Int(i64),
    Float(f64),
}

/// A query's text and its bound values, numbered `$1`, `$2`, ...
#[derive(Debug, Default)]
struct Statement {
    args: Vec<Arg>,
}

impl Statement {
    /// Bind `arg`; its placeholder.
    fn bind(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    /// The arguments, for sqlx.
    fn arguments(self) -> AnyArguments<'static> {
        use sqlx::Arguments as _;
        let mut arguments = AnyArguments::default();
        for arg in self.args {
            // Binding owned strings and numbers cannot fail.
            let _ = match arg {
                Arg::Text(text) => arguments.add(text),
                Arg::Int(n) => arguments.add(n),
                Arg::Float(x) => arguments.add(x),
            };
        }
        arguments
    }
}

/// Which database a connection talks to.
fn is_postgres(connection: &AnyConnection) -> bool {
    connection.backend_name().eq_ignore_ascii_case("postgresql")
}

impl Search<'_> {
    /// One page of the integrations `query` finds. Only integrations with
    /// an approved, not revoked version are found; what is shown of each
    /// is public.
    pub async fn search(&self, query: &SearchQuery) -> Result<SearchPage, SearchError> {
        let text = query.text.as_deref().unwrap_or("");
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(invalid(
                "q",
                format!("q is too long: at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        if !(1..=MAX_LIMIT).contains(&query.limit) {
            return Err(invalid(
                "limit",
                format!("limit must be a number from 1 to {MAX_LIMIT}"),
            ));
        }
        if query.max_price_cents.is_some_and(|m| m < 0) {
            return Err(invalid(
                "max_price_cents",
                "max_price_cents must be a whole number of cents, 0 or more",
            ));
        }
        let terms = query_terms(text);
        let sort = match query.sort {
            Some(SearchSort::Relevance) if terms.is_empty() => {
                return Err(invalid(
                    "sort",
                    "sort=relevance needs words to search for in q; sort by installs, rating \
                     or newest to browse",
                ));
            }
            Some(sort) => sort,
            None if terms.is_empty() => SearchSort::Installs,
            None => SearchSort::Relevance,
        };
        let search = fingerprint(&format!(
            "{}\u{1}{}\u{1}{:?}\u{1}{:?}\u{1}{:?}\u{1}{:?}",
            sort.as_str(),
            terms.join(" "),
            query.category,
            query.provider,
            query.price.map(PriceFilter::as_str),
            query.max_price_cents,
        ));
        let after = match &query.cursor {
            None => None,
            Some(text) => {
                let cursor = Cursor::decode(text).ok_or_else(|| {
                    invalid(
                        "cursor",
                        "this is not a cursor this API gave: pass `next_cursor` from the \
                         previous page unchanged, or leave `cursor` out for the first page",
                    )
                })?;
                if cursor.search != search {
                    return Err(invalid(
                        "cursor",
                        "this cursor belongs to another search: keep q, the filters and sort \
                         as they were for the first page, or leave `cursor` out to start over",
                    ));
                }
                Some(cursor)
            }
        };
        let postgres = self.store.backend() == crate::Backend::Postgres;
        let mut st = Statement::default();
        let collate = if postgres { " COLLATE \"C\"" } else { "" };

        // Where the documents come from, and the relevance score.
        let (with, from, mut conditions, score) = match (terms.is_empty(), postgres) {
            (true, _) => (
                String::new(),
                "listing_search d".to_string(),
                Vec::new(),
                None,
            ),
            (false, false) => {
                let q = st.bind(Arg::Text(fts5_query(&terms)));
                (
                    format!(
                        "WITH hits AS MATERIALIZED (SELECT rowid AS id, \
                         bm25(listing_search_text, {BM25_WEIGHTS}) AS score \
                         FROM listing_search_text WHERE listing_search_text MATCH {q}) "
                    ),
                    "hits h JOIN listing_search d ON d.id = h.id".to_string(),
                    Vec::new(),
                    Some("h.score".to_string()),
                )
            }
            (false, true) => {
                let q = st.bind(Arg::Text(tsquery(&terms)));
                (
                    String::new(),
                    format!("listing_search d CROSS JOIN to_tsquery('english', {q}) AS tsq"),
                    vec!["d.document @@ tsq".to_string()],
                    Some("CAST(-ts_rank(d.document, tsq) AS DOUBLE PRECISION)".to_string()),
                )
            }
        };
        for (facet, value) in [("category", &query.category), ("provider", &query.provider)] {
            if let Some(value) = value {
                let p = st.bind(Arg::Text(format!("{facet}:{value}")));
                conditions.push(format!(
                    "d.name IN (SELECT f.name FROM listing_search_facets f WHERE f.facet = {p})"
                ));
            }
        }
        match query.price {
            Some(PriceFilter::Free) => conditions.push("d.price_cents IS NULL".into()),
            Some(PriceFilter::Paid) => conditions.push("d.price_cents IS NOT NULL".into()),
            None => {}
        }
        if let Some(max) = query.max_price_cents {
            let p = st.bind(Arg::Int(max));
            conditions.push(format!("COALESCE(d.price_cents, 0) <= {p}"));
        }

        // The sort keys: the first (ascending for relevance, descending
        // otherwise) and, for ratings, the count.
        let rating_count = "COALESCE(st.rating_count, 0)";
        let (key, second, ascending) = match sort {
            SearchSort::Relevance => (score.clone().unwrap_or_default(), None, true),
            SearchSort::Installs => ("COALESCE(st.installs_current, 0)".to_string(), None, false),
            SearchSort::Rating => (
                format!(
                    "CASE WHEN {rating_count} = 0 THEN 0 ELSE \
                     (st.rating_sum * 20 + st.rating_count) / (st.rating_count * 2) END"
                ),
                Some(rating_count.to_string()),
                false,
            ),
            SearchSort::Newest => ("d.first_approved_at".to_string(), None, false),
        };
        let key = match sort {
            SearchSort::Relevance => key,
            _ => format!("CAST({key} AS BIGINT)"),
        };
        let second = second.map_or_else(
            || "CAST(0 AS BIGINT)".to_string(),
            |s| format!("CAST({s} AS BIGINT)"),
        );
        let (direction, beyond) = if ascending {
            ("ASC", ">")
        } else {
            ("DESC", "<")
        };
        let keyset = match &after {
            None => "1 = 1".to_string(),
            Some(cursor) => {
                let k = match cursor.key {
                    Key::Score(score) if sort == SearchSort::Relevance => {
                        st.bind(Arg::Float(score))
                    }
                    Key::Int(n) if sort != SearchSort::Relevance => st.bind(Arg::Int(n)),
                    _ => {
                        return Err(invalid(
                            "cursor",
                            "this cursor belongs to another search: leave `cursor` out to \
                             start over",
                        ));
                    }
                };
                let s = st.bind(Arg::Int(cursor.second));
                let n = st.bind(Arg::Text(cursor.name.clone()));
                format!(
                    "(r.k1 {beyond} {k} OR (r.k1 = {k} AND (r.k2 {beyond} {s} \
                     OR (r.k2 = {s} AND r.name{collate} > {n}))))"
                )
            }
        };
        let limit = st.bind(Arg::Int(query.limit + 1));
        let conditions = if conditions.is_empty() {
            "1 = 1".to_string()
        } else {
            conditions.join(" AND ")
        };
        // The page's names and keys first, joining the figures only when
        // the order needs them; then what is shown, for those rows alone.
        let figures = if matches!(sort, SearchSort::Installs | SearchSort::Rating) {
            "LEFT JOIN integration_stats st ON st.integration = d.name"
        } else {
            ""
        };
        let sql = format!(
            "{with}SELECT d.name AS name, d.summary AS summary, \
             d.categories AS categories, d.providers AS providers, \
             d.price_cents AS price_cents, d.has_icon AS has_icon, d.version AS version, \
             d.first_approved_at AS first_approved_at, p.display_name AS publisher, \
             p.verified_at AS verified_at, \
             CAST(COALESCE(st.installs_current, 0) AS BIGINT) AS installs_current, \
             CAST(COALESCE(st.rating_count, 0) AS BIGINT) AS rating_count, \
             CAST(COALESCE(st.rating_sum, 0) AS BIGINT) AS rating_sum, \
             page.k1 AS k1, page.k2 AS k2 \
             FROM (SELECT r.name AS name, r.k1 AS k1, r.k2 AS k2 \
             FROM (SELECT d.name AS name, {key} AS k1, {second} AS k2 \
             FROM {from} {figures} WHERE {conditions}) r \
             WHERE {keyset} \
             ORDER BY r.k1 {direction}, r.k2 {direction}, r.name{collate} ASC LIMIT {limit}) page \
             JOIN listing_search d ON d.name = page.name \
             LEFT JOIN integration_stats st ON st.integration = d.name \
             LEFT JOIN developer_profiles p ON p.account_id = d.owner \
             ORDER BY page.k1 {direction}, page.k2 {direction}, page.name{collate} ASC"
        );
        let rows = sqlx::query_with(&sql, st.arguments())
            .fetch_all(self.store.pool())
            .await
            .map_err(StoreError::from)?;
        let mut hits = Vec::with_capacity(rows.len());
        let mut last = None;
        for row in rows.iter().take(usize::try_from(query.limit).unwrap_or(0)) {
            hits.push(decode_hit(row)?);
            last = Some(row);
        }
        let next_cursor = match last {
            Some(row) if rows.len() as i64 > query.limit => {
                let key = if sort == SearchSort::Relevance {
                    Key::Score(row.try_get("k1").map_err(StoreError::from)?)
                } else {
                    Key::Int(row.try_get("k1").map_err(StoreError::from)?)
                };
                Some(
                    Cursor {
                        search,
                        key,
                        second: row.try_get("k2").map_err(StoreError::from)?,
                        name: row.try_get("name").map_err(StoreError::from)?,
                    }
                    .encode(),
                )
            }
            _ => None,
        };
        Ok(SearchPage { hits, next_cursor })
    }

    /// Write again the search document of `name` from the rows it
    /// summarises, in its own transaction (removing it when `name` has no
    /// approved version). The writes that change those rows do this
    /// themselves; this is for repairs and tools.
    pub async fn refresh(&self, name: &str) -> Result<(), StoreError> {
        let mut tx = self.store.pool().begin().await?;
        refresh_in(&mut tx, name).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Write every search document again from the rows they summarise, in
    /// one transaction: a handful of reads and batched writes, for a
    /// database filled in bulk (a benchmark's thousands of listings) or
    /// to repair the index. How many documents there are now.
    pub async fn rebuild(&self) -> Result<u64, StoreError> {
        rebuild_on(self.store.pool()).await
    }
}

fn decode_hit(row: &AnyRow) -> Result<SearchHit, StoreError> {
    let verified_at: Option<i64> = row.try_get("verified_at")?;
    let has_icon: i64 = row.try_get("has_icon")?;
    Ok(SearchHit {
        name: row.try_get("name")?,
        summary: row.try_get("summary")?,
        categories: slugs(&row.try_get::<String, _>("categories")?),
        providers: slugs(&row.try_get::<String, _>("providers")?),
        price_cents: row.try_get("price_cents")?,
        publisher: row.try_get("publisher")?,
        verified: verified_at.is_some(),
        installs_current: row.try_get("installs_current")?,
        rating_count: row.try_get("rating_count")?,
        rating_sum: row.try_get("rating_sum")?,
        has_icon: has_icon != 0,
        version: row.try_get("version")?,
        first_approved_at: row.try_get("first_approved_at")?,
    })
}

/// The slugs of a JSON array of strings; none when it is not one.
fn slugs(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

/// An approved submission, as a document reads it.
#[derive(Debug)]
struct Approved {
    integration: String,
    version: String,
    manifest: String,
}

/// A listing, as a document reads it.
#[derive(Debug)]
struct ListingText {
    summary: String,
    description: String,
    categories: String,
    price_cents: Option<i64>,
    has_icon: bool,
}

/// A name's owner and when the name was claimed (its first approval).
#[derive(Debug)]
struct Owner {
    owner: String,
    claimed_at: i64,
}

/// A search document, as written.
#[derive(Debug)]
struct Document {
    name: String,
    summary: String,
    description: String,
    categories: Vec<String>,
    providers: Vec<String>,
    price_cents: Option<i64>,
    has_icon: bool,
    owner: Option<String>,
    version: String,
    first_approved_at: i64,
}

/// What a document reads of a manifest (TOML): its description, its
/// OAuth providers and its upfront price.
#[derive(Debug, Default)]
struct ManifestText {
    description: String,
    providers: Vec<String>,
    upfront_cents: Option<i64>,
}

impl ManifestText {
    /// Read `text`; an approved manifest always parses, and one that does
    /// not (a damaged row) is logged and read as empty.
    fn read(text: &str) -> ManifestText {
        let table = match text.parse::<toml::Table>() {
            Ok(table) => table,
            Err(e) => {
                tracing::warn!("an approved manifest does not parse as TOML: {e}");
                return ManifestText::default();
            }
        };
        ManifestText {
            description: table
                .get("description")
                .and_then(toml::Value::as_str)
                .unwrap_or_default()
                .to_string(),
            providers: table
                .get("oauth")
                .and_then(toml::Value::as_table)
                .map(|oauth| oauth.keys().cloned().collect())
                .unwrap_or_default(),
            upfront_cents: table
                .get("pricing")
                .and_then(|p| p.get("upfront_cents"))
                .and_then(toml::Value::as_integer),
        }
    }
}

/// Compare `1.10.0` and `1.9.0` as versions (numeric parts), falling back
/// to text for anything else: the registry's order of versions.
fn compare_versions(a: &str, b: &str) -> Ordering {
    let parts = |v: &str| -> Option<Vec<u64>> {
        v.split(['-', '+'])
            .next()?
            .split('.')
            .map(|p| p.parse().ok())
            .collect()
    };
    match (parts(a), parts(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

/// The document of `name` from its approved submissions, listing and
/// owner; `None` without an approved submission. The summary, price and
/// description are the listing's; without a listing (or with an empty
/// summary) the newest approved manifest speaks for it, as the listing
/// page does.
fn document(
    name: &str,
    approved: &[&Approved],
    listing: Option<&ListingText>,
    owner: Option<&Owner>,
    first_approved_fallback: i64,
) -> Option<Document> {
    let newest = approved
        .iter()
        .max_by(|a, b| compare_versions(&a.version, &b.version))?;
    let manifest = ManifestText::read(&newest.manifest);
    let summary = listing
        .map(|l| l.summary.trim())
        .filter(|s| !s.is_empty())
        .unwrap_or(manifest.description.as_str())
        .to_string();
    Some(Document {
        name: name.to_string(),
        summary,
        description: listing.map(|l| l.description.clone()).unwrap_or_default(),
        categories: listing.map(|l| slugs(&l.categories)).unwrap_or_default(),
        providers: manifest.providers,
        price_cents: match listing {
            Some(l) => l.price_cents,
            None => manifest.upfront_cents,
        },
        has_icon: listing.is_some_and(|l| l.has_icon),
        owner: owner.map(|o| o.owner.clone()),
        version: newest.version.clone(),
        first_approved_at: owner.map_or(first_approved_fallback, |o| o.claimed_at),
    })
}

fn decode_approved(row: &AnyRow) -> Result<Approved, StoreError> {
    Ok(Approved {
        integration: row.try_get("integration")?,
        version: row.try_get("version")?,
        manifest: row.try_get("manifest")?,
    })
}

fn decode_listing(row: &AnyRow) -> Result<ListingText, StoreError> {
    let icon: Option<String> = row.try_get("icon_digest")?;
    Ok(ListingText {
        summary: row.try_get("summary")?,
        description: row.try_get("description")?,
        categories: row.try_get("categories")?,
        price_cents: row.try_get("price_cents")?,
        has_icon: icon.is_some(),
    })
}

fn decode_owner(row: &AnyRow) -> Result<Owner, StoreError> {
    Ok(Owner {
        owner: row.try_get("owner")?,
        claimed_at: row.try_get("claimed_at")?,
    })
}

const APPROVED_COLUMNS: &str = "integration, version, manifest, updated_at";
const LISTING_COLUMNS: &str = "name, summary, description, categories, price_cents, icon_digest";
const OWNER_COLUMNS: &str = "integration, owner, claimed_at";

/// Write again, inside the caller's transaction, the search document of
/// the integration `name` from the rows it summarises, or remove it when
/// `name` has no approved version. Called by every write that changes
/// those rows, after its own writes (so the transaction already holds
/// SQLite's write lock); on PostgreSQL the name's advisory lock makes two
/// transactions refreshing one name take turns, so the later one reads
/// what the earlier one committed.
pub(crate) async fn refresh_in(
    connection: &mut AnyConnection,
    name: &str,
) -> Result<(), StoreError> {
    if is_postgres(connection) {
        sqlx::query("SELECT COUNT(*) AS n FROM pg_advisory_xact_lock(hashtext($1))")
            .bind(format!("listing_search:{name}"))
            .execute(&mut *connection)
            .await?;
    }
    sqlx::query("DELETE FROM listing_search_facets WHERE name = $1")
        .bind(name)
        .execute(&mut *connection)
        .await?;
    let approved = sqlx::query(&format!(
        "SELECT {APPROVED_COLUMNS} FROM submissions WHERE integration = $1 AND state = $2"
    ))
    .bind(name)
    .bind(SubmissionState::Approved.as_str())
    .fetch_all(&mut *connection)
    .await?;
    let first_approved_fallback = approved
        .iter()
        .map(|r| r.try_get::<i64, _>("updated_at"))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .min()
        .unwrap_or_default();
    let approved = approved
        .iter()
        .map(decode_approved)
        .collect::<Result<Vec<_>, _>>()?;
    let listing = sqlx::query(&format!(
        "SELECT {LISTING_COLUMNS} FROM marketplace_integrations WHERE name = $1"
    ))
    .bind(name)
    .fetch_optional(&mut *connection)
    .await?
    .as_ref()
    .map(decode_listing)
    .transpose()?;
    let owner = sqlx::query(&format!(
        "SELECT {OWNER_COLUMNS} FROM integration_owners WHERE integration = $1"
    ))
    .bind(name)
    .fetch_optional(&mut *connection)
    .await?
    .as_ref()
    .map(decode_owner)
    .transpose()?;
    let approved: Vec<&Approved> = approved.iter().collect();
    match document(
        name,
        &approved,
        listing.as_ref(),
        owner.as_ref(),
        first_approved_fallback,
    ) {
        Some(document) => write_documents(connection, &[document]).await,
        None => {
            sqlx::query("DELETE FROM listing_search WHERE name = $1")
                .bind(name)
                .execute(&mut *connection)
                .await?;
            Ok(())
        }
    }
}

/// [`refresh_in`] for the integration of submission `id`.
pub(crate) async fn refresh_submission_in(
    connection: &mut AnyConnection,
    id: &str,
) -> Result<(), StoreError> {
    let integration: Option<String> =
        sqlx::query("SELECT integration FROM submissions WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *connection)
            .await?
            .map(|row| row.try_get("integration"))
            .transpose()?;
    match integration {
        Some(name) => refresh_in(connection, &name).await,
        None => Ok(()),
    }
}

/// Insert or replace `documents` and their facets (whose old rows the
/// caller removed), a batch per statement.
async fn write_documents(
    connection: &mut AnyConnection,
    documents: &[Document],
) -> Result<(), StoreError> {
    for batch in documents.chunks(DOCUMENTS_PER_STATEMENT) {
        let mut st = Statement::default();
        let mut values = Vec::with_capacity(batch.len());
        let mut facets = Vec::new();
        for d in batch {
            let json = |v: &[String]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
            let row = [
                st.bind(Arg::Text(d.name.clone())),
                st.bind(Arg::Text(d.summary.clone())),
                st.bind(Arg::Text(d.description.clone())),
                st.bind(Arg::Text(json(&d.categories))),
                st.bind(Arg::Text(json(&d.providers))),
                match d.price_cents {
                    Some(cents) => st.bind(Arg::Int(cents)),
                    None => "NULL".to_string(),
                },
                st.bind(Arg::Int(i64::from(d.has_icon))),
                match &d.owner {
                    Some(owner) => st.bind(Arg::Text(owner.clone())),
                    None => "NULL".to_string(),
                },
                st.bind(Arg::Text(d.version.clone())),
                st.bind(Arg::Int(d.first_approved_at)),
            ];
            values.push(format!("({})", row.join(", ")));
            let mut seen = std::collections::BTreeSet::new();
            for facet in d
                .categories
                .iter()
                .map(|c| format!("category:{c}"))
                .chain(d.providers.iter().map(|p| format!("provider:{p}")))
            {
                if seen.insert(facet.clone()) {
                    facets.push((facet, d.name.clone()));
                }
            }
        }
        sqlx::query_with(
            &format!(
                "INSERT INTO listing_search (name, summary, description, categories, providers, \
                 price_cents, has_icon, owner, version, first_approved_at) VALUES {} \
                 ON CONFLICT (name) DO UPDATE SET summary = excluded.summary, \
                 description = excluded.description, categories = excluded.categories, \
                 providers = excluded.providers, price_cents = excluded.price_cents, \
                 has_icon = excluded.has_icon, owner = excluded.owner, \
                 version = excluded.version, first_approved_at = excluded.first_approved_at",
                values.join(", ")
            ),
            st.arguments(),
        )
        .execute(&mut *connection)
        .await?;
        if !facets.is_empty() {
            let mut st = Statement::default();
            let values: Vec<String> = facets
                .into_iter()
                .map(|(facet, name)| {
                    let f = st.bind(Arg::Text(facet));
                    let n = st.bind(Arg::Text(name));
                    format!("({f}, {n})")
                })
                .collect();
            sqlx::query_with(
                &format!(
                    "INSERT INTO listing_search_facets (facet, name) VALUES {}",
                    values.join(", ")
                ),
                st.arguments(),
            )
            .execute(&mut *connection)
            .await?;
        }
    }
    Ok(())
}

/// [`Search::rebuild`] on `pool`.
async fn rebuild_on(pool: &sqlx::AnyPool) -> Result<u64, StoreError> {
    let mut tx = pool.begin().await?;
    if is_postgres(&tx) {
        // Refreshes of single names wait until every document is written.
        sqlx::query("LOCK TABLE listing_search IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("DELETE FROM listing_search_facets")
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM listing_search")
        .execute(&mut *tx)
        .await?;
    let rows = sqlx::query(&format!(
        "SELECT {APPROVED_COLUMNS} FROM submissions WHERE state = $1"
    ))
    .bind(SubmissionState::Approved.as_str())
    .fetch_all(&mut *tx)
    .await?;
    let mut approved: BTreeMap<String, (Vec<Approved>, i64)> = BTreeMap::new();
    for row in &rows {
        let at: i64 = row.try_get("updated_at")?;
        let a = decode_approved(row)?;
        let entry = approved
            .entry(a.integration.clone())
            .or_insert_with(|| (Vec::new(), at));
        entry.1 = entry.1.min(at);
        entry.0.push(a);
    }
    let mut listings = BTreeMap::new();
    for row in sqlx::query(&format!(
        "SELECT {LISTING_COLUMNS} FROM marketplace_integrations"
    ))
    .fetch_all(&mut *tx)
    .await?
    {
        listings.insert(row.try_get::<String, _>("name")?, decode_listing(&row)?);
    }
    let mut owners = BTreeMap::new();
    for row in sqlx::query(&format!("SELECT {OWNER_COLUMNS} FROM integration_owners"))
        .fetch_all(&mut *tx)
        .await?
    {
        owners.insert(
            row.try_get::<String, _>("integration")?,
            decode_owner(&row)?,
        );
    }
    let documents: Vec<Document> = approved
        .iter()
        .filter_map(|(name, (rows, first))| {
            let rows: Vec<&Approved> = rows.iter().collect();
            document(name, &rows, listings.get(name), owners.get(name), *first)
        })
        .collect();
    write_documents(&mut tx, &documents).await?;
    let postgres = is_postgres(&tx);
    tx.commit().await?;
    if postgres {
        // The planner's row counts, so a filter over thousands of new
        // documents is planned as such (autovacuum would, later).
        sqlx::query("ANALYZE listing_search, listing_search_facets")
            .execute(pool)
            .await?;
    }
    Ok(documents.len() as u64)
}

/// Write the search documents of a database whose approved integrations
/// have none (one the previous release made, before search existed):
/// called when the store opens, after the migrations; one cheap query
/// when nothing is missing.
pub(crate) async fn backfill(pool: &sqlx::AnyPool) -> Result<(), StoreError> {
    let missing = sqlx::query(
        "SELECT s.integration FROM submissions s WHERE s.state = $1 \
         AND NOT EXISTS (SELECT 1 FROM listing_search d WHERE d.name = s.integration) LIMIT 1",
    )
    .bind(SubmissionState::Approved.as_str())
    .fetch_optional(pool)
    .await?;
    if missing.is_some() {
        rebuild_on(pool).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_words_reach_the_query_and_the_last_is_a_prefix() {
        let terms = query_terms("  \"Sla\" NEAR(x*) a:b & | ! (send) 'q' \\ é ");
        assert_eq!(
            terms,
            ["sla", "near", "x", "a", "b", "send", "q", "é"].map(String::from)
        );
        assert_eq!(
            fts5_query(&terms[..2]),
            "\"sla\" \"near\"*",
            "quoted, the last a prefix"
        );
        assert_eq!(tsquery(&terms[..2]), "'sla' & 'near':*");
        assert_eq!(query_terms(&"word ".repeat(50)).len(), MAX_QUERY_TERMS);
        assert!(query_terms("&|!():*\"'").is_empty());
    }

    #[test]
    fn a_cursor_round_trips_and_anything_else_is_refused() {
        for key in [Key::Score(-1.25e-6), Key::Int(1_700_000_000_000)] {
            let cursor = Cursor {
                search: fingerprint("x"),
                key,
                second: 3,
                name: "google-sheets".into(),
            };
            assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        }
        let nul = Cursor {
            search: 1,
            key: Key::Int(1),
            second: 0,
            name: "a\0b".into(),
        };
        assert_eq!(Cursor::decode(&nul.encode()), None, "no control characters");
        for bad in ["", "zz", "abc", "é1", "782e79"] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn ratings_average_in_rounded_tenths() {
        let hit = |count, sum| SearchHit {
            name: String::new(),
            summary: String::new(),
            categories: vec![],
            providers: vec![],
            price_cents: None,
            publisher: None,
            verified: false,
            installs_current: 0,
            rating_count: count,
            rating_sum: sum,
            has_icon: false,
            version: String::new(),
            first_approved_at: 0,
        };
        assert_eq!(hit(0, 0).rating_tenths(), None);
        assert_eq!(hit(2, 9).rating_tenths(), Some(45));
        assert_eq!(hit(3, 13).rating_tenths(), Some(43));
        assert_eq!(hit(3, 14).rating_tenths(), Some(47));
    }

    #[test]
    fn a_manifest_gives_its_providers_description_and_price() {
        let m = ManifestText::read(
            "name = \"x\"\ndescription = \"Does x.\"\n[oauth.slack]\nscopes = []\n\
             [oauth.google]\nscopes = [\"a\"]\n[pricing]\nupfront_cents = 1900\n",
        );
        assert_eq!(m.description, "Does x.");
        assert_eq!(m.providers, ["google", "slack"]);
        assert_eq!(m.upfront_cents, Some(1900));
        assert!(ManifestText::read("not toml [").providers.is_empty());
        assert_eq!(compare_versions("1.10.0", "1.9.0"), Ordering::Greater);
    }
}
