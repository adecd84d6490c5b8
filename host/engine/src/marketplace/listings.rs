//! Listings: what the marketplace shows of an integration, written by the
//! owner of its name or a co-maintainer, and the rule that a paid
//! integration is installed only by an account entitled to it.
//!
//! The rules, all enforced here (the callers check scopes):
//!
//! - **Who writes** a listing: the owner of the name (the publisher of its
//!   first approved version) or one of its co-maintainers; anyone else is
//!   answered [`ListingError::NotFound`], as if there were no integration.
//! - **A listing** has a summary (one line, up to [`MAX_SUMMARY_CHARS`]),
//!   a Markdown description (up to [`MAX_DESCRIPTION_CHARS`], rendered by
//!   [`render_markdown`] with raw HTML escaped and only `http`, `https`,
//!   `mailto` and relative links kept), up to [`MAX_CATEGORIES`] categories
//!   from [`CATEGORIES`], a price (free, or an upfront price in whole cents
//!   from [`MIN_PRICE_CENTS`] to [`MAX_PRICE_CENTS`]; never a float), and
//!   notes per approved version (its changelog). A bad field is refused
//!   with [`ListingError::Invalid`] naming it.
//! - **An icon** is a PNG, JPEG or WebP image, its type read from its
//!   first bytes (and matching the declared one), at most
//!   [`MAX_ICON_BYTES`] bytes and [`MAX_ICON_SIDE`] pixels a side (read
//!   from its header, never decoded); kept content-addressed in the
//!   registry's artifact store.
//! - **Paid installs**: an integration's price is its listing's, or the
//!   approved manifest's `pricing.upfront_cents` while it has no listing.
//!   Installing a paid one needs an entitlement (a purchase, see
//!   `crate::billing::purchases`) unless the installer publishes it; without one the install is
//!   refused with [`ListingError::PaymentRequired`].

use std::collections::BTreeMap;

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag};
use workway_registry::artifacts::{ArtifactError, ArtifactStore};
use workway_registry::manifest::{MAX_UPFRONT_CENTS, MIN_UPFRONT_CENTS};
use workway_registry::{Digest, Manifest};
use workway_store::clock::now_ms;
use workway_store::listings::{ListingFields, ListingRow};
use workway_store::submissions::{SubmissionRow, SubmissionState};
use workway_store::{Store, StoreError};

use crate::billing::tariff::show_cents;

/// The most characters a summary holds.
pub const MAX_SUMMARY_CHARS: usize = 160;

/// The most characters a Markdown description holds.
pub const MAX_DESCRIPTION_CHARS: usize = 20_000;

/// The most characters of notes one version's changelog holds.
pub const MAX_CHANGELOG_CHARS: usize = 5_000;

/// The categories a listing may be filed under.
pub const CATEGORIES: &[&str] = &[
    "communication",
    "productivity",
    "crm",
    "finance",
    "developer-tools",
    "marketing",
    "storage",
    "other",
];

/// The most categories one listing has.
pub const MAX_CATEGORIES: usize = 3;

/// The smallest upfront price, in cents ($19).
pub const MIN_PRICE_CENTS: i64 = MIN_UPFRONT_CENTS as i64;

/// The largest upfront price, in cents ($249).
pub const MAX_PRICE_CENTS: i64 = MAX_UPFRONT_CENTS as i64;

/// The largest icon, in bytes (256 KiB).
pub const MAX_ICON_BYTES: usize = 256 * 1024;

/// The widest and tallest icon, in pixels.
pub const MAX_ICON_SIDE: usize = 1024;

/// Why a listing operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ListingError {
    /// One input was wrong.
    #[error("{message}")]
    Invalid {
        /// The field at fault.
        field: &'static str,
        /// What was wrong and what to do.
        message: String,
    },
    /// No such integration, or the caller may not change its listing:
    /// answered alike, so ownership does not leak.
    #[error("no integration `{0}`")]
    NotFound(String),
    /// The listing has no icon.
    #[error("`{0}` has no icon")]
    NoIcon(String),
    /// The integration is paid and the account has no entitlement to it.
    #[error(
        "`{integration}` costs {}, paid once, and this account has not bought it; buy it first \
         (POST /v1/integrations/{integration}/purchase, or `workway buy {integration}`)",
        show_cents(*price_cents)
    )]
    PaymentRequired {
        /// The integration.
        integration: String,
        /// Its upfront price in cents.
        price_cents: i64,
    },
    /// A stored listing is not what this module writes.
    #[error("the stored listing of `{0}` is damaged: {1}")]
    Damaged(String, String),
    /// The artifact store failed.
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ListingError {
    fn invalid(field: &'static str, message: impl Into<String>) -> ListingError {
        ListingError::Invalid {
            field,
            message: message.into(),
        }
    }
}

