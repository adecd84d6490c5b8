//! Billing as each account sees it: a user's usage this month (free
//! executions left, light and heavy counts, charges, per integration),
//! their statements (finalized, and the draft of the next), a developer's
//! earnings by month and integration, and the ledger for admins.
//!
//! - `GET /v1/billing/usage?month=` (scope `read`);
//! - `GET /v1/billing/statements?limit=&cursor=` (scope `read`), with the
//!   draft of the next statement;
//! - `GET /v1/billing/statements/{id}` (scope `read`; another account's
//!   answers 404);
//! - `GET /v1/billing/credit` (scope `read`), `POST /v1/billing/credit`
//!   (scope `run`): prepaid credit left and bought;
//! - `GET /v1/developer/earnings` (scope `publish`);
//! - `GET /v1/admin/ledger?limit=&cursor=` (scope `admin`): entries in
//!   the order posted, every account's balance, the reconciliation.
//!
//! Amounts are integers: `*_mills` in thousandths of a dollar, `*_cents`
//! in cents (what is invoiced or paid out).

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use workway_engine::accounts::Scope;
use workway_engine::billing::months::{is_month, month_of};
use workway_engine::billing::purchases::{self, MAX_CREDIT_CENTS, MIN_CREDIT_CENTS, PurchaseError};
use workway_engine::billing::tariff::Tariff;
use workway_engine::platform::Platform;
use workway_store::billing::{
    CreditPurchaseRow, IntegrationUsage, InvoiceRow, LedgerEntry, StatementKind, StatementLine,
    StatementRow, StatementSummary,
};

use super::auth::Caller;
use super::body::ApiJson;
use super::error::{ApiError, ErrorBody};
use super::paging;
use super::settlement::{InvoiceView, PayoutView};

/// The prices in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct PricesView {
    /// Billable executions per calendar month (UTC) that are free.
    pub free_per_month: i64,
    /// A light execution past the allowance (mills).
    pub light_mills: i64,
    /// A heavy execution past the allowance (mills).
    pub heavy_mills: i64,
    /// The developer's share of a usage charge (percent).
    pub developer_percent: i64,
}

impl From<Tariff> for PricesView {
    fn from(t: Tariff) -> PricesView {
        PricesView {
            free_per_month: t.free_per_month,
            light_mills: t.light_mills,
            heavy_mills: t.heavy_mills,
            developer_percent: t.developer_percent,
        }
    }
}

/// One integration's executions in the month.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationUsageView {
    /// The integration.
    pub integration: String,
    /// Executions that were free.
    pub free: i64,
    /// Light executions charged.
    pub light: i64,
    /// Heavy executions charged.
    pub heavy: i64,
    /// Failed executions: shown, never charged.
    pub failed: i64,
    /// What they cost (mills).
    pub charges_mills: i64,
}

impl From<&IntegrationUsage> for IntegrationUsageView {
    fn from(u: &IntegrationUsage) -> IntegrationUsageView {
        IntegrationUsageView {
            integration: u.integration.clone(),
            free: u.free,
            light: u.light,
            heavy: u.heavy,
            failed: u.failed,
            charges_mills: u.charge_mills,
        }
    }
}

/// A user's usage in one month.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageView {
    /// `YYYY-MM` (UTC).
    pub month: String,
    /// The prices in force.
    pub prices: PricesView,
    /// Billable executions (succeeded steps) so far.
    pub billable: i64,
    /// Free executions used.
    pub free_used: i64,
    /// Free executions left this month.
    pub free_left: i64,
    /// Light executions charged.
    pub light: i64,
    /// Heavy executions charged.
    pub heavy: i64,
    /// Failed executions: shown, never charged.
    pub failed: i64,
    /// What the month's executions cost so far (mills).
    pub charges_mills: i64,
    /// Per integration, by name.
    pub integrations: Vec<IntegrationUsageView>,
}

