//! Stripe Connect accounts: the mock keeps no account objects, only which
//! `acct_...` ids exist, so that a `destination` naming another is refused.

use super::wire::no_such;
use super::{State, StripeMock};
use crate::response::MockResponse;

impl StripeMock {
    /// Add a connected (Connect) account that transfers and destination
    /// charges may name; returns its id (`acct_...`).
    pub fn add_connected_account(&self) -> String {
        let mut state = self.lock();
        let id = state.new_id("acct", 16);
        state.accounts.push(id.clone());
        id
    }
}

impl State {
    /// `id` if it is a connected account, else Stripe's 400
    /// `No such destination` naming `param`.
    pub(super) fn destination(&self, id: &str, param: &str) -> Result<String, MockResponse> {
        if self.accounts.iter().any(|a| a == id) {
            Ok(id.to_string())
        } else {
            Err(no_such("destination", id, param, 400))
        }
    }
}