/// What a publisher writes on a listing, unchecked.
#[derive(Debug, Clone, Default)]
pub struct ListingInput {
    /// One line shown in search results.
    pub summary: String,
    /// The long description, Markdown.
    pub description: String,
    /// Category slugs from [`CATEGORIES`].
    pub categories: Vec<String>,
    /// The price as the caller sent it: JSON `null` (free) or a whole
    /// number of cents. Kept as JSON so a float is refused by name here
    /// rather than rounded or refused by the decoder without a field.
    pub price_cents: serde_json::Value,
    /// Notes per approved version.
    pub changelog: BTreeMap<String, String>,
}

/// A listing, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The stored row.
    pub row: ListingRow,
    /// Its categories.
    pub categories: Vec<String>,
    /// Its changelog, by version.
    pub changelog: BTreeMap<String, String>,
}

impl Listing {
    fn decode(row: ListingRow) -> Result<Listing, ListingError> {
        let damaged = |e: serde_json::Error| ListingError::Damaged(row.name.clone(), e.to_string());
        let categories = serde_json::from_str(&row.categories).map_err(damaged)?;
        let changelog = serde_json::from_str(&row.changelog).map_err(damaged)?;
        Ok(Listing {
            row,
            categories,
            changelog,
        })
    }
}

/// An icon's image type, read from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IconType {
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
    /// WebP.
    Webp,
}

impl IconType {
    /// Its media type.
    pub fn media_type(self) -> &'static str {
        match self {
            IconType::Png => "image/png",
            IconType::Jpeg => "image/jpeg",
            IconType::Webp => "image/webp",
        }
    }

    /// The type a `Content-Type` names (parameters ignored), if accepted.
    pub fn from_media_type(content_type: &str) -> Option<IconType> {
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        [IconType::Png, IconType::Jpeg, IconType::Webp]
            .into_iter()
            .find(|t| t.media_type().eq_ignore_ascii_case(essence))
    }

    /// The type `bytes` start like, if one of the three.
    pub fn sniff(bytes: &[u8]) -> Option<IconType> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(IconType::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(IconType::Jpeg)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(IconType::Webp)
        } else {
            None
        }
    }
}

/// Check an icon sent with `content_type`: its type (declared, and read
/// from its first bytes), its size and its dimensions.
pub fn check_icon(content_type: &str, bytes: &[u8]) -> Result<IconType, ListingError> {
    let declared = IconType::from_media_type(content_type).ok_or_else(|| {
        ListingError::invalid(
            "content_type",
            format!("an icon is sent as image/png, image/jpeg or image/webp, not `{content_type}`"),
        )
    })?;
    if bytes.is_empty() {
        return Err(ListingError::invalid("icon", "the icon is empty"));
    }
    if bytes.len() > MAX_ICON_BYTES {
        return Err(ListingError::invalid(
            "icon",
            format!(
                "the icon is {} bytes; the most it may have is {MAX_ICON_BYTES} (256 KiB)",
                bytes.len()
            ),
        ));
    }
    let actual = IconType::sniff(bytes);
    if actual != Some(declared) {
        let is = actual.map_or("not a PNG, JPEG or WebP image", IconType::media_type);
        return Err(ListingError::invalid(
            "icon",
            format!(
                "the icon was sent as {} but its first bytes are not that format's signature \
                 (it is {is})",
                declared.media_type()
            ),
        ));
    }
    let size = imagesize::blob_size(bytes).map_err(|e| {
        ListingError::invalid(
            "icon",
            format!("the icon's header cannot be read ({e}): send a whole, valid image"),
        )
    })?;
    if size.width == 0 || size.height == 0 {
        return Err(ListingError::invalid("icon", "the icon has no pixels"));
    }
    if size.width > MAX_ICON_SIDE || size.height > MAX_ICON_SIDE {
        return Err(ListingError::invalid(
            "icon",
            format!(
                "the icon is {}×{} pixels; the most is {MAX_ICON_SIDE}×{MAX_ICON_SIDE}",
                size.width, size.height
            ),
        ));
    }
    Ok(declared)
}

