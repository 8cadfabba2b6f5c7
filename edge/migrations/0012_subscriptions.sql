-- 定期購入 (issue #15): one row per subscription. The rules' own state (status, source, amount,
-- cycle, next charge date, dunning) is core::subscription::Subscription kept as JSON in `model`,
-- the only copy the rules read. `status` and `due_on` repeat what the cron and the lists query
-- (written from the model in the same UPDATE). `due_on`: the JST date (YYYY-MM-DD) of the next
-- attempt, NULL when nothing is due (paused, unpaid, cancelled). Every change is a
-- compare-and-set on `version`. Each attempt of a cycle is an ordinary payment whose order id is
-- the attempt's ChargeKey OrderID (UNIQUE in payments), so two cron runs can never create two.
CREATE TABLE subscriptions (
  id           TEXT PRIMARY KEY,
  customer_id  TEXT NOT NULL,
  model        TEXT NOT NULL,
  status       TEXT NOT NULL,
  due_on       TEXT,
  version      INTEGER NOT NULL DEFAULT 0,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);

CREATE INDEX subscriptions_due ON subscriptions(due_on) WHERE due_on IS NOT NULL;

CREATE INDEX subscriptions_customer ON subscriptions(customer_id);

ALTER TABLE payments ADD COLUMN subscription_id TEXT;

CREATE INDEX payments_subscription ON payments(subscription_id) WHERE subscription_id IS NOT NULL;

CREATE TABLE subscription_events (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  subscription_id  TEXT NOT NULL REFERENCES subscriptions(id),
  at               INTEGER NOT NULL,
  actor            TEXT NOT NULL,
  kind             TEXT NOT NULL,
  detail           TEXT NOT NULL DEFAULT '{}'
);

CREATE INDEX subscription_events_by_subscription ON subscription_events(subscription_id, id);
