//! The marketplace the benchmark searches, written straight into the store
//! in bulk (the API would take hours to publish and review 10,000
//! components): listings cloned from the deployment's approved first-party
//! integrations under new names, with generated words, categories, prices,
//! publishers, installs and ratings, and a million finished step attempts
//! over the last 30 days, rolled up by the engine's own roll-up.

use std::time::Instant;

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyPool, Executor as _};
use workway_store::Store;
use workway_store::submissions::{SubmissionRow, SubmissionState};

/// Words the listings are made of; a listing draws a few of them.
const WORDS: &[&str] = &[
    "send",
    "message",
    "channel",
    "email",
    "inbox",
    "label",
    "page",
    "database",
    "invoice",
    "payment",
    "customer",
    "refund",
    "calendar",
    "event",
    "contact",
    "lead",
    "ticket",
    "issue",
    "sheet",
    "row",
    "report",
    "digest",
    "alert",
    "reminder",
    "task",
    "project",
    "file",
    "folder",
    "upload",
    "share",
    "comment",
    "thread",
    "reply",
    "archive",
    "search",
    "sync",
    "import",
    "export",
    "backup",
    "schedule",
    "meeting",
    "note",
    "record",
    "order",
    "shipment",
    "stock",
    "price",
    "subscription",
    "plan",
    "usage",
    "metric",
    "dashboard",
    "chart",
    "team",
    "member",
    "role",
    "webhook",
    "notify",
    "summary",
    "translate",
    "format",
    "merge",
    "split",
    "filter",
    "tag",
    "status",
    "deploy",
    "build",
    "release",
    "review",
    "approve",
    "sign",
    "document",
    "contract",
    "survey",
    "form",
    "response",
    "feedback",
    "campaign",
    "audience",
    "segment",
    "post",
    "tweet",
    "image",
    "video",
    "audio",
    "transcribe",
    "classify",
    "score",
    "enrich",
    "verify",
    "lookup",
    "geocode",
    "weather",
    "currency",
    "exchange",
    "rate",
    "quote",
    "estimate",
];

/// The categories listings are filed under (the engine's list).
const CATEGORIES: &[&str] = workway_engine::marketplace::listings::CATEGORIES;

/// The first-party integrations cloned: each fake one copies one of them
/// (its manifest, report and approval, so its providers and actions are
/// real), under its own name.
const TEMPLATES: &[&str] = &["slack", "gmail", "notion"];

/// A small deterministic generator (xorshift64*), so every run builds the
/// same marketplace.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (not zero).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A word of [`WORDS`].
    pub fn word(&mut self) -> &'static str {
        WORDS[self.below(WORDS.len() as u64) as usize]
    }

    /// An index skewed towards 0 over `0..n`: most executions and installs
    /// go to a few popular integrations, as in any marketplace.
    pub fn skewed(&mut self, n: u64) -> u64 {
        let a = self.below(n);
        let b = self.below(n);
        let c = self.below(n);
        a.min(b).min(c)
    }
}

/// Syllables the generated vocabulary's words are made of.
const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "bra", "dri", "fle", "gro", "ple", "qua",
    "ste", "tro", "vin", "wex", "yor",
];

/// How many generated words the descriptions draw from besides [`WORDS`].
pub const VOCABULARY: u64 = 5_000;

/// Generated word number `k` (three syllables, distinct for every `k`
/// below [`VOCABULARY`]): the long tail of a marketplace's vocabulary.
pub fn generated_word(k: u64) -> String {
    let n = SYLLABLES.len() as u64;
    let syllable = |i: u64| SYLLABLES[usize::try_from(i % n).unwrap_or(0)];
    format!(
        "{}{}{}",
        syllable(k / (n * n)),
        syllable(k / n),
        syllable(k)
    )
}

/// Generated words in a few dozen listings each (the tail of the skewed
/// draw): what "a rare word" searches for.
pub const RARE_WORDS: std::ops::Range<u64> = 3_900..4_100;

/// The word every description holds: searching for it ranks all listings,
/// the worst case.
pub const EVERYWHERE: &str = "integration";