/// A price as sent: `null` (free) or a whole number of cents from
/// [`MIN_PRICE_CENTS`] to [`MAX_PRICE_CENTS`].
pub fn check_price(price: &serde_json::Value) -> Result<Option<i64>, ListingError> {
    let range = format!(
        "a whole number of cents from {MIN_PRICE_CENTS} to {MAX_PRICE_CENTS} ({} to {}), \
         or null for a free integration",
        show_cents(MIN_PRICE_CENTS),
        show_cents(MAX_PRICE_CENTS)
    );
    match price {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(cents) if (MIN_PRICE_CENTS..=MAX_PRICE_CENTS).contains(&cents) => Ok(Some(cents)),
            Some(cents) => Err(ListingError::invalid(
                "price_cents",
                format!("`price_cents` is {cents}: a price is {range}"),
            )),
            None => Err(ListingError::invalid(
                "price_cents",
                format!(
                    "`price_cents` is {n}: money is counted in whole cents; a price is {range}"
                ),
            )),
        },
        other => Err(ListingError::invalid(
            "price_cents",
            format!("`price_cents` is {other}: a price is {range}"),
        )),
    }
}

/// `text` trimmed, if it has at most `max` characters and (when `one_line`)
/// no control characters; `field` names it in the error.
fn check_text(
    field: &'static str,
    text: &str,
    max: usize,
    one_line: bool,
) -> Result<String, ListingError> {
    let text = text.trim();
    let bad_control = |c: char| c.is_control() && (one_line || !matches!(c, '\n' | '\r' | '\t'));
    if text.chars().any(bad_control) {
        return Err(ListingError::invalid(
            field,
            if one_line {
                format!("`{field}` is one line: no newlines, tabs or other control characters")
            } else {
                format!(
                    "`{field}` must not contain control characters other than newlines and tabs"
                )
            },
        ));
    }
    let count = text.chars().count();
    if count > max {
        return Err(ListingError::invalid(
            field,
            format!("`{field}` has {count} characters; the most it may have is {max}"),
        ));
    }
    Ok(text.to_string())
}

/// Categories: each from [`CATEGORIES`], at most [`MAX_CATEGORIES`], no
/// repeats; kept in the order given.
fn check_categories(categories: &[String]) -> Result<Vec<String>, ListingError> {
    if categories.len() > MAX_CATEGORIES {
        return Err(ListingError::invalid(
            "categories",
            format!(
                "`categories` has {}; a listing has at most {MAX_CATEGORIES}",
                categories.len()
            ),
        ));
    }
    let mut kept: Vec<String> = Vec::new();
    for category in categories {
        if !CATEGORIES.contains(&category.as_str()) {
            return Err(ListingError::invalid(
                "categories",
                format!(
                    "`categories` names `{category}`, which is not a category: use {}",
                    CATEGORIES.join(", ")
                ),
            ));
        }
        if kept.contains(category) {
            return Err(ListingError::invalid(
                "categories",
                format!("`categories` names `{category}` twice"),
            ));
        }
        kept.push(category.clone());
    }
    Ok(kept)
}

/// Markdown `source` as HTML safe to put in a page: raw HTML is shown as
/// text (escaped), never passed through, so no `<script>`, no element
/// and no event attribute comes from the source; a link or image whose
/// address has a scheme other than `http`, `https` or `mailto` (an image:
/// other than `https`) is pointed at `#` instead (`javascript:`, `data:`,
/// `vbscript:` ...). Text and addresses are escaped by the renderer.
pub fn render_markdown(source: &str) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES;
    let events = Parser::new_ext(source, options).map(|event| match event {
        Event::Html(html) | Event::InlineHtml(html) => Event::Text(html),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url, &["http", "https", "mailto"], true),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe_url(dest_url, &["https"], false),
            title,
            id,
        }),
        other => other,
    });
    let mut html = String::with_capacity(source.len() + source.len() / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// `url` when its scheme is in `allowed` (or it has none and
/// `relative_ok`); `#` otherwise. The scheme is read as browsers read it:
/// ASCII whitespace and control characters anywhere in it are ignored
/// (`java\tscript:`).
fn safe_url<'a>(url: CowStr<'a>, allowed: &[&str], relative_ok: bool) -> CowStr<'a> {
    let squeezed: String = url
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_control())
        .collect();
    let scheme_end = squeezed.find([':', '/', '?', '#']);
    let safe = match scheme_end {
        Some(end) if squeezed[end..].starts_with(':') => {
            let scheme = squeezed[..end].to_ascii_lowercase();
            allowed.contains(&scheme.as_str())
        }
        // No scheme: a relative address (or a fragment), on this site.
        _ => relative_ok,
    };
    if safe { url } else { CowStr::Borrowed("#") }
}

