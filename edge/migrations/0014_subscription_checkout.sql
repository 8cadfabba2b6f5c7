-- 定期購入 sign-up at checkout (issue #15): a payment may carry the plan
-- (core::subscription::SubscriptionPlan as JSON) that becomes a subscription once the shopper
-- has paid or registered a card with a source kessai can charge again (a stored GMO card or an
-- Amazon Pay Recurring charge permission). The subscription's id is derived from the payment's,
-- so the sign-up is set up once whoever notices the payment first (the return, the sweep).
ALTER TABLE payments ADD COLUMN subscription_plan TEXT;

CREATE INDEX payments_pending_sign_up ON payments(updated_at)
  WHERE subscription_plan IS NOT NULL AND subscription_id IS NULL;

-- A cancelled Amazon Pay subscription closes its charge permission at Amazon; until Amazon has
-- confirmed it (`source_closed_at`), the Cron Trigger tries again.
ALTER TABLE subscriptions ADD COLUMN source_closed_at INTEGER;

-- A recurring permission has one payment per cycle: a Charge's IPN finds its own by charge id.
CREATE INDEX payments_amazon_charge ON payments(amazon_charge_id) WHERE amazon_charge_id IS NOT NULL;
