//! Billing: this month's usage (free executions left, light and heavy
//! executions charged, failed ones shown and never charged, charges so
//! far, per integration), prepaid credit, statements with their
//! invoices, purchases; and buying a paid integration through the
//! payment provider.
//!
//! - `GET /billing`;
//! - `POST /billing/credit`: buy prepaid credit (dollars as typed, read
//!   exactly), at the provider's checkout page when it hosts one;
//! - `POST /marketplace/{name}/buy`: to the provider's checkout page when
//!   it hosts one, else (paid at once) on to the consent screen.
//!
//! Each calls the API's handler ([`crate::api::billing`],
//! [`crate::api::purchases`]).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use serde::Deserialize;

use workway_engine::billing::purchases::{MAX_CREDIT_CENTS, MIN_CREDIT_CENTS};
use workway_engine::billing::tariff::{read_cents, show_cents, show_mills};
use workway_engine::platform::Platform;

use super::error::WebError;
use super::layout::{Nav, encode, render, when};
use super::session::{Member, WebForm};
use crate::api::billing::{self, BuyCredit, PageQuery, StatementView, UsageQuery};
use crate::api::body::ApiJson;
use crate::api::error::ApiError;
use crate::api::purchases;

/// One integration's usage this month.
struct UsageLine {
    integration: String,
    free: i64,
    light: i64,
    heavy: i64,
    failed: i64,
    charges: String,
}

/// A statement as the page lists it.
struct StatementLine {
    month: String,
    kind: String,
    amount: String,
    invoice: String,
    pay_url: Option<String>,
}

impl From<StatementView> for StatementLine {
    fn from(s: StatementView) -> Self {
        let (invoice, pay_url) = match s.invoice {
            Some(i) => {
                let state = match (i.state.as_str(), &i.reason) {
                    ("failed", Some(reason)) => format!("failed: {reason}"),
                    (state, _) => state.replace('_', " "),
                };
                (state, i.url.filter(|u| u.starts_with("https://")))
            }
            None if s.amount_cents == 0 => ("nothing to pay".to_string(), None),
            None => ("not invoiced yet".to_string(), None),
        };
        StatementLine {
            month: s.month,
            kind: s.kind,
            amount: show_cents(s.amount_cents),
            invoice,
            pay_url,
        }
    }
}

/// A purchase as the page lists it.
struct PurchaseLine {
    integration: String,
    price: String,
    state: String,
    when: String,
}

/// The billing page.
#[derive(Template)]
#[template(path = "billing.html")]
struct BillingPage {
    nav: Nav,
    month: String,
    free_left: i64,
    free_per_month: i64,
    light: i64,
    heavy: i64,
    failed: i64,
    charges: String,
    light_price: String,
    heavy_price: String,
    usage: Vec<UsageLine>,
    credit: String,
    draft: Option<String>,
    statements: Vec<StatementLine>,
    purchases: Vec<PurchaseLine>,
    /// Credit bought: amount, state, when.
    credit_bought: Vec<(String, String, String)>,
    notice: bool,
    error: Option<String>,
    amount: String,
}

/// `?done=` on the billing page.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    done: Option<String>,
}

/// `GET /billing`.
pub async fn show(
    State(platform): State<Arc<Platform>>,
    member: Member,
    Query(done): Query<Done>,
) -> Result<Response, WebError> {
    let notice = done.done.as_deref() == Some("credit");
    billing_page(platform, &member, notice, None).await
}