/// Refuse unless `caller` owns `name` or co-maintains it.
async fn require_publisher(store: &Store, name: &str, caller: &str) -> Result<(), ListingError> {
    let not_found = || ListingError::NotFound(name.to_string());
    let owner = store
        .submissions()
        .owner(name)
        .await?
        .ok_or_else(not_found)?;
    if owner.owner == caller || is_maintainer(store, name, caller).await? {
        Ok(())
    } else {
        Err(not_found())
    }
}

async fn is_maintainer(store: &Store, name: &str, account: &str) -> Result<bool, ListingError> {
    Ok(store
        .publishers()
        .maintainers(name)
        .await?
        .iter()
        .any(|m| m.account_id == account))
}

/// The approved submissions of `name`, most recently approved first.
pub async fn approved_versions(
    store: &Store,
    name: &str,
) -> Result<Vec<SubmissionRow>, ListingError> {
    let mut rows: Vec<SubmissionRow> = store
        .submissions()
        .of_integration(name)
        .await?
        .into_iter()
        .filter(|r| r.state == SubmissionState::Approved)
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.updated_at));
    Ok(rows)
}

/// The listing of `name`, if one was written.
pub async fn listing(store: &Store, name: &str) -> Result<Option<Listing>, ListingError> {
    store
        .listings()
        .get(name)
        .await?
        .map(Listing::decode)
        .transpose()
}

/// Check `input` and make or replace the listing of `name`, for its owner
/// or a co-maintainer `caller`. The icon is kept.
pub async fn put_listing(
    store: &Store,
    name: &str,
    caller: &str,
    input: &ListingInput,
) -> Result<Listing, ListingError> {
    require_publisher(store, name, caller).await?;
    let summary = check_text("summary", &input.summary, MAX_SUMMARY_CHARS, true)?;
    if summary.is_empty() {
        return Err(ListingError::invalid(
            "summary",
            "`summary` is required: one line saying what the integration does",
        ));
    }
    let description = check_text(
        "description",
        &input.description,
        MAX_DESCRIPTION_CHARS,
        false,
    )?;
    let categories = check_categories(&input.categories)?;
    let price_cents = check_price(&input.price_cents)?;
    let approved: Vec<String> = approved_versions(store, name)
        .await?
        .into_iter()
        .map(|r| r.version)
        .collect();
    let mut changelog = BTreeMap::new();
    for (version, notes) in &input.changelog {
        if !approved.contains(version) {
            return Err(ListingError::invalid(
                "changelog",
                format!(
                    "`changelog` has notes for version `{version}`, which is not an approved \
                     version of `{name}` (approved: {})",
                    approved.join(", ")
                ),
            ));
        }
        let notes = check_text("changelog", notes, MAX_CHANGELOG_CHARS, false)?;
        if !notes.is_empty() {
            changelog.insert(version.clone(), notes);
        }
    }
    let encode = |e: serde_json::Error| ListingError::Damaged(name.to_string(), e.to_string());
    let categories_json = serde_json::to_string(&categories).map_err(encode)?;
    let changelog_json = serde_json::to_string(&changelog).map_err(encode)?;
    let row = store
        .listings()
        .put(&ListingFields {
            name,
            summary: &summary,
            description: &description,
            categories: &categories_json,
            changelog: &changelog_json,
            price_cents,
            updated_by: caller,
            now: now_ms(),
        })
        .await?;
    Listing::decode(row)
}