/// `GET /v1/billing/usage`'s query.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    pub(crate) month: Option<String>,
}

/// The caller's usage in a month: free executions left, light and heavy
/// counts, charges so far, per integration.
#[utoipa::path(
    get,
    path = "/v1/billing/usage",
    tag = "billing",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    params(
        ("month" = Option<String>, Query, description = "`YYYY-MM` (UTC); this month when left out."),
    ),
    responses(
        (status = 200, description = "The month's usage.", body = UsageView),
        (status = 400, description = "`month` is not `YYYY-MM` (`invalid_input`).", body = ErrorBody),
    ),
)]
pub async fn usage(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    query: Result<Query<UsageQuery>, QueryRejection>,
) -> Result<Json<UsageView>, ApiError> {
    let principal = caller.require(Scope::Read)?;
    let query = paging::query_of(query, "month")?;
    let month = match query.month {
        Some(month) if is_month(&month) => month,
        Some(_) => {
            return Err(ApiError::invalid(
                "month",
                "the month is written YYYY-MM, e.g. 2026-03",
            ));
        }
        None => month_of(workway_store::clock::now_ms()),
    };
    let summary = platform
        .store
        .billing()
        .month_usage(&principal.account_id, &month)
        .await?;
    let tariff = Tariff::STANDARD;
    let free_used = summary.free();
    Ok(Json(UsageView {
        prices: tariff.into(),
        billable: summary.billable,
        free_used,
        free_left: (tariff.free_per_month - summary.billable).max(0),
        light: summary.light(),
        heavy: summary.heavy(),
        failed: summary.failed(),
        charges_mills: summary.charge_mills(),
        integrations: summary.integrations.iter().map(Into::into).collect(),
        month,
    }))
}

/// What a statement counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryView {
    /// Executions that were free.
    pub free: i64,
    /// Light executions charged.
    pub light: i64,
    /// Heavy executions charged.
    pub heavy: i64,
    /// Failed executions (never charged).
    pub failed: i64,
    /// Executions of earlier months that arrived after their statement.
    pub late: i64,
}

impl From<&StatementSummary> for SummaryView {
    fn from(s: &StatementSummary) -> SummaryView {
        SummaryView {
            free: s.free,
            light: s.light,
            heavy: s.heavy,
            failed: s.failed,
            late: s.late,
        }
    }
}

/// One line: one integration's executions of one month.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineView {
    /// The integration.
    pub integration: String,
    /// The month the executions started in (earlier than the statement's
    /// for late usage).
    pub month: String,
    /// Free executions.
    pub free: i64,
    /// Light executions charged.
    pub light: i64,
    /// Heavy executions charged.
    pub heavy: i64,
    /// Failed executions.
    pub failed: i64,
    /// A user's statement: what they cost; a developer's: the share (mills).
    pub amount_mills: i64,
}

impl From<&StatementLine> for LineView {
    fn from(l: &StatementLine) -> LineView {
        LineView {
            integration: l.integration.clone(),
            month: l.month.clone(),
            free: l.free,
            light: l.light,
            heavy: l.heavy,
            failed: l.failed,
            amount_mills: l.amount_mills,
        }
    }
}

/// A finalized statement: never changed once written.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatementView {
    /// Its id.
    pub id: String,
    /// `user` or `developer`.
    pub kind: String,
    /// `YYYY-MM`.
    pub month: String,
    /// `finalized`.
    pub state: &'static str,
    /// The month's own amount (mills).
    pub total_mills: i64,
    /// Earlier months' usage that arrived late (mills).
    pub adjustment_mills: i64,
    /// The previous statement's sub-cent remainder (mills).
    pub carried_in_mills: i64,
    /// Prepaid credit drawn down (mills; user statements).
    pub credit_mills: i64,
    /// Invoiced (user) or paid out (developer), floored to the cent.
    pub amount_cents: i64,
    /// The sub-cent remainder carried to the next statement (mills).
    pub carried_out_mills: i64,
    /// What it counts.
    pub summary: SummaryView,
    /// Per integration and month.
    pub lines: Vec<LineView>,
    /// When it was finalized (Unix ms).
    pub finalized_at: i64,
    /// How it is being paid (user statements asking for money, once the
    /// settlement pass sent the invoice).
    pub invoice: Option<InvoiceView>,
}

