//! A stored run's JSON columns (`trigger_data`, `pins`) decoded, or the
//! reason the row is damaged. Whoever reads them goes through here, so a
//! run whose column was changed behind the store's back is reported as
//! damaged, naming the run and the column, and is never driven (or
//! chained) with empty values in place of what it stored.

use serde::de::DeserializeOwned;
use workway_store::runs::RunRow;

/// A JSON column of a stored run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunColumn {
    /// What the trigger carried.
    TriggerData,
    /// What the run pinned of each integration.
    Pins,
}

impl RunColumn {
    /// The column's name, as in the schema and in error messages.
    pub fn name(self) -> &'static str {
        match self {
            RunColumn::TriggerData => "trigger_data",
            RunColumn::Pins => "pins",
        }
    }

    /// The column's stored text in `run`.
    fn text(self, run: &RunRow) -> &str {
        match self {
            RunColumn::TriggerData => &run.trigger_data,
            RunColumn::Pins => &run.pins,
        }
    }
}

impl std::fmt::Display for RunColumn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A stored run whose column does not decode to what it must hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored run `{run}` is damaged: {column}: {why}")]
pub struct RunDamaged {
    /// The run's id.
    pub run: String,
    /// The column that does not decode.
    pub column: RunColumn,
    /// Why it does not.
    pub why: String,
}

/// `column` of `run`, decoded as `T`; the run is damaged when it does not
/// decode.
pub fn decode<T: DeserializeOwned>(run: &RunRow, column: RunColumn) -> Result<T, RunDamaged> {
    serde_json::from_str(column.text(run)).map_err(|e| RunDamaged {
        run: run.id.clone(),
        column,
        why: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::Value;
    use workway_store::runs::{RunStatus, TriggerKind};

    use super::*;

    fn run(trigger_data: &str, pins: &str) -> RunRow {
        RunRow {
            id: "r1".into(),
            workflow_id: "w1".into(),
            workflow_version: 1,
            owner: "alice".into(),
            trigger_kind: TriggerKind::Manual,
            trigger_data: trigger_data.into(),
            pins: pins.into(),
            status: RunStatus::Queued,
            next_step: 0,
            not_before: 0,
            lease_owner: None,
            lease_until: None,
            error: None,
            created_at: 0,
            started_at: None,
            finished_at: None,
            updated_at: 0,
        }
    }

    #[test]
    fn columns_that_decode_are_returned() {
        let r = run("{\"a\":1}", "{}");
        let data: Value = decode(&r, RunColumn::TriggerData).expect("decodes");
        assert_eq!(data["a"], 1);
        let pins: BTreeMap<String, Value> = decode(&r, RunColumn::Pins).expect("decodes");
        assert!(pins.is_empty());
    }

    #[test]
    fn a_column_that_does_not_decode_names_the_run_and_the_column() {
        let r = run("{\"a\":1}", "not json");
        let err = decode::<BTreeMap<String, Value>>(&r, RunColumn::Pins).expect_err("damaged");
        assert_eq!(err.column, RunColumn::Pins);
        let shown = err.to_string();
        assert!(
            shown.starts_with("stored run `r1` is damaged: pins: "),
            "{shown}"
        );
        let err = decode::<Value>(&run("", "{}"), RunColumn::TriggerData).expect_err("damaged");
        assert!(
            err.to_string()
                .starts_with("stored run `r1` is damaged: trigger_data: "),
            "{err}"
        );
    }
}
