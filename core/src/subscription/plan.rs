//! A 定期購入 sign-up at checkout: the plan the merchant puts on a payment
//! (`POST /v1/payments {"subscription": {...}}`) and the subscription it becomes once the
//! shopper has paid (or registered a card) with a source that can be charged again.

use serde::{Deserialize, Serialize};

use super::date::ChargeDate;
use super::schedule::{Cycle, first_on_or_after, next_after};
use super::source::PaymentSource;
use super::state::Subscription;
use crate::money::Jpy;

/// What the sign-up sets up: the cycle, each cycle's amount, and (for a card registration that
/// charges nothing now) the first charge date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionPlan {
    pub cycle: Cycle,
    pub amount: Jpy,
    /// Only for a sign-up that charges nothing at checkout; `None`: today (JST).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_charge_on: Option<ChargeDate>,
}

impl SubscriptionPlan {
    /// The subscription set up on `today` (JST). When the checkout itself charged the first cycle
    /// (`paid_at_checkout`), the next charge is the cycle's next date after today; after a card
    /// registration (nothing charged) it is the first cycle date on or after `first_charge_on`
    /// (or today), which the next cron run charges when it is today.
    pub fn subscription(
        &self,
        source: PaymentSource,
        today: ChargeDate,
        paid_at_checkout: bool,
    ) -> Subscription {
        let mut sub = Subscription::new(source, self.amount, self.cycle, today);
        sub.next_charge_on = if paid_at_checkout {
            next_after(self.cycle, today)
        } else {
            first_on_or_after(self.cycle, self.first_charge_on.unwrap_or(today).max(today))
        };
        sub
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscription::SubscriptionStatus;

    fn date(s: &str) -> ChargeDate {
        ChargeDate::parse(s).unwrap()
    }

    #[test]
    fn sign_up_dates() {
        let plan = SubscriptionPlan {
            cycle: Cycle::parse("monthly:31").unwrap(),
            amount: Jpy::chargeable(3_980).unwrap(),
            first_charge_on: None,
        };
        let source = PaymentSource::amazon("S03-1234567-1234567").unwrap();
        // Paid at checkout on Jan 31: next is Feb's last day.
        let paid = plan.subscription(source.clone(), date("2027-01-31"), true);
        assert_eq!(paid.next_charge_on, date("2027-02-28"));
        assert_eq!(paid.status, SubscriptionStatus::Active);
        assert_eq!(paid.amount.yen(), 3_980);
        // A registration on Jan 15: the first charge is Jan 31 (this month's day 31).
        let registered = plan.subscription(source.clone(), date("2027-01-15"), false);
        assert_eq!(registered.next_charge_on, date("2027-01-31"));
        // A first date in the past never makes a charge due before today.
        let late = SubscriptionPlan {
            first_charge_on: Some(date("2026-12-01")),
            cycle: Cycle::parse("days:7").unwrap(),
            ..plan
        };
        assert_eq!(
            late.subscription(source, date("2027-01-15"), false)
                .next_charge_on,
            date("2027-01-15")
        );
    }

    #[test]
    fn plan_json_round_trip() {
        let plan = SubscriptionPlan {
            cycle: Cycle::parse("weekly:fri").unwrap(),
            amount: Jpy::chargeable(1_200).unwrap(),
            first_charge_on: None,
        };
        let json = serde_json::to_string(&plan).unwrap();
        assert_eq!(json, r#"{"cycle":"weekly:fri","amount":1200}"#);
        assert_eq!(
            serde_json::from_str::<SubscriptionPlan>(&json).ok(),
            Some(plan)
        );
    }
}