impl From<&StatementRow> for StatementView {
    fn from(s: &StatementRow) -> StatementView {
        StatementView {
            id: s.id.clone(),
            kind: s.kind.as_str().to_string(),
            month: s.month.clone(),
            state: "finalized",
            total_mills: s.total_mills,
            adjustment_mills: s.adjustment_mills,
            carried_in_mills: s.carried_in_mills,
            credit_mills: s.credit_mills,
            amount_cents: s.amount_cents,
            carried_out_mills: s.carried_out_mills,
            summary: (&s.summary).into(),
            lines: s.lines.iter().map(Into::into).collect(),
            finalized_at: s.finalized_at,
            invoice: None,
        }
    }
}

/// The next statement as it stands: the usage on no statement yet.
#[derive(Debug, Serialize, ToSchema)]
pub struct DraftView {
    /// The month it will be finalized as (this month).
    pub month: String,
    /// `draft`: it changes until it is finalized, after the month and a
    /// grace period of 3 days for late usage.
    pub state: &'static str,
    /// This month's own charges so far (mills).
    pub total_mills: i64,
    /// Earlier months' usage not on a statement yet (mills).
    pub adjustment_mills: i64,
    /// What it counts so far.
    pub summary: SummaryView,
    /// Per integration and month.
    pub lines: Vec<LineView>,
}

/// A page of statements with the draft of the next.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatementsPage {
    /// The next statement so far (on the first page only).
    pub draft: Option<DraftView>,
    /// Finalized statements, newest month first.
    pub items: Vec<StatementView>,
    /// What fetches the next page, or `null` on the last.
    pub next_cursor: Option<String>,
}

/// A page query: `limit` and `cursor`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub(crate) limit: Option<String>,
    pub(crate) cursor: Option<String>,
}