/// A description's words: a quarter from [`WORDS`] (each in about a
/// fifth of the listings), the rest from the generated vocabulary, skewed
/// so a few of those words are common and most are rare.
fn description_words(rng: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| {
            if rng.below(4) == 0 {
                rng.word().to_string()
            } else {
                generated_word(rng.skewed(VOCABULARY))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One generated integration's name: `word-word-N`.
pub fn name(i: usize) -> String {
    let mut rng = Rng::new(0x9e37_79b9 ^ (i as u64 + 1));
    format!("{}-{}-{i}", rng.word(), rng.word())
}

/// What was made, for the measurements.
pub struct Made {
    /// The generated integrations' names.
    pub names: Vec<String>,
    /// Seconds spent inserting listings and their figures.
    pub listing_secs: f64,
    /// Seconds spent inserting the step attempts.
    pub attempts_secs: f64,
    /// Seconds the engine's roll-up took over them.
    pub rollup_secs: f64,
    /// Attempts the roll-up counted.
    pub rolled_up: usize,
}

/// Add `arguments` bound in order to `q`.
fn bind_all<'q>(
    mut q: Query<'q, Any, AnyArguments<'q>>,
    values: &'q [Value],
) -> Query<'q, Any, AnyArguments<'q>> {
    for v in values {
        q = match v {
            Value::Text(s) => q.bind(s.as_str()),
            Value::Int(n) => q.bind(*n),
            Value::Null => q.bind(None::<i64>),
        };
    }
    q
}

/// One bound value of a bulk insert.
enum Value {
    Text(String),
    Int(i64),
    Null,
}

/// Insert `rows` (each `columns.len()` values) into `table`, `per` rows a
/// statement, in one transaction.
async fn insert_rows(
    pool: &AnyPool,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Value>>,
    per: usize,
) {
    let mut tx = pool.begin().await.expect("a transaction");
    for chunk in rows.chunks(per) {
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        let mut n = 0;
        for (r, _) in chunk.iter().enumerate() {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..columns.len() {
                if c > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                sql.push_str(&format!("${n}"));
            }
            sql.push(')');
        }
        let values: Vec<Value> = chunk
            .iter()
            .flat_map(|row| {
                row.iter().map(|v| match v {
                    Value::Text(s) => Value::Text(s.clone()),
                    Value::Int(n) => Value::Int(*n),
                    Value::Null => Value::Null,
                })
            })
            .collect();
        let q = bind_all(sqlx::query(&sql), &values);
        tx.execute(q).await.expect("rows inserted");
    }
    tx.commit().await.expect("committed");
}

/// The approved submission of each template.
async fn templates(store: &Store) -> Vec<SubmissionRow> {
    let mut rows = Vec::new();
    for t in TEMPLATES {
        let row = store
            .submissions()
            .of_integration(t)
            .await
            .expect("readable")
            .into_iter()
            .find(|r| r.state == SubmissionState::Approved)
            .unwrap_or_else(|| panic!("the deployment approved {t}"));
        rows.push(row);
    }
    rows
}

/// Write `listings` integrations (approved submissions, owners, listings,
/// installs and ratings) and `executions` finished step attempts of them
/// over the 30 days before `now` into `store` (whose database is at
/// `url`), then roll the attempts up.
pub async fn make(store: &Store, url: &str, listings: usize, executions: usize, now: i64) -> Made {
    let pool = AnyPool::connect(url).await.expect("the database opens");
    let day = 86_400_000_i64;
    let started = Instant::now();
    let templates = templates(store).await;
    let names: Vec<String> = (0..listings).map(name).collect();
    let mut rng = Rng::new(42);
    let mut submissions = Vec::with_capacity(listings);
    let mut owners = Vec::with_capacity(listings);
    let mut listing_rows = Vec::with_capacity(listings);
    let mut stats = Vec::with_capacity(listings);
    for (i, name) in names.iter().enumerate() {
        let t = &templates[i % templates.len()];
        let approved_at = now - i64::try_from(rng.below(730)).unwrap_or(0) * day;
        let id = format!("sub_bench_{i}");
        let manifest = t.manifest.replacen(
            &format!("name = \"{}\"", t.integration),
            &format!("name = \"{name}\""),
            1,
        );
        let report = t.report.replacen(
            &format!("\"integration\":\"{}\"", t.integration),
            &format!("\"integration\":\"{name}\""),
            1,
        );
        submissions.push(vec![
            Value::Text(id.clone()),
            Value::Text(name.clone()),
            Value::Text(t.version.clone()),
            Value::Text(t.digest.clone()),
            Value::Text(manifest),
            Value::Text(t.manifest_sha256.clone()),
            Value::Text(t.contract_version.clone()),
            Value::Int(t.size),
            Value::Text(format!("acct_publisher_{}", i % 200)),
            Value::Text("approved".into()),
            Value::Text(report),
            t.approval.clone().map_or(Value::Null, Value::Text),
            Value::Int(approved_at - 3_600_000),
            Value::Int(approved_at),
        ]);
        owners.push(vec![
            Value::Text(name.clone()),
            Value::Text(format!("acct_publisher_{}", i % 200)),
            Value::Text(id),
            Value::Int(approved_at),
        ]);
        let summary = format!("{} your {} to {}", rng.word(), rng.word(), rng.word());
        let n = 60 + rng.below(60) as usize;
        let description = format!(
            "# {name}\n\nAn {EVERYWHERE} that {}.\n\n## What it does\n\n- {}\n- {}\n\n{}.\n",
            description_words(&mut rng, n),
            description_words(&mut rng, 8),
            description_words(&mut rng, 8),
            description_words(&mut rng, 20)
        );
        let mut categories = vec![CATEGORIES[rng.below(CATEGORIES.len() as u64) as usize]];
        let second = CATEGORIES[rng.below(CATEGORIES.len() as u64) as usize];
        if second != categories[0] && rng.below(2) == 0 {
            categories.push(second);
        }
        let price = if rng.below(5) == 0 {
            Value::Int(1_900 + i64::try_from(rng.below(230)).unwrap_or(0) * 100)
        } else {
            Value::Null
        };
        listing_rows.push(vec![
            Value::Text(name.clone()),
            Value::Text(summary),
            Value::Text(description),
            Value::Text(serde_json::to_string(&categories).expect("JSON")),
            Value::Text("{}".into()),
            price,
            Value::Text(format!("acct_publisher_{}", i % 200)),
            Value::Int(approved_at),
            Value::Int(approved_at),
        ]);
        let installs = i64::try_from(rng.skewed(50_000)).unwrap_or(0);
        let ratings = installs / 50;
        let mut stars = [0_i64; 5];
        for _ in 0..ratings.min(200) {
            stars[usize::try_from(rng.below(5)).unwrap_or(0)] += 1;
        }
        let count: i64 = stars.iter().sum();
        let sum: i64 = stars
            .iter()
            .enumerate()
            .map(|(s, n)| (s as i64 + 1) * n)
            .sum();
        let mut row = vec![
            Value::Text(name.clone()),
            Value::Int(installs),
            Value::Int(installs + installs / 10),
            Value::Int(count),
            Value::Int(sum),
        ];
        row.extend(stars.iter().map(|n| Value::Int(*n)));
        row.push(Value::Int(now));
        stats.push(row);
    }
    insert_rows(
        &pool,
        "submissions",
        &[
            "id",
            "integration",
            "version",
            "digest",
            "manifest",
            "manifest_sha256",
            "contract_version",
            "size",
            "submitted_by",
            "state",
            "report",
            "approval",
            "created_at",
            "updated_at",
        ],
        submissions,
        50,
    )
    .await;
    insert_rows(
        &pool,
        "integration_owners",
        &["integration", "owner", "submission_id", "claimed_at"],
        owners,
        200,
    )
    .await;
    insert_rows(
        &pool,
        "marketplace_integrations",
        &[
            "name",
            "summary",
            "description",
            "categories",
            "changelog",
            "price_cents",
            "updated_by",
            "created_at",
            "updated_at",
        ],
        listing_rows,
        100,
    )
    .await;
    insert_rows(
        &pool,
        "integration_stats",
        &[
            "integration",
            "installs_current",
            "installs_total",
            "rating_count",
            "rating_sum",
            "stars_1",
            "stars_2",
            "stars_3",
            "stars_4",
            "stars_5",
            "updated_at",
        ],
        stats,
        200,
    )
    .await;
    store
        .search()
        .rebuild()
        .await
        .expect("the search index rebuilt");
    let listing_secs = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let mut attempts = Vec::with_capacity(10_000);
    let mut rng = Rng::new(7);
    let window = 30 * day - 120_000;
    for e in 0..executions {
        let which = usize::try_from(rng.skewed(listings as u64)).unwrap_or(0);
        let t = TEMPLATES[which % TEMPLATES.len()];
        let started_at = now - 120_000 - i64::try_from(rng.below(window as u64)).unwrap_or(0);
        let latency = 20 + i64::try_from(rng.below(400) + rng.below(400)).unwrap_or(0);
        let ok = rng.below(100) < 96;
        attempts.push(vec![
            Value::Text(format!("run_bench_{}", e / 3)),
            Value::Int(i64::try_from(e % 3).unwrap_or(0)),
            Value::Int(1),
            Value::Text(format!("step{}", e % 3)),
            Value::Text(format!("{}.{}", names[which], action_of(t))),
            Value::Text(if ok { "succeeded" } else { "failed" }.into()),
            Value::Text(format!("k{e}")),
            Value::Int(started_at),
            Value::Int(started_at + latency),
        ]);
        if attempts.len() == 10_000 || e + 1 == executions {
            insert_rows(
                &pool,
                "step_attempts",
                &[
                    "run_id",
                    "step_index",
                    "attempt",
                    "step_id",
                    "action",
                    "status",
                    "idempotency_key",
                    "started_at",
                    "finished_at",
                ],
                std::mem::take(&mut attempts),
                500,
            )
            .await;
        }
    }
    let attempts_secs = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let settings = workway_engine::marketplace::figures::RollupSettings {
        max_batches: usize::MAX,
        ..Default::default()
    };
    let report = workway_engine::marketplace::figures::roll_up(store, now, &settings)
        .await
        .expect("rolled up");
    let rollup_secs = started.elapsed().as_secs_f64();
    Made {
        names,
        listing_secs,
        attempts_secs,
        rollup_secs,
        rolled_up: report.counted,
    }
}

/// An action of the first-party integration `template`.
fn action_of(template: &str) -> &'static str {
    match template {
        "slack" => "send-message",
        "gmail" => "fetch-email",
        _ => "create-page",
    }
}
