//! The money rules, as pure functions over integer amounts: what one
//! execution costs and how its charge is split, the rounding of statements
//! and payouts to the cent, and the payment fee estimate of an upfront
//! purchase. Amounts are integer mills (1/1000 USD) or cents, never floats.
//!
//! - Every user has [`Tariff::free_per_month`] (20) free billable
//!   executions per calendar month (UTC); after them a light execution
//!   costs 50 mills ($0.05) and a heavy one 250 ($0.25).
//! - A charge is split 70% to the integration's developer and 30% to the
//!   platform: 35 + 15 and 175 + 75 mills. The developer's share is
//!   floored to the mill and the platform keeps the rest, so the two
//!   always add up to the charge.
//! - Statements and payouts floor to the cent and carry the sub-cent
//!   remainder to the next statement of the same account
//!   ([`to_cents_with_carry`]), so totals reconcile to the mill over time.
//! - The payment fee shown before an upfront purchase is
//!   `round(2.9% x price) + 30 cents` ([`card_fee_estimate_cents`]); the
//!   fee booked is the one the payment provider reports.

use workway_report::metering::BillingClass;
use workway_store::runs::Price;

/// Mills in a cent.
pub const MILLS_PER_CENT: i64 = 10;

/// The usage prices and the revenue split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tariff {
    /// Billable executions per user and calendar month (UTC) that are free.
    pub free_per_month: i64,
    /// The charge of a light execution past the allowance (mills).
    pub light_mills: i64,
    /// The charge of a heavy execution past the allowance (mills).
    pub heavy_mills: i64,
    /// The developer's share of a usage charge, in percent.
    pub developer_percent: i64,
}

impl Tariff {
    /// The platform's tariff: 20 free a month, then $0.05 light and $0.25
    /// heavy, 70% of it to the developer.
    pub const STANDARD: Tariff = Tariff {
        free_per_month: 20,
        light_mills: 50,
        heavy_mills: 250,
        developer_percent: 70,
    };

    /// The charge of one billable execution of `class` past the allowance.
    pub fn charge(&self, class: BillingClass) -> i64 {
        match class {
            BillingClass::Light => self.light_mills,
            BillingClass::Heavy => self.heavy_mills,
        }
    }

    /// `charge` split into (developer, platform): the developer's share
    /// floored to the mill, the platform's the rest.
    pub fn split(&self, charge: i64) -> (i64, i64) {
        let developer = charge * self.developer_percent / 100;
        (developer, charge - developer)
    }

    /// What the store applies to an execution of `class`.
    pub fn price(&self, class: BillingClass) -> Price {
        let charge = self.charge(class);
        let (developer, _) = self.split(charge);
        Price {
            free_per_month: self.free_per_month,
            charge_mills: charge,
            developer_mills: developer,
        }
    }
}

impl Default for Tariff {
    fn default() -> Tariff {
        Tariff::STANDARD
    }
}

/// An amount of mills (with `carried_in`, the remainder the account's
/// previous statement carried) as whole cents, floored, and the remainder
/// (0 to 9 mills) carried to the next statement. A negative total (a
/// credit larger than the charges) is carried whole: nothing is invoiced
/// or paid out.
pub fn to_cents_with_carry(mills: i64, carried_in: i64) -> (i64, i64) {
    let total = mills + carried_in;
    if total <= 0 {
        return (0, total);
    }
    (total / MILLS_PER_CENT, total % MILLS_PER_CENT)
}

/// The card fee shown before an upfront purchase of `price_cents`:
/// `round(2.9% x price) + 30` cents, half rounded up.
pub fn card_fee_estimate_cents(price_cents: i64) -> i64 {
    (price_cents * 29 + 500) / 1000 + 30
}

/// `mills` in dollars to the mill, for people: `$0.050`, `-$12.345`.
pub fn show_mills(mills: i64) -> String {
    let sign = if mills < 0 { "-" } else { "" };
    let m = mills.unsigned_abs();
    format!("{sign}${}.{:03}", m / 1000, m % 1000)
}

/// `cents` in dollars, for people: `$0.05`, `-$12.34`.
pub fn show_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    format!("{sign}${}.{:02}", c / 100, c % 100)
}