/// The caller's statements, newest first, with the draft of the next.
#[utoipa::path(
    get,
    path = "/v1/billing/statements",
    tag = "billing",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "How many a page holds (20 when left out)."),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page, unchanged."),
    ),
    responses(
        (status = 200, description = "The draft and a page of finalized statements.", body = StatementsPage),
        (status = 400, description = "A query parameter is wrong (`invalid_input`, `details.field` names it).", body = ErrorBody),
    ),
)]
pub async fn statements(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<StatementsPage>, ApiError> {
    let principal = caller.require(Scope::Read)?;
    let query = paging::query_of(query, "limit and cursor")?;
    let limit = paging::limit(query.limit.as_deref())?;
    let before = paging::before(query.cursor.as_deref())?.map(|(_, month)| month);
    let billing = platform.store.billing();
    let mut rows = billing
        .statements(
            &principal.account_id,
            StatementKind::User,
            before.as_deref(),
            limit + 1,
        )
        .await?;
    let next_cursor = if rows.len() > usize::try_from(limit).unwrap_or(usize::MAX) {
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        rows.last().map(|s| paging::encode_key(0, &s.month))
    } else {
        None
    };
    let draft = if before.is_none() {
        let month = month_of(workway_store::clock::now_ms());
        let (lines, summary, own, late) = billing.user_draft(&principal.account_id, &month).await?;
        Some(DraftView {
            month,
            state: "draft",
            total_mills: own,
            adjustment_mills: late,
            summary: (&summary).into(),
            lines: lines.iter().map(Into::into).collect(),
        })
    } else {
        None
    };
    let invoices = billing.invoices_of(&principal.account_id).await?;
    Ok(Json(StatementsPage {
        draft,
        items: rows
            .iter()
            .map(|row| with_invoice(row, &invoices))
            .collect(),
        next_cursor,
    }))
}

/// One of the caller's statements (user or developer).
#[utoipa::path(
    get,
    path = "/v1/billing/statements/{id}",
    tag = "billing",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    params(("id" = String, Path, description = "The statement's id.")),
    responses(
        (status = 200, description = "The statement.", body = StatementView),
        (status = 404, description = "No statement of the caller's has this id (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn statement(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<StatementView>, ApiError> {
    let principal = caller.require(Scope::Read)?;
    let row = platform
        .store
        .billing()
        .statement(&principal.account_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("statement"))?;
    let mut view = StatementView::from(&row);
    view.invoice = platform
        .store
        .billing()
        .invoice(&row.id)
        .await?
        .as_ref()
        .map(Into::into);
    Ok(Json(view))
}

/// `row` as shown, with its invoice among `invoices`.
fn with_invoice(row: &StatementRow, invoices: &[InvoiceRow]) -> StatementView {
    let mut view = StatementView::from(row);
    view.invoice = invoices
        .iter()
        .find(|i| i.statement_id == row.id)
        .map(Into::into);
    view
}

/// A developer's earnings of one usage month from one integration.
#[derive(Debug, Serialize, ToSchema)]
pub struct EarningView {
    /// The integration.
    pub integration: String,
    /// The month the executions started in.
    pub month: String,
    /// Executions charged to users (light and heavy).
    pub charged: i64,
    /// The developer's share (mills).
    pub share_mills: i64,
}

fn earnings_of(lines: &[StatementLine]) -> Vec<EarningView> {
    lines
        .iter()
        .map(|l| EarningView {
            integration: l.integration.clone(),
            month: l.month.clone(),
            charged: l.light + l.heavy,
            share_mills: l.amount_mills,
        })
        .collect()
}

/// A developer's earnings.
#[derive(Debug, Serialize, ToSchema)]
pub struct EarningsView {
    /// Shares credited on finalized developer statements, by usage month
    /// and integration.
    pub credited: Vec<EarningView>,
    /// Shares not yet on a statement (usage this month, or charged to
    /// users and waiting for the month's developer statement).
    pub pending: Vec<EarningView>,
    /// The developer statements, newest first.
    pub statements: Vec<StatementView>,
    /// Payouts through the payment provider, newest first.
    pub payouts: Vec<PayoutView>,
}

/// The caller's earnings as a developer: their share of usage charges by
/// month and integration, and their statements with the payouts.
#[utoipa::path(
    get,
    path = "/v1/developer/earnings",
    tag = "billing",
    security(("api_token" = ["publish"]), ("session" = ["publish"])),
    responses(
        (status = 200, description = "Earnings by month and integration, and the developer statements.", body = EarningsView),
        (status = 403, description = "The credential lacks the `publish` scope (`forbidden`).", body = ErrorBody),
    ),
)]
pub async fn earnings(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
) -> Result<Json<EarningsView>, ApiError> {
    let principal = caller.require(Scope::Publish)?;
    let billing = platform.store.billing();
    let (credited, pending) = billing.developer_shares(&principal.account_id).await?;
    let statements = billing
        .statements(&principal.account_id, StatementKind::Developer, None, 24)
        .await?;
    Ok(Json(EarningsView {
        credited: earnings_of(&credited),
        pending: earnings_of(&pending),
        statements: statements.iter().map(Into::into).collect(),
        payouts: billing
            .payouts_of(&principal.account_id)
            .await?
            .iter()
            .map(Into::into)
            .collect(),
    }))
}

/// One ledger entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryView {
    /// `<txn>.<n>`.
    pub id: String,
    /// The transaction: its entries sum to zero.
    pub txn: String,
    /// The account.
    pub account: String,
    /// What it records.
    pub kind: String,
    /// Debit when positive, credit when negative (mills).
    pub amount_mills: i64,
    /// The statement (or purchase, payout, refund) it belongs to.
    pub reference: String,
    /// When it was posted (Unix ms).
    pub posted_at: i64,
}

