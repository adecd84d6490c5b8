//! The query plans of the statements that find one run by its id while
//! checking that it is running: the primary key, never `runs_due`, even
//! when the database's statistics say almost no run is running.

use sqlx::Row as _;

use super::claim::{RELEASE, RENEW, claim_sql};
use super::progress::{FENCE, start_sql};
use crate::Backend;
use crate::testing::{TestStore, test_stores};

/// Finished runs, then statistics taken (no run running), then running
/// runs: what a queue that was idle when it was last analysed and is busy
/// now looks like to the planner.
async fn idle_statistics_then_busy(t: &TestStore) {
    let pool = t.store.pool();
    let (series, analyze) = match t.store.backend() {
        Backend::Postgres => (
            "SELECT g AS n FROM generate_series(1, {n}) g",
            "ANALYZE runs",
        ),
        Backend::Sqlite => (
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n}) \
             SELECT n FROM s",
            "ANALYZE",
        ),
    };
    let insert = |prefix: &str, status: &str, n: usize| {
        format!(
            "INSERT INTO runs (id, workflow_id, workflow_version, owner, trigger_kind, \
             trigger_data, pins, status, next_step, not_before, lease_owner, lease_until, \
             created_at, updated_at) \
             SELECT '{prefix}' || n, 'w1', 1, 'ann', 'manual', '{{}}', '{{}}', '{status}', 0, 0, \
             'host', 4000000000000, n, n FROM ({}) AS series",
            series.replace("{n}", &n.to_string())
        )
    };
    sqlx::query(&insert("done-", "succeeded", 2_000))
        .execute(pool)
        .await
        .expect("finished runs");
    sqlx::query(analyze)
        .execute(pool)
        .await
        .expect("statistics");
    sqlx::query(&insert("busy-", "running", 500))
        .execute(pool)
        .await
        .expect("running runs");
}

/// The plan of `sql` with its parameters bound to a running run's values
/// (`$1` or `$2` the run's id as each statement has it), one line.
async fn plan(t: &TestStore, sql: &str, args: &[Arg]) -> String {
    let explain = match t.store.backend() {
        Backend::Postgres => format!("EXPLAIN {sql}"),
        Backend::Sqlite => format!("EXPLAIN QUERY PLAN {sql}"),
    };
    let mut query = sqlx::query(&explain);
    for arg in args {
        query = match arg {
            Arg::Text(text) => query.bind(*text),
            Arg::Int(int) => query.bind(*int),
        };
    }
    let rows = query.fetch_all(t.store.pool()).await.expect("explained");
    rows.iter()
        .map(|row| match t.store.backend() {
            Backend::Postgres => row.try_get::<String, _>(0).expect("a plan line"),
            Backend::Sqlite => row.try_get::<String, _>("detail").expect("a plan line"),
        })
        .collect::<Vec<_>>()
        .join(" / ")
}

