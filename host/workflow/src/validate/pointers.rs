//! What a step can read: a pointer in its input or its `when:` must read
//! `/trigger`, a field of `/run`, or the output or metadata of an earlier
//! step, and a path into that output must exist in the action's output
//! schema.

use super::schema_paths::{MissingPath, check_path};
use super::{Scope, backticked};
use crate::template::{self, PointerError};

/// The fields of `/run`.
const RUN_FIELDS: [&str; 4] = ["id", "workflow", "version", "attempt"];

/// Why a step cannot read a pointer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(super) enum ReferenceError {
    /// The pointer is not a JSON pointer.
    #[error(transparent)]
    Pointer(#[from] PointerError),
    /// It starts with something other than `trigger`, `run` or `steps`.
    #[error(
        "`{pointer}` reads nothing a step can see: start it with `/trigger`, `/run` or \
         `/steps/<id>/output`"
    )]
    Unseen {
        /// The pointer.
        pointer: String,
    },
    /// `/steps` with no step id after it.
    #[error("`{pointer}` needs a step id: `/steps/<id>/output/...`")]
    NoStepId {
        /// The pointer.
        pointer: String,
    },
    /// No step has the id.
    #[error("there is no step `{id}`{}", describe_earlier(.earlier))]
    NoSuchStep {
        /// The id read.
        id: String,
        /// The ids of the steps before the reading one.
        earlier: Vec<String>,
    },
    /// The step reads its own output.
    #[error("a step cannot read its own output (`{pointer}`)")]
    OwnOutput {
        /// The pointer.
        pointer: String,
    },
    /// The step read runs later.
    #[error("step `{id}` runs after this one: a step can read only the steps before it")]
    LaterStep {
        /// The later step's id.
        id: String,
    },
    /// A step's part other than `output` and `metadata`.
    #[error("`{pointer}`: a step has `output` and `metadata`, not `{part}`")]
    NoSuchPart {
        /// The pointer.
        pointer: String,
        /// The part read (`outputs`).
        part: String,
    },
    /// A field `/run` does not have.
    #[error("`/run` has `id`, `workflow`, `version` and `attempt`; there is no `{field}`")]
    NoRunField {
        /// The field read.
        field: String,
    },
    /// A path into one of `/run`'s fields, which are plain values.
    #[error("`{pointer}`: `/run`'s fields have no parts")]
    InsideRunField {
        /// The pointer.
        pointer: String,
    },
    /// The path after `output` is not in the action's output schema.
    #[error("`{pointer}` is not in the output of `{action}`: {missing}")]
    NotInOutput {
        /// The pointer.
        pointer: String,
        /// The action whose output it reads (`gmail.fetch-email`).
        action: String,
        /// Where and why the path leads nowhere.
        missing: MissingPath,
    },
}

/// `; the steps before this one are `a`, `b`` (or that there are none).
fn describe_earlier(earlier: &[String]) -> String {
    if earlier.is_empty() {
        "; no step runs before this one".to_owned()
    } else {
        format!("; the steps before this one are {}", backticked(earlier))
    }
}

impl Scope<'_> {
    /// Whether step `here` can read `pointer`; an error says why not.
    pub(super) fn check_pointer(&self, pointer: &str, here: usize) -> Result<(), ReferenceError> {
        let tokens = template::parse_pointer(pointer)?;
        match tokens.first().map(String::as_str) {
            Some("trigger") => Ok(()),
            Some("run") => check_run_pointer(pointer, &tokens[1..]),
            Some("steps") => self.check_step_pointer(pointer, &tokens[1..], here),
            _ => Err(ReferenceError::Unseen {
                pointer: pointer.to_owned(),
            }),
        }
    }

    fn check_step_pointer(
        &self,
        pointer: &str,
        rest: &[String],
        here: usize,
    ) -> Result<(), ReferenceError> {
        let Some(id) = rest.first() else {
            return Err(ReferenceError::NoStepId {
                pointer: pointer.to_owned(),
            });
        };
        let Some(&target) = self.first_index.get(id.as_str()) else {
            return Err(ReferenceError::NoSuchStep {
                id: id.clone(),
                earlier: self.steps[..here].iter().map(|s| s.id.clone()).collect(),
            });
        };
        if target == here {
            return Err(ReferenceError::OwnOutput {
                pointer: pointer.to_owned(),
            });
        }
        if target > here {
            return Err(ReferenceError::LaterStep { id: id.clone() });
        }
        match rest.get(1).map(String::as_str) {
            None | Some("metadata") => Ok(()),
            Some("output") => self.check_output_path(pointer, target, &rest[2..]),
            Some(other) => Err(ReferenceError::NoSuchPart {
                pointer: pointer.to_owned(),
                part: other.to_owned(),
            }),
        }
    }

    fn check_output_path(
        &self,
        pointer: &str,
        target: usize,
        path: &[String],
    ) -> Result<(), ReferenceError> {
        // An action that did not resolve is reported at its step.
        let Ok(schemas) = &self.actions[target] else {
            return Ok(());
        };
        check_path(&schemas.output, path).map_err(|missing| ReferenceError::NotInOutput {
            pointer: pointer.to_owned(),
            action: self.steps[target].action.clone(),
            missing,
        })
    }
}

/// Whether `rest` (the tokens after `run`) names `/run` or one of its
/// fields.
fn check_run_pointer(pointer: &str, rest: &[String]) -> Result<(), ReferenceError> {
    match rest {
        [] => Ok(()),
        [field] if RUN_FIELDS.contains(&field.as_str()) => Ok(()),
        [field] => Err(ReferenceError::NoRunField {
            field: field.clone(),
        }),
        _ => Err(ReferenceError::InsideRunField {
            pointer: pointer.to_owned(),
        }),
    }
}