impl From<&LedgerEntry> for EntryView {
    fn from(e: &LedgerEntry) -> EntryView {
        EntryView {
            id: e.id.clone(),
            txn: e.txn.clone(),
            account: e.account.clone(),
            kind: e.kind.clone(),
            amount_mills: e.amount_mills,
            reference: e.reference.clone(),
            posted_at: e.posted_at,
        }
    }
}

/// One account's balance.
#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceView {
    /// The account.
    pub account: String,
    /// The sum of its entries (mills).
    pub balance_mills: i64,
}

/// Whether the ledger adds up.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReconciliationView {
    /// True when every transaction balances and the usage postings equal
    /// the usage records on finalized statements, to the mill.
    pub holds: bool,
    /// Entries in the ledger.
    pub entries: i64,
    /// The sum of every entry (0 when it balances).
    pub sum_mills: i64,
    /// Transactions that do not balance.
    pub unbalanced: Vec<String>,
    /// Usage charges posted (mills).
    pub charges_mills: i64,
    /// Developer shares posted (mills).
    pub developer_shares_mills: i64,
    /// Platform shares posted (mills).
    pub platform_shares_mills: i64,
    /// What the usage records on finalized statements charged (mills).
    pub usage_charged_mills: i64,
}

/// The ledger, its balances and reconciliation.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerView {
    /// Whether it adds up.
    pub reconciliation: ReconciliationView,
    /// Every account's balance.
    pub balances: Vec<BalanceView>,
    /// Entries in the order posted.
    pub items: Vec<EntryView>,
    /// What fetches the next page, or `null` on the last.
    pub next_cursor: Option<String>,
}

/// The ledger for admins: entries in the order posted, balances, and the
/// reconciliation against the usage records.
#[utoipa::path(
    get,
    path = "/v1/admin/ledger",
    tag = "billing",
    security(("api_token" = ["admin"]), ("session" = ["admin"])),
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "How many entries a page holds (20 when left out)."),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page, unchanged."),
    ),
    responses(
        (status = 200, description = "The reconciliation, balances and a page of entries.", body = LedgerView),
        (status = 400, description = "A query parameter is wrong (`invalid_input`).", body = ErrorBody),
        (status = 403, description = "The credential lacks the `admin` scope (`forbidden`).", body = ErrorBody),
    ),
)]
pub async fn ledger(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<LedgerView>, ApiError> {
    caller.require(Scope::Admin)?;
    let query = paging::query_of(query, "limit and cursor")?;
    let limit = paging::limit(query.limit.as_deref())?;
    let after = paging::before(query.cursor.as_deref())?;
    let billing = platform.store.billing();
    let mut entries = billing
        .ledger(after.as_ref().map(|(at, id)| (*at, id.as_str())), limit + 1)
        .await?;
    let next_cursor = if entries.len() > usize::try_from(limit).unwrap_or(usize::MAX) {
        entries.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        entries
            .last()
            .map(|e| paging::encode_key(e.posted_at, &e.id))
    } else {
        None
    };
    let r = billing.reconcile().await?;
    let balances = billing.balances().await?;
    Ok(Json(LedgerView {
        reconciliation: ReconciliationView {
            holds: r.holds(),
            entries: r.entries,
            sum_mills: r.sum_mills,
            unbalanced: r.unbalanced.clone(),
            charges_mills: r.charges_mills,
            developer_shares_mills: r.developer_shares_mills,
            platform_shares_mills: r.platform_shares_mills,
            usage_charged_mills: r.usage_charged_mills,
        },
        balances: balances
            .into_iter()
            .map(|b| BalanceView {
                account: b.account,
                balance_mills: b.balance_mills,
            })
            .collect(),
        items: entries.iter().map(Into::into).collect(),
        next_cursor,
    }))
}

/// A purchase of prepaid credit.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditPurchaseView {
    /// Its id.
    pub id: String,
    /// The credit bought (cents).
    pub amount_cents: i64,
    /// `pending`, `paid` or `expired` (the checkout ended unpaid).
    pub state: String,
    /// The payment provider (`local`: recorded as paid, no money moved).
    pub provider: String,
    /// When it was made (Unix ms).
    pub created_at: i64,
}

