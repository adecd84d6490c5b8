//! Workflows: a trigger plus ordered steps, each running one action of an
//! installed integration with an input built from the trigger's data and
//! earlier steps' outputs.
//!
//! The definition modules are pure (no database, no runtime), so the CLI,
//! the API and the executor share one reading of a workflow:
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
//!   the installed actions' schemas.
//!
//! On top of them, with the store:
//!
//! - [`saved`]: saving a validated definition as the next version;
//! - [`executor`]: claiming runs under a lease and driving them step by
//!   step, each result committed before the next step starts.

pub mod condition;
pub mod definition;
pub mod executor;
pub mod retry;
pub mod saved;
pub mod schedule;
pub mod template;
pub mod validate;