/// The billing page for `member`; `refused` is a credit purchase refused
/// (its status, why, and the amount typed).
async fn billing_page(
    platform: Arc<Platform>,
    member: &Member,
    notice: bool,
    refused: Option<(StatusCode, String, String)>,
) -> Result<Response, WebError> {
    let fail = |e| member.fail(e);
    let usage = billing::usage(
        State(platform.clone()),
        member.caller.clone(),
        Ok(Query(UsageQuery::default())),
    )
    .await
    .map_err(fail)?
    .0;
    let credit = billing::credit(State(platform.clone()), member.caller.clone())
        .await
        .map_err(fail)?
        .0;
    let statements = billing::statements(
        State(platform.clone()),
        member.caller.clone(),
        Ok(Query(PageQuery::default())),
    )
    .await
    .map_err(fail)?
    .0;
    let bought = purchases::list(State(platform), member.caller.clone())
        .await
        .map_err(fail)?
        .0;
    let page = BillingPage {
        nav: member.nav(),
        month: usage.month,
        free_left: usage.free_left,
        free_per_month: usage.prices.free_per_month,
        light: usage.light,
        heavy: usage.heavy,
        failed: usage.failed,
        charges: show_mills(usage.charges_mills),
        light_price: show_mills(usage.prices.light_mills),
        heavy_price: show_mills(usage.prices.heavy_mills),
        usage: usage
            .integrations
            .into_iter()
            .map(|u| UsageLine {
                charges: show_mills(u.charges_mills),
                integration: u.integration,
                free: u.free,
                light: u.light,
                heavy: u.heavy,
                failed: u.failed,
            })
            .collect(),
        credit: show_mills(credit.balance_mills),
        credit_bought: credit
            .purchases
            .into_iter()
            .map(|p| (show_cents(p.amount_cents), p.state, when(p.created_at)))
            .collect(),
        notice,
        error: refused.as_ref().map(|(_, message, _)| message.clone()),
        amount: refused
            .as_ref()
            .map(|(_, _, amount)| amount.clone())
            .unwrap_or_default(),
        draft: statements
            .draft
            .map(|d| show_mills(d.total_mills + d.adjustment_mills)),
        statements: statements
            .items
            .into_iter()
            .map(StatementLine::from)
            .collect(),
        purchases: bought
            .items
            .into_iter()
            .map(|p| PurchaseLine {
                integration: p.integration,
                price: show_cents(p.price_cents),
                state: p.state,
                when: when(p.created_at),
            })
            .collect(),
    };
    let mut response = render(&page);
    if let Some((status, _, _)) = refused {
        *response.status_mut() = status;
    }
    Ok(response)
}

/// The provider's https checkout page, where the buyer pays.
fn to_checkout(member: &Member, url: &str) -> Result<Response, WebError> {
    if !url.starts_with("https://") {
        return Err(member.fail(ApiError::internal(
            &"the payment provider answered a checkout address that is not https",
        )));
    }
    let mut response = StatusCode::SEE_OTHER.into_response();
    let location = HeaderValue::from_str(url).map_err(|e| member.fail(ApiError::internal(&e)))?;
    response.headers_mut().insert(header::LOCATION, location);
    Ok(response)
}

/// `POST /billing/credit`: `amount` in dollars.
pub async fn buy_credit(
    State(platform): State<Arc<Platform>>,
    form: WebForm,
) -> Result<Response, WebError> {
    let member = form.member()?;
    let amount = form.get("amount").to_string();
    let outcome = match read_cents(&amount) {
        Some(amount_cents) => billing::buy_credit(
            State(platform.clone()),
            member.caller.clone(),
            ApiJson(BuyCredit { amount_cents }),
        )
        .await
        .map(|(_, view)| view.0.checkout_url),
        None => Err(ApiError::invalid(
            "amount",
            format!(
                "`{}` is not an amount: write dollars and cents such as 25.00 ({} to {})",
                amount.trim().chars().take(40).collect::<String>(),
                show_cents(MIN_CREDIT_CENTS),
                show_cents(MAX_CREDIT_CENTS)
            ),
        )),
    };
    match outcome {
        Ok(Some(url)) => to_checkout(&member, &url),
        Ok(None) => Ok(Redirect::to("/billing?done=credit").into_response()),
        Err(e) if e.status().is_client_error() => {
            let refused = (e.status(), e.message().to_string(), amount);
            billing_page(platform, &member, false, Some(refused)).await
        }
        Err(e) => Err(member.fail(e)),
    }
}

/// `POST /marketplace/{name}/buy`.
pub async fn buy(
    State(platform): State<Arc<Platform>>,
    Path(name): Path<String>,
    form: WebForm,
) -> Result<Response, WebError> {
    let member = form.member()?;
    let (_, bought) = purchases::buy(State(platform), member.caller.clone(), Path(name.clone()))
        .await
        .map_err(|e| member.fail(e))?;
    match bought.0.checkout_url {
        Some(url) => to_checkout(&member, &url),
        None => {
            Ok(Redirect::to(&format!("/marketplace/{}/install", encode(&name))).into_response())
        }
    }
}
