//! The `workway` binary's integration tests, in one test binary: the
//! commands (`cli`), workflows across processes on SQLite and PostgreSQL
//! (`workflows`), and the CI script's refusal to run without PostgreSQL
//! (`ci_postgres`).

mod ci_postgres;
mod cli;
mod served;
mod workflows;
