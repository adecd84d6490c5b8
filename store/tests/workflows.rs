//! Installations, workflows, runs and step attempts, on SQLite and (when
//! the server answers) PostgreSQL.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Barrier;

use workway_store::installations::NewInstallation;
use workway_store::runs::{
    AttemptStatus, FinishAttempt, Inserted, NewAttempt, NewRun, RunStatus, RunUpdate,
};
use workway_store::testing::test_stores;
use workway_store::workflows::{SaveWorkflow, TriggerKind};
use workway_store::{Store, StoreError};

fn install<'a>(
    id: &'a str,
    owner: &'a str,
    integration: &'a str,
    version: &'a str,
    now: i64,
) -> NewInstallation<'a> {
    NewInstallation {
        id,
        owner,
        integration,
        version,
        digest: if version == "1.0.0" {
            "sha256:one"
        } else {
            "sha256:two"
        },
        submission_id: if version == "1.0.0" { "s1" } else { "s2" },
        config: if version == "1.0.0" {
            "{}"
        } else {
            "{\"channel\":\"#ops\"}"
        },
        now,
    }
}

#[tokio::test]
async fn installations_upsert_in_place() {
    for t in test_stores().await {
        let i = t.store.installations();
        let first = i
            .upsert(&install("i1", "alice", "slack", "1.0.0", 1_000))
            .await
            .expect("install");
        assert_eq!(first.id, "i1", "{}", t.label);
        assert_eq!(first.created_at, 1_000);
        assert_eq!(first.updated_at, 1_000);

        // Installing again keeps the id and created_at, replaces the rest.
        let again = i
            .upsert(&install("i2", "alice", "slack", "2.0.0", 2_000))
            .await
            .expect("reinstall");
        assert_eq!(again.id, "i1", "{}", t.label);
        assert_eq!(again.created_at, 1_000);
        assert_eq!(again.updated_at, 2_000);
        assert_eq!(again.version, "2.0.0");
        assert_eq!(again.digest, "sha256:two");
        assert_eq!(again.submission_id, "s2");
        assert_eq!(again.config, "{\"channel\":\"#ops\"}");
        assert_eq!(i.get("i1").await.expect("get"), Some(again.clone()));
        assert!(i.get("i2").await.expect("get").is_none(), "{}", t.label);

        i.upsert(&install("i3", "alice", "github", "1.0.0", 3_000))
            .await
            .expect("install");
        i.upsert(&install("i4", "bob", "slack", "1.0.0", 3_000))
            .await
            .expect("install");
        assert_eq!(
            i.find("alice", "slack").await.expect("find"),
            Some(again),
            "{}",
            t.label
        );
        assert!(i.find("carol", "slack").await.expect("find").is_none());
        let listed: Vec<String> = i
            .list("alice")
            .await
            .expect("list")
            .into_iter()
            .map(|r| r.integration)
            .collect();
        assert_eq!(listed, ["github", "slack"], "{}", t.label);

        assert!(i.delete("alice", "slack").await.expect("delete"));
        assert!(!i.delete("alice", "slack").await.expect("delete twice"));
        assert!(i.find("alice", "slack").await.expect("find").is_none());
        assert_eq!(i.list("bob").await.expect("list").len(), 1, "{}", t.label);
        t.cleanup().await;
    }
}

fn save<'a>(
    new_id: &'a str,
    owner: &'a str,
    name: &'a str,
    definition: &'a str,
    now: i64,
) -> SaveWorkflow<'a> {
    SaveWorkflow {
        new_id,
        owner,
        name,
        trigger_kind: TriggerKind::Manual,
        webhook_token: None,
        webhook_secret: None,
        definition,
        now,
    }
}