enum Arg {
    Text(&'static str),
    Int(i64),
}

#[tokio::test]
async fn a_run_found_by_id_is_read_through_the_primary_key_whatever_the_statistics_say() {
    use Arg::{Int, Text};
    let now = 1_000;
    for t in test_stores().await {
        idle_statistics_then_busy(&t).await;
        let fenced = format!("UPDATE runs SET updated_at = $3 WHERE {FENCE}");
        let statements: [(&str, &str, Vec<Arg>); 4] = [
            (
                "fence",
                &fenced,
                vec![Text("busy-250"), Text("host"), Int(now)],
            ),
            (
                "start",
                start_sql(t.store.backend()),
                vec![
                    Text("busy-250"),
                    Int(0),
                    Int(1),
                    Text("s"),
                    Text("slack.send-message"),
                    Text("{}"),
                    Text("busy-250:0:1"),
                    Int(now),
                    Text("host"),
                ],
            ),
            (
                "renew",
                RENEW,
                vec![Int(now), Text("busy-250"), Text("host")],
            ),
            (
                "release",
                RELEASE,
                vec![Int(now), Text("busy-250"), Text("host")],
            ),
        ];
        for (name, sql, args) in &statements {
            let plan = plan(&t, sql, args).await;
            assert!(
                !plan.contains("runs_due"),
                "{} {name}: reads the running runs to find one: {plan}",
                t.label
            );
            let by_key = match t.store.backend() {
                Backend::Postgres => "runs_pkey",
                Backend::Sqlite => "sqlite_autoindex_runs_1 (id=?)",
            };
            assert!(plan.contains(by_key), "{} {name}: {plan}", t.label);
        }
        // The statistics do mislead the planner: the same update with the
        // status checked as `status = 'running'` goes through `runs_due`
        // on PostgreSQL, which is what the fence's form avoids.
        if t.store.backend() == Backend::Postgres {
            let plain = fenced.replace("(status = 'running') IS TRUE", "status = 'running'");
            let plan = plan(&t, &plain, &[Text("busy-250"), Text("host"), Int(now)]).await;
            assert!(plan.contains("runs_due"), "{}: {plan}", t.label);
        }
        t.cleanup().await;
    }
}

/// A claim reads the queue through `runs_queue`, a few runs per owner, and
/// the runs it takes by their key, never the whole table: its cost does
/// not grow with the backlog. On SQLite also under statistics taken when
/// the queue was short, which it keeps until someone runs `ANALYZE` again
/// (PostgreSQL's autovacuum takes them anew as the table grows, and a
/// 100-row table is rightly read whole).
#[tokio::test]
async fn a_claim_reads_each_owners_oldest_runs_not_the_whole_queue() {
    for t in test_stores().await {
        queue(&t, "ann", 1).await;
        queue(&t, "bob", 1).await;
        queue(&t, "bea", 100).await;
        if t.store.backend() == Backend::Sqlite {
            assert_claim_reads_no_whole_table(&t, "a short queue").await;
        }
        idle_statistics_then_busy(&t).await;
        queue(&t, "cy", 3_000).await;
        assert_claim_reads_no_whole_table(&t, "a long queue").await;
        t.cleanup().await;
    }
}

/// `n` queued runs of `owner`.
async fn queue(t: &TestStore, owner: &str, n: usize) {
    let series = match t.store.backend() {
        Backend::Postgres => format!("SELECT g AS n FROM generate_series(1, {n}) g"),
        Backend::Sqlite => format!(
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n}) \
             SELECT n FROM s"
        ),
    };
    let queued = format!(
        "INSERT INTO runs (id, workflow_id, workflow_version, owner, trigger_kind, \
         trigger_data, pins, status, next_step, not_before, created_at, updated_at) \
         SELECT '{owner}-' || n, 'w1', 1, '{owner}', 'manual', '{{}}', '{{}}', 'queued', 0, \
         n, n, n FROM ({series}) AS series"
    );
    sqlx::query(&queued)
        .execute(t.store.pool())
        .await
        .expect("queued runs");
}

/// With fresh statistics, the claim's plan reads `runs_queue` and scans no
/// table (only its own CTEs).
async fn assert_claim_reads_no_whole_table(t: &TestStore, when: &str) {
    use Arg::{Int, Text};
    let analyze = match t.store.backend() {
        Backend::Postgres => "ANALYZE runs",
        Backend::Sqlite => "ANALYZE",
    };
    sqlx::query(analyze)
        .execute(t.store.pool())
        .await
        .expect("statistics");
    let sql = claim_sql(t.store.backend(), 8, Some(64));
    let args = [Text("host"), Int(70_000), Int(10_000), Int(8), Int(64)];
    let plan = plan(t, &sql, &args).await;
    assert!(plan.contains("runs_queue"), "{} {when}: {plan}", t.label);
    let ctes = ["q", "due", "live", "candidates", "pick", "queued_owners"];
    let scans_a_table = plan.split(" / ").any(|line| match t.store.backend() {
        Backend::Postgres => line.contains("Seq Scan on runs"),
        Backend::Sqlite => line.strip_prefix("SCAN ").is_some_and(|rest| {
            let name = rest.split_whitespace().next().unwrap_or_default();
            !name.starts_with('(') && !ctes.contains(&name)
        }),
    });
    assert!(
        !scans_a_table,
        "{} {when}: reads every run: {plan}",
        t.label
    );
}
