//! Billing: what executions cost and who is owed what.
//!
//! - `tariff`: the money rules as pure functions (the free allowance,
//!   light and heavy prices, the 70/30 split, rounding to the cent with a
//!   carried remainder, the card fee estimate), in integer mills;
//! - `months`: calendar months in UTC, as billing names them (`YYYY-MM`);
//! - `statements`: the monthly pass that finalizes users' and developers'
//!   statements once a month and its grace period are over, and the views
//!   of usage, drafts and earnings the API shows;
//! - `payments`: the payment provider: the local one (records payments as
//!   paid, not for production) or Stripe (Checkout destination charges,
//!   invoices, Connect transfers, refunds, signed webhooks);
//! - `purchases`: buying a paid integration (the entitlement comes with the
//!   payment) or prepaid credit, and refunding a purchase;
//! - `settlement`: the provider's notifications applied once, usage
//!   invoices of finalized user statements and developer payouts.
//!
//! What is billed: one step execution of a workflow run that succeeded.
//! Its usage record is written by the store in the transaction that
//! commits the step ([`workway_store::runs::Runs::finish_attempt`], with
//! the [`metered`] figures of its report), so it is counted exactly once.

pub mod months;
pub mod payments;
pub mod purchases;
pub mod settlement;
pub mod statements;
pub mod tariff;

use workway_report::ExecutionReport;
use workway_report::metering::BillingClass;
use workway_store::runs::Metered;

use tariff::Tariff;

/// The usage record of an execution of `integration` for `owner`, from
/// its report, priced by the standard tariff.
pub fn metered<'a>(owner: &'a str, integration: &'a str, report: &ExecutionReport) -> Metered<'a> {
    Metered {
        owner,
        integration,
        class: class_name(report.billing_class),
        compute_units: i64::try_from(report.compute_units).unwrap_or(i64::MAX),
        price: Tariff::STANDARD.price(report.billing_class),
    }
}

/// The stored name of a billing class.
pub fn class_name(class: BillingClass) -> &'static str {
    match class {
        BillingClass::Light => "light",
        BillingClass::Heavy => "heavy",
    }
}