#[tokio::test]
async fn workflows_keep_every_version() {
    for t in test_stores().await {
        let w = t.store.workflows();
        let v1 = w
            .save(&SaveWorkflow {
                trigger_kind: TriggerKind::Webhook,
                webhook_token: Some("tok-1"),
                webhook_secret: None,
                ..save("w1", "alice", "triage", "{\"v\":1}", 1_000)
            })
            .await
            .expect("save");
        assert_eq!((v1.id.as_str(), v1.version), ("w1", 1), "{}", t.label);
        assert_eq!(v1.webhook_token.as_deref(), Some("tok-1"));
        assert_eq!((v1.created_at, v1.updated_at), (1_000, 1_000));

        // Saving again adds version 2 to the same workflow (the new id is
        // ignored) and keeps the token when none is given.
        let v2 = w
            .save(&SaveWorkflow {
                trigger_kind: TriggerKind::Webhook,
                ..save("ignored", "alice", "triage", "{\"v\":2}", 2_000)
            })
            .await
            .expect("save");
        assert_eq!((v2.id.as_str(), v2.version), ("w1", 2), "{}", t.label);
        assert_eq!(v2.webhook_token.as_deref(), Some("tok-1"));
        assert_eq!((v2.created_at, v2.updated_at), (1_000, 2_000));
        assert!(w.get("ignored").await.expect("get").is_none());

        let versions = w.versions("w1").await.expect("versions");
        let defs: Vec<(i64, &str)> = versions
            .iter()
            .map(|v| (v.version, v.definition.as_str()))
            .collect();
        assert_eq!(defs, [(1, "{\"v\":1}"), (2, "{\"v\":2}")], "{}", t.label);
        let one = w.version("w1", 1).await.expect("version").expect("v1");
        assert_eq!(
            (one.definition.as_str(), one.created_at),
            ("{\"v\":1}", 1_000)
        );
        assert!(w.version("w1", 3).await.expect("version").is_none());

        // Names are unique per owner, not across owners.
        let bobs = w
            .save(&save("w2", "bob", "triage", "{}", 3_000))
            .await
            .expect("save");
        assert_eq!((bobs.id.as_str(), bobs.version), ("w2", 1), "{}", t.label);
        assert_eq!(
            w.find("alice", "triage").await.expect("find"),
            Some(v2.clone())
        );
        assert_eq!(w.find("bob", "triage").await.expect("find"), Some(bobs));
        assert!(w.find("carol", "triage").await.expect("find").is_none());

        // Webhook tokens find their workflow, and are unique.
        assert_eq!(
            w.by_webhook_token("tok-1").await.expect("by token"),
            Some(v2),
            "{}",
            t.label
        );
        assert!(
            w.by_webhook_token("nope")
                .await
                .expect("by token")
                .is_none()
        );
        assert!(
            w.save(&SaveWorkflow {
                webhook_token: Some("tok-1"),
                webhook_secret: None,
                ..save("w3", "carol", "copycat", "{}", 4_000)
            })
            .await
            .is_err(),
            "a webhook token belongs to one workflow ({})",
            t.label
        );
        let rotated = w
            .save(&SaveWorkflow {
                trigger_kind: TriggerKind::Webhook,
                webhook_token: Some("tok-2"),
                webhook_secret: None,
                ..save("x", "alice", "triage", "{\"v\":3}", 5_000)
            })
            .await
            .expect("save");
        assert_eq!(rotated.version, 3);
        assert_eq!(rotated.webhook_token.as_deref(), Some("tok-2"));
        assert!(
            w.by_webhook_token("tok-1")
                .await
                .expect("by token")
                .is_none()
        );

        w.save(&SaveWorkflow {
            trigger_kind: TriggerKind::Schedule,
            ..save("w4", "alice", "nightly", "{}", 6_000)
        })
        .await
        .expect("save");
        let all: Vec<(String, String)> = w
            .list(None)
            .await
            .expect("list")
            .into_iter()
            .map(|r| (r.owner, r.name))
            .collect();
        assert_eq!(
            all,
            [
                ("alice".to_string(), "nightly".to_string()),
                ("alice".to_string(), "triage".to_string()),
                ("bob".to_string(), "triage".to_string()),
            ],
            "{}",
            t.label
        );
        assert_eq!(w.list(Some("bob")).await.expect("list").len(), 1);
        let scheduled: Vec<String> = w
            .with_trigger(TriggerKind::Schedule, None)
            .await
            .expect("with trigger")
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(scheduled, ["w4"], "{}", t.label);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_deleted_workflow_keeps_its_runs_cancels_the_active_ones_and_frees_its_name() {
    for t in test_stores().await {
        let (w, runs) = (t.store.workflows(), t.store.runs());
        w.save(&SaveWorkflow {
            trigger_kind: TriggerKind::Webhook,
            webhook_token: Some("tok-1"),
            webhook_secret: Some("sealed-1"),
            ..save("w1", "alice", "triage", "{\"v\":1}", 1_000)
        })
        .await
        .expect("save");
        w.save(&save("w1", "alice", "triage", "{\"v\":2}", 1_500))
            .await
            .expect("save v2");
        w.save(&save("wb", "bob", "triage", "{}", 1_000))
            .await
            .expect("bob's");
        // Runs of alice's workflow: one finished, one running under a
        // lease, one queued; and one of bob's.
        for id in ["done", "running", "queued"] {
            runs.insert(&new_run(id, "alice", 2_000))
                .await
                .expect("insert");
        }
        runs.insert(&NewRun {
            workflow_id: "wb",
            ..new_run("bobs", "bob", 2_000)
        })
        .await
        .expect("insert");
        for id in ["done", "running"] {
            runs.claim_run(id, "host-a", 10_000, 2_100)
                .await
                .expect("claim")
                .expect("claimed");
        }
        assert!(
            runs.finish_unleased("done", RunStatus::Succeeded, None, 2_200)
                .await
                .expect("finish")
        );

        // Another owner, or a name nobody has, deletes nothing.
        assert_eq!(
            w.delete("bob", "nope", "{}", 3_000).await.expect("delete"),
            None
        );
        assert_eq!(
            w.delete("carol", "triage", "{}", 3_000)
                .await
                .expect("delete"),
            None,
            "{}",
            t.label
        );

        let reason = "{\"reason\":\"its workflow was deleted\"}";
        let deleted = w
            .delete("alice", "triage", reason, 3_000)
            .await
            .expect("delete")
            .expect("alice's workflow");
        assert_eq!(
            (deleted.row.id.as_str(), deleted.row.deleted_at),
            ("w1", Some(3_000)),
            "{}",
            t.label
        );
        assert_eq!(
            (deleted.row.webhook_token, deleted.row.webhook_secret),
            (None, None)
        );
        let mut cancelled = deleted.cancelled_runs.clone();
        cancelled.sort();
        assert_eq!(cancelled, ["queued", "running"], "{}", t.label);
        for (id, status) in [
            ("done", RunStatus::Succeeded),
            ("running", RunStatus::Cancelled),
            ("queued", RunStatus::Cancelled),
            ("bobs", RunStatus::Queued),
        ] {
            let run = runs.get(id).await.expect("get").expect("kept");
            assert_eq!(run.status, status, "{id} ({})", t.label);
            if status == RunStatus::Cancelled {
                assert_eq!(run.error.as_deref(), Some(reason));
                assert_eq!((run.finished_at, run.lease_owner), (Some(3_000), None));
            }
        }
        // The process that held the running one's lease is fenced off.
        assert!(
            !runs
                .start_attempt(&attempt("running", 0, 1, 3_100), "host-a")
                .await
                .expect("start"),
            "{}",
            t.label
        );
        // Nothing is left to cancel.
        assert!(
            runs.cancel_active_of_workflow("w1", reason, 3_200)
                .await
                .expect("cancel")
                .is_empty()
        );

        // Gone from every lookup but by id and the names runs are shown with;
        // its versions stay readable.
        assert!(w.find("alice", "triage").await.expect("find").is_none());
        assert!(w.by_webhook_token("tok-1").await.expect("token").is_none());
        assert!(w.list(Some("alice")).await.expect("list").is_empty());
        assert_eq!(
            w.with_trigger(TriggerKind::Webhook, None)
                .await
                .expect("with trigger"),
            []
        );
        assert!(
            w.set_webhook_secret("alice", "triage", "sealed-2", 3_300)
                .await
                .expect("rotate")
                .is_none()
        );
        assert_eq!(
            w.get("w1").await.expect("get").and_then(|r| r.deleted_at),
            Some(3_000)
        );
        assert_eq!(w.versions("w1").await.expect("versions").len(), 2);
        assert_eq!(
            w.delete("alice", "triage", reason, 3_400)
                .await
                .expect("delete"),
            None,
            "deleted once"
        );

        // The name is free: saving it makes a new workflow at version 1,
        // with a token of its own (the old one may even be reused).
        let again = w
            .save(&SaveWorkflow {
                trigger_kind: TriggerKind::Webhook,
                webhook_token: Some("tok-1"),
                webhook_secret: Some("sealed-3"),
                ..save("w9", "alice", "triage", "{\"v\":\"new\"}", 4_000)
            })
            .await
            .expect("save again");
        assert_eq!(
            (again.id.as_str(), again.version, again.deleted_at),
            ("w9", 1, None),
            "{}",
            t.label
        );
        assert_eq!(
            w.by_webhook_token("tok-1")
                .await
                .expect("token")
                .map(|r| r.id),
            Some("w9".to_string())
        );
        let v2 = w
            .save(&save("ignored", "alice", "triage", "{}", 4_100))
            .await
            .expect("next version");
        assert_eq!((v2.id.as_str(), v2.version), ("w9", 2));
        assert_eq!(
            w.names("alice").await.expect("names"),
            [
                ("w1".to_string(), "triage".to_string()),
                ("w9".to_string(), "triage".to_string())
            ],
            "{}",
            t.label
        );
        assert_eq!(
            w.get("w1").await.expect("get").map(|r| r.version),
            Some(2),
            "the deleted one is untouched"
        );
        t.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_saves_get_their_own_versions() {
    for t in test_stores().await {
        t.store
            .workflows()
            .save(&save("w1", "alice", "busy", "{\"n\":0}", 0))
            .await
            .expect("save");
        let other = t.reopen().await;
        let mut tasks = tokio::task::JoinSet::new();
        for n in 1..=8 {
            let store = if n % 2 == 0 {
                t.store.clone()
            } else {
                other.clone()
            };
            tasks.spawn(async move {
                let definition = format!("{{\"n\":{n}}}");
                store
                    .workflows()
                    .save(&save(&format!("new-{n}"), "alice", "busy", &definition, n))
                    .await
                    .expect("concurrent save")
                    .version
            });
        }
        let mut got = tasks.join_all().await;
        got.sort();
        assert_eq!(got, (2..=9).collect::<Vec<_>>(), "{}", t.label);
        let versions = t.store.workflows().versions("w1").await.expect("versions");
        let numbers: Vec<i64> = versions.iter().map(|v| v.version).collect();
        assert_eq!(numbers, (1..=9).collect::<Vec<_>>(), "{}", t.label);
        let mut defs: Vec<&str> = versions.iter().map(|v| v.definition.as_str()).collect();
        defs.sort();
        defs.dedup();
        assert_eq!(defs.len(), 9, "every save kept its own definition");
        let row = t
            .store
            .workflows()
            .find("alice", "busy")
            .await
            .expect("find")
            .expect("exists");
        assert_eq!((row.id.as_str(), row.version), ("w1", 9), "{}", t.label);
        assert_eq!(t.store.workflows().list(None).await.expect("list").len(), 1);
        other.close().await;
        t.cleanup().await;
    }
}

fn new_run<'a>(id: &'a str, owner: &'a str, now: i64) -> NewRun<'a> {
    NewRun {
        id,
        workflow_id: "w1",
        workflow_version: 1,
        owner,
        trigger_kind: TriggerKind::Manual,
        trigger_data: "{}",
        pins: "{\"slack\":{\"version\":\"1.0.0\"}}",
        now,
    }
}

fn attempt<'a>(run_id: &'a str, step_index: i64, attempt: i64, now: i64) -> NewAttempt<'a> {
    NewAttempt {
        run_id,
        step_index,
        attempt,
        step_id: "post",
        action: "slack.post_message",
        input: Some("{\"text\":\"hi\"}"),
        idempotency_key: "r1:0",
        now,
    }
}

/// The attempt that `start`ed, finished with `status` at `now`.
fn finish(start: NewAttempt<'_>, status: AttemptStatus, now: i64) -> FinishAttempt<'_> {
    FinishAttempt {
        start,
        status,
        output: None,
        error: None,
        report: None,
        retry_at: None,
        now,
        usage: None,
    }
}

#[tokio::test]
async fn runs_are_leased_fenced_and_finished() {
    for t in test_stores().await {
        let other = t.reopen().await;
        let (a, b) = (t.store.runs(), other.runs());
        a.insert(&new_run("r1", "alice", 1_000))
            .await
            .expect("insert");
        let queued = a.get("r1").await.expect("get").expect("exists");
        assert_eq!(queued.status, RunStatus::Queued, "{}", t.label);
        assert_eq!((queued.next_step, queued.not_before), (0, 1_000));
        assert_eq!(queued.started_at, None);
        assert!(
            a.claim("host-a", 500, 999, 10, None)
                .await
                .expect("claim")
                .is_empty(),
            "not due yet"
        );

        // Claimed once: running under host-a's lease.
        let claimed = a
            .claim("host-a", 500, 1_000, 10, None)
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 1, "{}", t.label);
        let run = &claimed[0];
        assert_eq!(run.status, RunStatus::Running);
        assert_eq!(run.lease_owner.as_deref(), Some("host-a"));
        assert_eq!(run.lease_until, Some(1_500));
        assert_eq!(run.started_at, Some(1_000));
        assert_eq!(
            a.running_by_owner(1_200).await.expect("running"),
            [("alice".to_string(), 1)]
        );
        // Nobody else gets it while the lease holds.
        assert!(
            b.claim("host-b", 500, 1_500, 10, None)
                .await
                .expect("claim")
                .is_empty(),
            "{}",
            t.label
        );

        assert!(
            a.start_attempt(&attempt("r1", 0, 1, 1_100), "host-a")
                .await
                .expect("start")
        );
        assert!(a.renew("r1", "host-a", 1_600).await.expect("renew"));
        assert!(
            !b.renew("r1", "host-b", 9_000).await.expect("renew"),
            "not b's lease"
        );

        // host-a stalls past its lease: host-b takes the run over.
        assert!(a.running_by_owner(1_601).await.expect("running").is_empty());
        let taken = b
            .claim("host-b", 500, 1_601, 10, None)
            .await
            .expect("claim");
        assert_eq!(taken.len(), 1, "{}", t.label);
        assert_eq!(taken[0].lease_owner.as_deref(), Some("host-b"));
        assert_eq!(taken[0].started_at, Some(1_000), "first start kept");

        // host-a's writes are fenced off, and write nothing.
        assert!(
            !a.start_attempt(&attempt("r1", 0, 2, 1_602), "host-a")
                .await
                .expect("start"),
            "{}",
            t.label
        );
        assert!(
            !a.finish_attempt(
                &finish(attempt("r1", 0, 1, 1_602), AttemptStatus::Succeeded, 1_602),
                RunUpdate::Succeed,
                "host-a"
            )
            .await
            .expect("finish"),
            "{}",
            t.label
        );
        assert!(!a.renew("r1", "host-a", 9_000).await.expect("renew"));
        assert!(!a.release("r1", "host-a", 1_602).await.expect("release"));
        let attempts = a.attempts("r1").await.expect("attempts");
        assert_eq!(attempts.len(), 1, "{}", t.label);
        assert_eq!(attempts[0].status, AttemptStatus::Running);
        let row = a.get("r1").await.expect("get").expect("exists");
        assert_eq!(
            (row.status, row.lease_owner.as_deref()),
            (RunStatus::Running, Some("host-b"))
        );

        // host-b resumes the attempt host-a left running: the row is
        // updated, not duplicated.
        let resumed = NewAttempt {
            input: Some("{\"text\":\"again\"}"),
            ..attempt("r1", 0, 1, 1_700)
        };
        assert!(
            b.start_attempt(&resumed, "host-b").await.expect("resume"),
            "{}",
            t.label
        );
        let attempts = b.attempts("r1").await.expect("attempts");
        assert_eq!(attempts.len(), 1, "{}", t.label);
        assert_eq!(attempts[0].started_at, 1_700);
        assert_eq!(attempts[0].input.as_deref(), Some("{\"text\":\"again\"}"));
        assert_eq!(attempts[0].idempotency_key, "r1:0");

        // It fails and waits for a retry: lease released, not claimable
        // before not_before.
        let failed = FinishAttempt {
            error: Some("{\"kind\":\"unavailable\"}"),
            report: Some("{\"fuel\":12}"),
            retry_at: Some(5_000),
            ..finish(resumed.clone(), AttemptStatus::Failed, 1_800)
        };
        assert!(
            b.finish_attempt(
                &failed,
                RunUpdate::Wait {
                    next_step: 0,
                    not_before: 5_000
                },
                "host-b"
            )
            .await
            .expect("finish")
        );
        let waiting = b.get("r1").await.expect("get").expect("exists");
        assert_eq!(waiting.status, RunStatus::Waiting, "{}", t.label);
        assert_eq!((waiting.lease_owner, waiting.lease_until), (None, None));
        assert_eq!((waiting.next_step, waiting.not_before), (0, 5_000));
        assert!(
            matches!(
                b.finish_attempt(&failed, RunUpdate::Succeed, "host-b")
                    .await,
                Ok(false)
            ),
            "a waiting run has no lease to write under"
        );
        assert!(
            a.claim("host-a", 500, 4_999, 10, None)
                .await
                .expect("claim")
                .is_empty(),
            "{}",
            t.label
        );
        let retried = a
            .claim("host-a", 500, 5_000, 10, None)
            .await
            .expect("claim");
        assert_eq!(retried.len(), 1, "{}", t.label);
        assert_eq!(retried[0].started_at, Some(1_000));

        // Attempt 2 succeeds and the run goes on, keeping its lease.
        assert!(
            a.start_attempt(&attempt("r1", 0, 2, 5_010), "host-a")
                .await
                .expect("start")
        );
        let done = FinishAttempt {
            output: Some("{\"ts\":\"1.2\"}"),
            ..finish(attempt("r1", 0, 2, 5_010), AttemptStatus::Succeeded, 5_020)
        };
        assert!(
            a.finish_attempt(&done, RunUpdate::Continue { next_step: 1 }, "host-a")
                .await
                .expect("finish")
        );
        // Finishing it twice is a bug, reported as an error.
        assert!(
            a.finish_attempt(&done, RunUpdate::Continue { next_step: 1 }, "host-a")
                .await
                .is_err()
        );
        // ... as is starting a finished attempt again.
        assert!(
            a.start_attempt(&attempt("r1", 0, 2, 5_030), "host-a")
                .await
                .is_err()
        );
        let running = a.get("r1").await.expect("get").expect("exists");
        assert_eq!(running.status, RunStatus::Running, "{}", t.label);
        assert_eq!(running.next_step, 1);
        assert_eq!(
            running.lease_until,
            Some(5_500),
            "Continue keeps the lease as it is"
        );

        // Step 1 is skipped; step 2, the last, succeeds.
        let skipped = NewAttempt {
            step_id: "maybe",
            idempotency_key: "r1:1",
            ..attempt("r1", 1, 1, 5_040)
        };
        assert!(
            a.skip_step(&skipped, RunUpdate::Continue { next_step: 2 }, "host-a")
                .await
                .expect("skip")
        );
        assert!(
            a.start_attempt(&attempt("r1", 2, 1, 5_050), "host-a")
                .await
                .expect("start")
        );
        assert!(
            a.finish_attempt(
                &finish(attempt("r1", 2, 1, 5_050), AttemptStatus::Succeeded, 5_060),
                RunUpdate::Succeed,
                "host-a"
            )
            .await
            .expect("finish")
        );
        let finished = a.get("r1").await.expect("get").expect("exists");
        assert_eq!(finished.status, RunStatus::Succeeded, "{}", t.label);
        assert!(finished.status.is_finished());
        assert_eq!(finished.finished_at, Some(5_060));
        assert_eq!((finished.lease_owner, finished.lease_until), (None, None));
        assert!(
            a.claim("host-a", 500, 99_999, 10, None)
                .await
                .expect("claim")
                .is_empty()
        );
        assert!(
            !a.finish_unleased("r1", RunStatus::Failed, None, 6_000)
                .await
                .expect("finish")
        );

        let steps: Vec<(i64, i64, AttemptStatus, Option<i64>)> = a
            .attempts("r1")
            .await
            .expect("attempts")
            .into_iter()
            .map(|at| (at.step_index, at.attempt, at.status, at.finished_at))
            .collect();
        assert_eq!(
            steps,
            [
                (0, 1, AttemptStatus::Failed, Some(1_800)),
                (0, 2, AttemptStatus::Succeeded, Some(5_020)),
                (1, 1, AttemptStatus::Skipped, Some(5_040)),
                (2, 1, AttemptStatus::Succeeded, Some(5_060)),
            ],
            "{}",
            t.label
        );
        let first = &a.attempts("r1").await.expect("attempts")[0];
        assert_eq!(first.error.as_deref(), Some("{\"kind\":\"unavailable\"}"));
        assert_eq!(first.report.as_deref(), Some("{\"fuel\":12}"));
        assert_eq!(first.retry_at, Some(5_000));

        other.close().await;
        t.cleanup().await;
    }
}

#[tokio::test]
async fn an_attempt_finished_without_a_recorded_start_is_recorded_whole() {
    for t in test_stores().await {
        let r = t.store.runs();
        r.insert(&new_run("r1", "alice", 1_000))
            .await
            .expect("insert");
        assert!(
            r.claim_run("r1", "h", 500, 1_000)
                .await
                .expect("claim")
                .is_some()
        );
        // A fast step: its start is never written, its result is the one
        // write, and the row holds the start's values.
        let done = FinishAttempt {
            output: Some("{\"ts\":\"1.2\"}"),
            ..finish(attempt("r1", 0, 1, 1_010), AttemptStatus::Succeeded, 1_020)
        };
        assert!(
            r.finish_attempt(&done, RunUpdate::Continue { next_step: 1 }, "h")
                .await
                .expect("finish"),
            "{}",
            t.label
        );
        let rows = r.attempts("r1").await.expect("attempts");
        assert_eq!(rows.len(), 1, "{}", t.label);
        let row = &rows[0];
        assert_eq!(
            (row.step_index, row.attempt, row.status),
            (0, 1, AttemptStatus::Succeeded)
        );
        assert_eq!(
            (row.step_id.as_str(), row.action.as_str()),
            ("post", "slack.post_message")
        );
        assert_eq!(row.input.as_deref(), Some("{\"text\":\"hi\"}"));
        assert_eq!(row.output.as_deref(), Some("{\"ts\":\"1.2\"}"));
        assert_eq!(row.idempotency_key, "r1:0");
        assert_eq!((row.started_at, row.finished_at), (1_010, Some(1_020)));
        let run = r.get("r1").await.expect("get").expect("exists");
        assert_eq!(run.next_step, 1, "{}", t.label);

        // Recording it again, or its start, is a bug and writes nothing.
        let again = FinishAttempt {
            output: Some("{\"ts\":\"9.9\"}"),
            ..done.clone()
        };
        assert!(
            r.finish_attempt(&again, RunUpdate::Continue { next_step: 1 }, "h")
                .await
                .is_err()
        );
        assert!(
            r.start_attempt(&attempt("r1", 0, 1, 1_030), "h")
                .await
                .is_err()
        );
        let rows = r.attempts("r1").await.expect("attempts");
        assert_eq!(rows.len(), 1, "{}", t.label);
        assert_eq!(rows[0].output.as_deref(), Some("{\"ts\":\"1.2\"}"));
        assert_eq!(rows[0].started_at, 1_010);

        // Past the lease, the next step's result is fenced off: no row,
        // and the run stays where it was.
        let late = finish(attempt("r1", 1, 1, 1_600), AttemptStatus::Succeeded, 1_610);
        assert!(
            !r.finish_attempt(&late, RunUpdate::Succeed, "h")
                .await
                .expect("finish"),
            "{}",
            t.label
        );
        assert_eq!(r.attempts("r1").await.expect("attempts").len(), 1);
        let run = r.get("r1").await.expect("get").expect("exists");
        assert_eq!(
            (run.status, run.next_step),
            (RunStatus::Running, 1),
            "{}",
            t.label
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn runs_fail_release_cancel_and_list() {
    for t in test_stores().await {
        let r = t.store.runs();
        r.insert(&new_run("r1", "alice", 100))
            .await
            .expect("insert");
        r.insert(&new_run("r2", "bob", 200)).await.expect("insert");
        r.insert(&NewRun {
            workflow_id: "w2",
            ..new_run("r3", "alice", 300)
        })
        .await
        .expect("insert");
        assert!(
            r.insert(&new_run("r1", "alice", 400)).await.is_err(),
            "ids are unique"
        );

        let ids = |runs: Vec<workway_store::runs::RunRow>| {
            runs.into_iter().map(|r| r.id).collect::<Vec<_>>()
        };
        assert_eq!(
            ids(r.list(None, None, 10).await.expect("list")),
            ["r3", "r2", "r1"],
            "{}",
            t.label
        );
        assert_eq!(
            ids(r.list(None, None, 2).await.expect("list")),
            ["r3", "r2"]
        );
        assert_eq!(
            ids(r.list(Some("alice"), None, 10).await.expect("list")),
            ["r3", "r1"]
        );
        assert_eq!(
            ids(r.list(None, Some("w1"), 10).await.expect("list")),
            ["r2", "r1"]
        );
        assert_eq!(
            ids(r.list(Some("alice"), Some("w1"), 10).await.expect("list")),
            ["r1"]
        );

        // Claims go owner by owner (each owner's oldest first), keep each
        // owner within its bound, and stop at the limit: alice's r1 and
        // bob's r2, not alice's r3 with a bound of one each.
        assert_eq!(
            ids(r
                .claim("h", 1_000, 1_000, 10, Some(1))
                .await
                .expect("claim")),
            ["r1", "r2"],
            "{}",
            t.label
        );
        assert!(
            r.claim("h", 1_000, 1_000, 10, Some(1))
                .await
                .expect("claim")
                .is_empty(),
            "both owners are at their bound: {}",
            t.label
        );
        assert_eq!(
            r.running_by_owner(1_000).await.expect("running"),
            [("alice".to_string(), 1), ("bob".to_string(), 1)]
        );

        // A released run goes back to the queue.
        assert!(r.release("r2", "h", 1_100).await.expect("release"));
        let released = r.get("r2").await.expect("get").expect("exists");
        assert_eq!(released.status, RunStatus::Queued, "{}", t.label);
        assert_eq!((released.lease_owner, released.lease_until), (None, None));
        assert_eq!(
            ids(r.claim("h2", 1_000, 1_200, 10, None).await.expect("claim")),
            ["r2", "r3"],
            "{}",
            t.label
        );

        // A failed run records why.
        assert!(
            r.start_attempt(&attempt("r1", 0, 1, 1_300), "h")
                .await
                .expect("start")
        );
        let failed = FinishAttempt {
            error: Some("{\"kind\":\"bad_input\"}"),
            ..finish(attempt("r1", 0, 1, 1_300), AttemptStatus::Failed, 1_400)
        };
        assert!(
            r.finish_attempt(
                &failed,
                RunUpdate::Fail {
                    error: "{\"step\":\"post\"}"
                },
                "h"
            )
            .await
            .expect("finish")
        );
        let row = r.get("r1").await.expect("get").expect("exists");
        assert_eq!(row.status, RunStatus::Failed, "{}", t.label);
        assert_eq!(row.error.as_deref(), Some("{\"step\":\"post\"}"));
        assert_eq!(row.finished_at, Some(1_400));

        // Cancelling outside the lease: the holder's next write is fenced off.
        assert!(
            r.finish_unleased("r2", RunStatus::Cancelled, None, 1_500)
                .await
                .expect("cancel")
        );
        assert!(
            !r.finish_unleased("r2", RunStatus::Failed, Some("{}"), 1_600)
                .await
                .expect("again")
        );
        assert!(
            r.finish_unleased("r2", RunStatus::Running, None, 1_600)
                .await
                .is_err(),
            "not a finished status"
        );
        assert!(
            !r.start_attempt(&attempt("r2", 0, 1, 1_700), "h2")
                .await
                .expect("start"),
            "{}",
            t.label
        );
        let row = r.get("r2").await.expect("get").expect("exists");
        assert_eq!(row.status, RunStatus::Cancelled);
        assert_eq!((row.finished_at, row.lease_owner), (Some(1_500), None));
        assert!(r.attempts("r2").await.expect("attempts").is_empty());
        assert_eq!(
            r.running_by_owner(1_700).await.expect("running"),
            [("alice".to_string(), 1)]
        );
        assert!(
            r.finish_unleased(
                "r3",
                RunStatus::Failed,
                Some("{\"reason\":\"gone\"}"),
                1_800
            )
            .await
            .expect("fail")
        );
        assert_eq!(
            r.get("r3")
                .await
                .expect("get")
                .expect("exists")
                .error
                .as_deref(),
            Some("{\"reason\":\"gone\"}")
        );

        assert_eq!(RunStatus::parse("waiting"), Some(RunStatus::Waiting));
        assert_eq!(RunStatus::Cancelled.to_string(), "cancelled");
        assert!(!RunStatus::Waiting.is_finished());
        assert_eq!(
            AttemptStatus::parse("skipped"),
            Some(AttemptStatus::Skipped)
        );
        assert_eq!(AttemptStatus::parse("nope"), None);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn runs_page_newest_first_by_owner_with_a_key_cursor() {
    for t in test_stores().await {
        let r = t.store.runs();
        // Two of alice's runs share a creation time: the id breaks the tie.
        for (id, owner, at) in [
            ("a1", "alice", 100),
            ("a2", "alice", 200),
            ("a3", "alice", 200),
            ("b1", "bob", 250),
        ] {
            r.insert(&new_run(id, owner, at)).await.expect("insert");
        }
        r.insert(&NewRun {
            workflow_id: "w2",
            ..new_run("a4", "alice", 300)
        })
        .await
        .expect("insert");
        let ids = |runs: Vec<workway_store::runs::RunRow>| {
            runs.into_iter().map(|r| r.id).collect::<Vec<_>>()
        };

        let first = r.page("alice", None, None, None, 2).await.expect("page");
        assert_eq!(ids(first.clone()), ["a4", "a3"], "{}", t.label);
        let last = first.last().expect("a run");
        let second = r
            .page("alice", None, None, Some((last.created_at, &last.id)), 2)
            .await
            .expect("page");
        assert_eq!(ids(second.clone()), ["a2", "a1"], "{}", t.label);
        let last = second.last().expect("a run");
        assert!(
            r.page("alice", None, None, Some((last.created_at, &last.id)), 2)
                .await
                .expect("page")
                .is_empty(),
            "{}",
            t.label
        );
        // A run made after the first page was read does not shift the
        // next pages: the cursor is a key, not an offset.
        r.insert(&new_run("a5", "alice", 400))
            .await
            .expect("insert");
        assert_eq!(
            ids(r
                .page("alice", None, None, Some((200, "a3")), 10)
                .await
                .expect("page")),
            ["a2", "a1"]
        );

        // Another owner's runs are never on the page.
        assert_eq!(
            ids(r.page("bob", None, None, None, 10).await.expect("page")),
            ["b1"]
        );
        assert!(
            r.page("carol", None, None, None, 10)
                .await
                .expect("page")
                .is_empty()
        );

        // Filters by workflow and status, alone and with the cursor.
        assert_eq!(
            ids(r
                .page("alice", Some("w2"), None, None, 10)
                .await
                .expect("page")),
            ["a4"]
        );
        assert!(
            r.finish_unleased("a2", RunStatus::Cancelled, None, 500)
                .await
                .expect("cancel")
        );
        assert_eq!(
            ids(r
                .page("alice", None, Some(RunStatus::Cancelled), None, 10)
                .await
                .expect("page")),
            ["a2"],
            "{}",
            t.label
        );
        assert_eq!(
            ids(r
                .page("alice", Some("w1"), Some(RunStatus::Queued), None, 10)
                .await
                .expect("page")),
            ["a5", "a3", "a1"]
        );
        assert_eq!(
            ids(r
                .page(
                    "alice",
                    Some("w1"),
                    Some(RunStatus::Queued),
                    Some((200, "a3")),
                    10
                )
                .await
                .expect("page")),
            ["a1"],
            "{}",
            t.label
        );
        assert!(
            r.page("bob", Some("w1"), Some(RunStatus::Cancelled), None, 10)
                .await
                .expect("page")
                .is_empty()
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn one_owners_backlog_does_not_starve_another_owners_run() {
    for t in test_stores().await {
        let r = t.store.runs();
        for i in 0..200 {
            let id = format!("a{i:03}");
            r.insert(&new_run(&id, "alice", 100 + i))
                .await
                .expect("insert");
        }
        r.insert(&new_run("b1", "bob", 10_000))
            .await
            .expect("insert");

        // Bob's one run, queued after all of alice's, is in the first claim.
        let first: Vec<String> = r
            .claim("h", 60_000, 20_000, 4, None)
            .await
            .expect("claim")
            .into_iter()
            .map(|run| run.id)
            .collect();
        assert_eq!(first.len(), 4, "{}", t.label);
        assert!(first.contains(&"b1".to_string()), "{first:?} {}", t.label);
        assert!(first.contains(&"a000".to_string()), "{first:?} {}", t.label);

        // With a bound per owner, alice's live leases count against it.
        let second = r
            .claim("h2", 60_000, 20_001, 100, Some(5))
            .await
            .expect("claim");
        assert_eq!(second.len(), 2, "alice had 3 running: {}", t.label);
        assert!(second.iter().all(|run| run.owner == "alice"));
        t.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn trigger_keys_start_one_run() {
    for t in test_stores().await {
        let r = t.store.runs();
        assert_eq!(
            r.insert_unique(&new_run("r1", "alice", 1_000), "delivery-1", 2_000)
                .await
                .expect("insert"),
            Inserted::New
        );
        assert_eq!(
            r.insert_unique(&new_run("r2", "alice", 1_500), "delivery-1", 2_500)
                .await
                .expect("insert"),
            Inserted::Duplicate {
                run_id: "r1".into()
            },
            "{}",
            t.label
        );
        assert!(
            r.get("r2").await.expect("get").is_none(),
            "the duplicate run is not stored"
        );
        // Another workflow has keys of its own.
        assert_eq!(
            r.insert_unique(
                &NewRun {
                    workflow_id: "w2",
                    ..new_run("r3", "alice", 1_500)
                },
                "delivery-1",
                2_500
            )
            .await
            .expect("insert"),
            Inserted::New
        );
        // Once expired, the key lets a new run in.
        assert_eq!(
            r.insert_unique(&new_run("r4", "alice", 2_000), "delivery-1", 3_000)
                .await
                .expect("insert"),
            Inserted::New,
            "{}",
            t.label
        );
        assert_eq!(
            r.insert_unique(&new_run("r5", "alice", 2_100), "delivery-1", 3_100)
                .await
                .expect("insert"),
            Inserted::Duplicate {
                run_id: "r4".into()
            }
        );

        // Twenty racing inserts of one key from two handles: one run.
        let other = t.reopen().await;
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..20 {
            let store = if n % 2 == 0 {
                t.store.clone()
            } else {
                other.clone()
            };
            tasks.spawn(async move {
                let id = format!("race-{n}");
                let outcome = store
                    .runs()
                    .insert_unique(&new_run(&id, "alice", 10_000), "tick:10000", 20_000)
                    .await
                    .expect("racing insert");
                (id, outcome)
            });
        }
        let outcomes = tasks.join_all().await;
        let winners: Vec<&String> = outcomes
            .iter()
            .filter(|(_, o)| *o == Inserted::New)
            .map(|(id, _)| id)
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "exactly one New ({}): {outcomes:?}",
            t.label
        );
        for (_, outcome) in &outcomes {
            if let Inserted::Duplicate { run_id } = outcome {
                assert_eq!(run_id, winners[0], "{}", t.label);
            }
        }
        let raced = r.list(None, Some("w1"), 100).await.expect("list");
        assert_eq!(
            raced
                .iter()
                .filter(|run| run.id.starts_with("race-"))
                .count(),
            1,
            "{}",
            t.label
        );
        other.close().await;
        t.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_claimers_take_every_run_once() {
    for t in test_stores().await {
        for n in 0..50 {
            t.store
                .runs()
                .insert(&new_run(&format!("r{n:02}"), "alice", n))
                .await
                .expect("insert");
        }
        let other = t.reopen().await;
        async fn claimer(store: Store, name: &'static str, start: Arc<Barrier>) -> Vec<String> {
            let mut mine = Vec::new();
            start.wait().await;
            loop {
                let claimed = store
                    .runs()
                    .claim(name, 60_000, 1_000, 3, None)
                    .await
                    .expect("claim");
                if claimed.is_empty() {
                    return mine;
                }
                assert!(claimed.len() <= 3, "at most the limit");
                mine.extend(claimed.into_iter().map(|r| r.id));
            }
        }
        let start = Arc::new(Barrier::new(2));
        let (a, b) = tokio::join!(
            tokio::spawn(claimer(t.store.clone(), "host-a", start.clone())),
            tokio::spawn(claimer(other.clone(), "host-b", start)),
        );
        let (a, b) = (a.expect("claimer a"), b.expect("claimer b"));
        let mut counts: HashMap<String, usize> = HashMap::new();
        for id in a.iter().chain(&b) {
            *counts.entry(id.clone()).or_default() += 1;
        }
        assert_eq!(counts.len(), 50, "every run claimed ({})", t.label);
        assert!(
            counts.values().all(|&c| c == 1),
            "each once ({}): {counts:?}",
            t.label
        );
        for (name, ids) in [("host-a", &a), ("host-b", &b)] {
            for id in ids {
                let row = t.store.runs().get(id).await.expect("get").expect("exists");
                assert_eq!(row.lease_owner.as_deref(), Some(name), "{}", t.label);
            }
        }
        other.close().await;
        t.cleanup().await;
    }
}

#[tokio::test]
async fn every_trigger_kind_round_trips_through_workflows_and_runs() {
    let kinds = [
        TriggerKind::Manual,
        TriggerKind::Webhook,
        TriggerKind::Schedule,
        TriggerKind::Event,
    ];
    for t in test_stores().await {
        for (n, kind) in kinds.into_iter().enumerate() {
            let id = format!("w{n}");
            let name = format!("flow-{kind}");
            let saved = t
                .store
                .workflows()
                .save(&SaveWorkflow {
                    trigger_kind: kind,
                    ..save(&id, "alice", &name, "{}", 1_000)
                })
                .await
                .expect("save");
            assert_eq!(saved.trigger_kind, kind, "{}", t.label);
            let run_id = format!("r{n}");
            t.store
                .runs()
                .insert(&NewRun {
                    trigger_kind: kind,
                    ..new_run(&run_id, "alice", 1_000)
                })
                .await
                .expect("insert");
            let run = t.store.runs().get(&run_id).await.expect("get");
            assert_eq!(run.map(|r| r.trigger_kind), Some(kind), "{}", t.label);
        }
        for (n, kind) in kinds.into_iter().enumerate() {
            let found: Vec<String> = t
                .store
                .workflows()
                .with_trigger(kind, Some("alice"))
                .await
                .expect("with trigger")
                .into_iter()
                .map(|w| w.id)
                .collect();
            assert_eq!(found, [format!("w{n}")], "{}: {kind}", t.label);
        }
        t.cleanup().await;
    }
}

#[tokio::test]
async fn an_unknown_stored_trigger_kind_is_reported_as_damaged_not_read_as_another() {
    for t in test_stores().await {
        t.store
            .workflows()
            .save(&save("w1", "alice", "triage", "{}", 1_000))
            .await
            .expect("save");
        t.store
            .runs()
            .insert(&new_run("r1", "alice", 1_000))
            .await
            .expect("insert");
        let changed = t
            .tamper(
                "UPDATE workflows SET trigger_kind = 'pigeon' WHERE id = $1",
                &["w1"],
            )
            .await;
        assert_eq!(changed, 1, "{}", t.label);
        let changed = t
            .tamper(
                "UPDATE runs SET trigger_kind = 'pigeon' WHERE id = $1",
                &["r1"],
            )
            .await;
        assert_eq!(changed, 1, "{}", t.label);

        let damaged = |err: StoreError| {
            let shown = err.to_string();
            assert!(
                matches!(
                    &err,
                    StoreError::Damaged { what: "trigger kind", value } if value == "pigeon"
                ),
                "{}: {err:?}",
                t.label
            );
            assert!(
                shown.contains("trigger kind `pigeon`") && shown.contains("damaged"),
                "{shown}"
            );
        };
        damaged(
            t.store
                .workflows()
                .get("w1")
                .await
                .expect_err("the workflow row is damaged"),
        );
        damaged(
            t.store
                .workflows()
                .list(Some("alice"))
                .await
                .expect_err("listing reads the damaged row"),
        );
        damaged(
            t.store
                .runs()
                .get("r1")
                .await
                .expect_err("the run row is damaged"),
        );
        damaged(
            t.store
                .runs()
                .list(Some("alice"), None, 10)
                .await
                .expect_err("listing reads the damaged row"),
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn the_queue_depth_counts_queued_and_waiting_runs_of_every_owner() {
    for t in test_stores().await {
        let r = t.store.runs();
        assert_eq!(r.queue_depth().await.expect("count"), 0, "{}", t.label);
        for (id, owner) in [("r1", "alice"), ("r2", "alice"), ("r3", "bob")] {
            r.insert(&new_run(id, owner, 100)).await.expect("insert");
        }
        r.insert_refused(&new_run("r4", "bob", 100), "{\"reason\":\"bound\"}", &[])
            .await
            .expect("refused");
        assert_eq!(r.queue_depth().await.expect("count"), 3, "{}", t.label);

        // A claimed run leaves the queue; waiting for a retry, even one
        // not yet due, it is back in it.
        let claimed = r.claim_run("r1", "h", 60_000, 1_000).await.expect("claim");
        assert!(claimed.is_some(), "{}", t.label);
        assert_eq!(r.queue_depth().await.expect("count"), 2, "{}", t.label);
        assert!(
            r.start_attempt(&attempt("r1", 0, 1, 1_100), "h")
                .await
                .expect("start")
        );
        let failed = FinishAttempt {
            error: Some("{\"kind\":\"network\"}"),
            retry_at: Some(900_000),
            ..finish(attempt("r1", 0, 1, 1_100), AttemptStatus::Failed, 1_200)
        };
        let wait = RunUpdate::Wait {
            next_step: 0,
            not_before: 900_000,
        };
        assert!(r.finish_attempt(&failed, wait, "h").await.expect("finish"));
        assert_eq!(r.queue_depth().await.expect("count"), 3, "{}", t.label);

        // A finished run is not queued.
        assert!(
            r.finish_unleased("r2", RunStatus::Cancelled, None, 1_300)
                .await
                .expect("cancel")
        );
        assert_eq!(r.queue_depth().await.expect("count"), 2, "{}", t.label);
        t.cleanup().await;
    }
}