/// Check an icon and make it the icon of `name`'s listing, for its owner
/// or a co-maintainer `caller`; stored in `artifacts` by digest.
pub async fn put_icon(
    store: &Store,
    artifacts: &ArtifactStore,
    name: &str,
    caller: &str,
    content_type: &str,
    bytes: &[u8],
) -> Result<Listing, ListingError> {
    require_publisher(store, name, caller).await?;
    let kind = check_icon(content_type, bytes)?;
    let digest = artifacts.put(bytes)?;
    let row = store
        .listings()
        .set_icon(
            name,
            &digest.to_string(),
            kind.media_type(),
            caller,
            now_ms(),
        )
        .await?;
    Listing::decode(row)
}

/// The icon of `name`'s listing: its bytes (verified against their digest
/// by the artifact store) and media type.
pub async fn icon(
    store: &Store,
    artifacts: &ArtifactStore,
    name: &str,
) -> Result<(Vec<u8>, &'static str), ListingError> {
    let row = store
        .listings()
        .get(name)
        .await?
        .ok_or_else(|| ListingError::NoIcon(name.to_string()))?;
    let (Some(digest), Some(media_type)) = (row.icon_digest, row.icon_type) else {
        return Err(ListingError::NoIcon(name.to_string()));
    };
    let kind = IconType::from_media_type(&media_type).ok_or_else(|| {
        ListingError::Damaged(name.to_string(), format!("icon type {media_type}"))
    })?;
    let digest: Digest = digest
        .parse()
        .map_err(|e| ListingError::Damaged(name.to_string(), format!("icon digest: {e}")))?;
    Ok((artifacts.get(&digest)?.into_bytes(), kind.media_type()))
}

/// The upfront price of `name` in cents (`None` when free): its listing's,
/// or `manifest`'s (its newest approved one) while it has no listing.
pub async fn price_cents(
    store: &Store,
    name: &str,
    manifest: &Manifest,
) -> Result<Option<i64>, ListingError> {
    Ok(match store.listings().get(name).await? {
        Some(row) => row.price_cents,
        None => manifest.pricing.upfront_cents.map(i64::from),
    })
}