/// A non-negative dollar amount as a person types it (`19`, `19.5`,
/// `$19.50`, ` 1,249.00 `) in whole cents, read as text (never through a
/// float); `None` for anything else: a sign, a third decimal, letters, or
/// more than an `i64` of cents.
pub fn read_cents(text: &str) -> Option<i64> {
    let text = text.trim();
    let text = text.strip_prefix('$').unwrap_or(text).trim_start();
    let (whole, part) = text.split_once('.').unwrap_or((text, ""));
    let whole: String = whole.chars().filter(|c| *c != ',').collect();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(&whole) || (!part.is_empty() && !digits(part)) || part.len() > 2 {
        return None;
    }
    let cents = match part.len() {
        0 => 0,
        1 => part.parse::<i64>().ok()? * 10,
        _ => part.parse::<i64>().ok()?,
    };
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(cents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn typed_prices_read_as_cents_or_not_at_all() {
        for (text, cents) in [
            ("19", Some(1900)),
            ("19.5", Some(1950)),
            ("$19.50", Some(1950)),
            (" $ 1,249.00 ", Some(124_900)),
            ("0.05", Some(5)),
            ("19.", Some(1900)),
            ("19.505", None),
            ("-19", None),
            ("+19", None),
            ("1e3", None),
            ("", None),
            ("$", None),
            (".5", None),
            ("99999999999999999999", None),
        ] {
            assert_eq!(read_cents(text), cents, "{text:?}");
        }
    }

    #[test]
    fn the_standard_tariff_is_the_published_one() {
        let t = Tariff::STANDARD;
        assert_eq!(t.price(BillingClass::Light).charge_mills, 50);
        assert_eq!(t.split(50), (35, 15));
        assert_eq!(t.split(250), (175, 75));
        assert_eq!(t.price(BillingClass::Heavy).developer_mills, 175);
        assert_eq!(t.free_per_month, 20);
    }

    #[test]
    fn the_seed_figures() {
        // A $39 upfront sale: fee $1.43, developer $37.57.
        let fee = card_fee_estimate_cents(3900);
        assert_eq!(fee, 143);
        assert_eq!(3900 - fee, 3757);
        // 1,000 light executions after the allowance: $50.00, $35.00, $15.00.
        let t = Tariff::STANDARD;
        let charge = 1000 * t.charge(BillingClass::Light);
        let (developer, platform) = (1000 * t.split(50).0, 1000 * t.split(50).1);
        assert_eq!(to_cents_with_carry(charge, 0), (5000, 0));
        assert_eq!(to_cents_with_carry(developer, 0), (3500, 0));
        assert_eq!(to_cents_with_carry(platform, 0), (1500, 0));
    }

    #[test]
    fn the_fee_estimate_rounds_half_up() {
        // 2.9% of $19 is 55.1 cents; of $249, 722.1; of $25, 72.5.
        assert_eq!(card_fee_estimate_cents(1900), 55 + 30);
        assert_eq!(card_fee_estimate_cents(24900), 722 + 30);
        assert_eq!(card_fee_estimate_cents(2500), 73 + 30);
    }

    proptest! {
        #[test]
        fn a_split_adds_up_to_the_charge(charge in 0i64..10_000_000, percent in 0i64..=100) {
            let t = Tariff { developer_percent: percent, ..Tariff::STANDARD };
            let (developer, platform) = t.split(charge);
            prop_assert_eq!(developer + platform, charge);
            prop_assert!(developer >= 0 && platform >= 0);
            prop_assert!(developer * 100 <= charge * percent);
        }

        #[test]
        fn carrying_loses_no_mill(amounts in proptest::collection::vec(-500i64..100_000, 1..40)) {
            // Statement after statement, cents paid plus the last carry
            // equal every amount added up.
            let mut carry = 0;
            let mut paid_cents = 0;
            for amount in &amounts {
                let (cents, next) = to_cents_with_carry(*amount, carry);
                prop_assert!(cents >= 0);
                prop_assert!(next < MILLS_PER_CENT);
                paid_cents += cents;
                carry = next;
            }
            prop_assert_eq!(paid_cents * MILLS_PER_CENT + carry, amounts.iter().sum::<i64>());
        }

        #[test]
        fn the_fee_is_within_half_a_cent_of_the_rate(price in 1900i64..=24900) {
            let fee = card_fee_estimate_cents(price) - 30;
            // |fee - 0.029 price| <= 0.5, in thousandths of a cent.
            prop_assert!((fee * 1000 - price * 29).abs() <= 500);
        }
    }

    /// The amount `text` (`-$12.345`) shows, in units of `places` decimals.
    fn read_back(text: &str, places: u32) -> i128 {
        let (sign, digits) = match text.strip_prefix('-') {
            Some(rest) => (-1i128, rest),
            None => (1, text),
        };
        let digits = digits.strip_prefix('$').expect("a dollar sign");
        let (whole, part) = digits.split_once('.').expect("a point");
        assert_eq!(part.len() as u32, places, "{text}");
        sign * (whole.parse::<i128>().expect("whole") * 10i128.pow(places)
            + part.parse::<i128>().expect("part"))
    }

    proptest! {
        #[test]
        fn shown_amounts_read_back_exactly(amount in any::<i64>()) {
            prop_assert_eq!(read_back(&show_mills(amount), 3), i128::from(amount));
            prop_assert_eq!(read_back(&show_cents(amount), 2), i128::from(amount));
        }

        #[test]
        fn a_shown_price_is_read_back_as_its_cents(cents in 0i64..=i64::MAX) {
            prop_assert_eq!(read_cents(&show_cents(cents)), Some(cents));
        }
    }
}
