//! The `workway` binary's integration tests, in one test binary: the
//! commands (`cli`), workflows across processes on SQLite and PostgreSQL
//! (`workflows`), integrations in Python and JavaScript (`languages`), and
//! the CI script's refusal to run without PostgreSQL (`ci_postgres`).

mod ci_postgres;
mod cli;
mod languages;
mod served;
mod workflows;