/// Refuse installing `integration` (whose approved manifest is
/// `manifest`) for `account` when it is paid and the account is neither
/// entitled to it nor one of its publishers. Free integrations pass.
pub async fn require_entitlement(
    store: &Store,
    account: &str,
    integration: &str,
    manifest: &Manifest,
) -> Result<(), ListingError> {
    let Some(price_cents) = price_cents(store, integration, manifest).await? else {
        return Ok(());
    };
    if store
        .listings()
        .has_entitlement(account, integration)
        .await?
    {
        return Ok(());
    }
    let publishes = match store.submissions().owner(integration).await? {
        Some(owner) if owner.owner == account => true,
        _ => is_maintainer(store, integration, account).await?,
    };
    if publishes {
        return Ok(());
    }
    Err(ListingError::PaymentRequired {
        integration: integration.to_string(),
        price_cents,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn field<T: std::fmt::Debug>(r: Result<T, ListingError>) -> &'static str {
        match r {
            Err(ListingError::Invalid { field, .. }) => field,
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    proptest! {
        #[test]
        fn a_price_is_accepted_exactly_in_range(cents in -100_000i64..100_000) {
            let r = check_price(&serde_json::json!(cents));
            if (1900..=24900).contains(&cents) {
                prop_assert_eq!(r.ok().flatten(), Some(cents));
            } else {
                prop_assert_eq!(field(r), "price_cents");
            }
        }

        #[test]
        fn a_fractional_price_is_refused(dollars in 19.0f64..249.0) {
            let cents = dollars * 100.0 + 0.5;
            prop_assert_eq!(field(check_price(&serde_json::json!(cents))), "price_cents");
        }
    }

    #[test]
    fn price_edges_and_kinds() {
        assert_eq!(check_price(&serde_json::Value::Null).ok(), Some(None));
        assert_eq!(check_price(&serde_json::json!(1900)).ok(), Some(Some(1900)));
        assert_eq!(
            check_price(&serde_json::json!(24900)).ok(),
            Some(Some(24900))
        );
        for bad in [
            serde_json::json!(1899),
            serde_json::json!(24901),
            serde_json::json!(49.0),
            serde_json::json!(49.5),
            serde_json::json!("4900"),
            serde_json::json!(u64::MAX),
        ] {
            assert_eq!(field(check_price(&bad)), "price_cents", "{bad}");
        }
        assert_eq!(show_cents(4900), "$49.00");
        assert_eq!(show_cents(1999), "$19.99");
    }

    #[test]
    fn rendered_markdown_carries_no_script_handler_or_unsafe_link() {
        let source = "# Title\n\n<script>alert(1)</script>\n\nText <img src=x onerror=alert(1)> \
             and <a href=\"javascript:alert(1)\" onclick=\"x()\">a</a>.\n\n\
             [click](javascript:alert(1)) [tab](java\tscript:alert(1)) \
             [ent](javascript&#58;alert(1)) [data](data:text/html,hi) <javascript:alert(2)>\n\n\
             ![img](javascript:alert(3)) ![http](http://example.com/a.png)\n\n\
             [ok](https://example.com/docs?a=1&b=\"2\") [rel](/docs) [mail](mailto:a@b.example)\n\n\
             <div onmouseover=\"alert(4)\">x</div>\n";
        let html = render_markdown(source);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img src=\"x\""), "{html}");
        assert!(!html.contains("<img src=x"), "{html}");
        assert!(!html.contains("<a href=\"javascript"), "{html}");
        assert!(!html.contains("<div"), "{html}");
        assert!(!html.contains("href=\"data:"), "{html}");
        assert!(!html.contains("src=\"javascript"), "{html}");
        assert!(!html.contains("src=\"http://"), "{html}");
        for tag in html.split('<').skip(1) {
            let inside = tag.split('>').next().unwrap_or_default();
            assert!(
                !inside.contains(" on") && !inside.contains("javascript"),
                "a tag with a handler or script link: <{inside}> in {html}"
            );
        }
        assert!(html.contains("&lt;script&gt;"), "shown as text: {html}");
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(
            html.contains("href=\"https://example.com/docs?a=1&amp;b=%222%22\""),
            "{html}"
        );
        assert!(html.contains("href=\"/docs\""), "{html}");
        assert!(html.contains("href=\"mailto:a@b.example\""), "{html}");
    }

    /// A PNG header of `width`×`height` (signature and IHDR chunk).
    pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        bytes.extend_from_slice(&width.to_be_bytes());
        bytes.extend_from_slice(&height.to_be_bytes());
        bytes.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        bytes
    }

    #[test]
    fn icons_are_checked_by_magic_size_and_dimensions() {
        assert_eq!(
            check_icon("image/png", &png(64, 64)).ok(),
            Some(IconType::Png)
        );
        assert_eq!(
            check_icon("image/png; charset=binary", &png(1024, 1024)).ok(),
            Some(IconType::Png)
        );
        assert_eq!(field(check_icon("image/png", &png(1025, 10))), "icon");
        assert_eq!(
            field(check_icon("image/gif", b"GIF89a\x01\0\x01\0")),
            "content_type"
        );
        assert_eq!(
            field(check_icon("image/png", b"GIF89a\x01\0\x01\0")),
            "icon"
        );
        let mut wrong = png(64, 64);
        wrong[1] = b'X';
        assert_eq!(field(check_icon("image/png", &wrong)), "icon");
        assert_eq!(field(check_icon("image/jpeg", &png(64, 64))), "icon");
        let mut big = png(64, 64);
        big.resize(MAX_ICON_BYTES + 1, 0);
        assert_eq!(field(check_icon("image/png", &big)), "icon");
        assert_eq!(field(check_icon("image/png", &[])), "icon");
        assert_eq!(field(check_icon("image/png", &png(0, 5))), "icon");
    }

    #[test]
    fn categories_come_from_the_list() {
        let list = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(check_categories(&list(&["crm", "finance", "other"])).is_ok());
        assert_eq!(
            field(check_categories(&list(&["crm", "games"]))),
            "categories"
        );
        assert_eq!(
            field(check_categories(&list(&["crm", "crm"]))),
            "categories"
        );
        assert_eq!(
            field(check_categories(&list(&[
                "crm", "finance", "other", "storage"
            ]))),
            "categories"
        );
        assert_eq!(
            field(check_text("summary", &"x".repeat(161), 160, true)),
            "summary"
        );
        assert_eq!(field(check_text("summary", "a\nb", 160, true)), "summary");
        assert!(check_text("description", "a\n\tb", 100, false).is_ok());
    }
}