impl From<&CreditPurchaseRow> for CreditPurchaseView {
    fn from(p: &CreditPurchaseRow) -> CreditPurchaseView {
        CreditPurchaseView {
            id: p.id.clone(),
            amount_cents: p.amount_cents,
            state: p.state.as_str().to_string(),
            provider: p.provider.clone(),
            created_at: p.created_at,
        }
    }
}

/// The caller's prepaid credit.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditView {
    /// Credit left (mills): statements draw it down before invoicing.
    pub balance_mills: i64,
    /// Credit bought, newest first.
    pub purchases: Vec<CreditPurchaseView>,
    /// Where the buyer pays for the credit just asked for, when the
    /// provider asks them to (`POST` only).
    pub checkout_url: Option<String>,
}

/// `POST /v1/billing/credit`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyCredit {
    /// How much credit to buy, in cents: 500 ($5.00) to 100000 ($1,000.00).
    pub amount_cents: i64,
}

async fn credit_view(
    platform: &Platform,
    account: &str,
    checkout_url: Option<String>,
) -> Result<CreditView, ApiError> {
    let billing = platform.store.billing();
    Ok(CreditView {
        balance_mills: billing.credit_balance(account).await?,
        purchases: billing
            .credit_purchases_of(account)
            .await?
            .iter()
            .map(Into::into)
            .collect(),
        checkout_url,
    })
}

/// The caller's prepaid credit: what is left and what was bought.
#[utoipa::path(
    get,
    path = "/v1/billing/credit",
    tag = "billing",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    responses((status = 200, description = "Credit left and credit bought.", body = CreditView)),
)]
pub async fn credit(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
) -> Result<Json<CreditView>, ApiError> {
    let principal = caller.require(Scope::Read)?;
    Ok(Json(
        credit_view(&platform, &principal.account_id, None).await?,
    ))
}

/// Buy prepaid credit through the payment provider.
///
/// Credited at once by the local provider (not for production), or once
/// the buyer has paid at `checkout_url`. Statements draw credit down
/// before anything is invoiced.
#[utoipa::path(
    post,
    path = "/v1/billing/credit",
    tag = "billing",
    security(("api_token" = ["run"]), ("session" = ["run"], "csrf" = [])),
    request_body = BuyCredit,
    responses(
        (status = 201, description = "The credit bought (or waiting at `checkout_url`), and what is left.", body = CreditView),
        (status = 400, description = "`amount_cents` is outside 500 to 100000 (`invalid_input`).", body = ErrorBody),
        (status = 502, description = "The payment provider refused (`payment_provider`).", body = ErrorBody),
    ),
)]
pub async fn buy_credit(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    ApiJson(body): ApiJson<BuyCredit>,
) -> Result<(axum::http::StatusCode, Json<CreditView>), ApiError> {
    let principal = caller.require(Scope::Run)?;
    let (_, url) = purchases::buy_credit(&platform, &principal.account_id, body.amount_cents)
        .await
        .map_err(|e| match e {
            PurchaseError::CreditAmount(_) => ApiError::invalid(
                "amount_cents",
                format!("{e}: give an amount from {MIN_CREDIT_CENTS} to {MAX_CREDIT_CENTS} cents"),
            ),
            e => super::purchases::purchase_error(e),
        })?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(credit_view(&platform, &principal.account_id, url).await?),
    ))
}
