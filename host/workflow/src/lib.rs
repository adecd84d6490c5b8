//! The workflow language: a trigger plus ordered steps, each running one
//! action of an installed integration with an input built from the
//! trigger's data and earlier steps' outputs.
//!
//! Pure (no database, no runtime, no network), so the CLI, the API and the
//! executor share one reading of a workflow, and an edit here rebuilds
//! neither the sandbox nor the brokers:
//!
//! - [`definition`]: the definition itself, parsed from YAML or JSON, and
//!   its canonical stored form;
//! - [`schedule`]: cron schedules in an IANA time zone, across DST changes;
//! - [`template`]: rendering a step's input from the run's context
//!   (`{"$ref": ...}` and `{{ ... }}`);
//! - [`condition`]: a step's `when:`, evaluated against the same context;
//! - [`retry`]: retry policies, backoff with jitter, and what to do after
//!   each kind of failure;
//! - [`validate`]: every check that can be made before running, against
//!   the installed actions' schemas;
//! - [`webhook`]: a webhook trigger's sender format (`stripe`, `github`,
//!   ...), which fixes how deliveries are signed and named.
//!
//! Saving versions and the durable executor live in `workway-engine`.

mod checked;
pub mod condition;
pub mod definition;
pub mod retry;
pub mod schedule;
pub mod template;
pub mod validate;
pub mod webhook;
