-- Webhooks to the shop's server (定期購入's notices, issue #15): one row per event, delivered by
-- the Cron Trigger with retries (attempts, next_attempt_at) until a 2xx answer or the last try.
-- `body` is the JSON sent (ids, amounts, dates: never card data or secrets).
CREATE TABLE merchant_webhooks (
  id               TEXT PRIMARY KEY,
  event            TEXT NOT NULL,
  body             TEXT NOT NULL,
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER,
  delivered_at     INTEGER,
  last_status      INTEGER,
  created_at       INTEGER NOT NULL
);

CREATE INDEX merchant_webhooks_due ON merchant_webhooks(next_attempt_at) WHERE next_attempt_at IS NOT NULL;
