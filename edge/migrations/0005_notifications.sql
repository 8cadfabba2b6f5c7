-- Notifications from the gateways (issue #5): Amazon Pay IPNs (SNS) and GMO 結果通知. Every
-- verified notification is recorded once (UNIQUE dedupe_key, INSERT OR IGNORE); a duplicate or
-- retried delivery finds its row. Only ids and states are stored: never bodies, signatures,
-- passwords or buyer data.

CREATE TABLE notifications (
  id                    INTEGER PRIMARY KEY AUTOINCREMENT,
  source                TEXT NOT NULL,          -- amazon_ipn | gmo_result
  dedupe_key            TEXT NOT NULL UNIQUE,   -- amazon:<NotificationId> | sns:<MessageId> | gmo:<AccessID>:<Status>:<ProcessDate>
  message_id            TEXT,                   -- SNS MessageId
  kind                  TEXT NOT NULL,          -- Notification | SubscriptionConfirmation | … | GMO Status
  object_type           TEXT,                   -- CHARGE | REFUND | CHARGE_PERMISSION | CHARGEBACK
  object_id             TEXT,
  charge_permission_id  TEXT,
  payment_id            TEXT,
  -- received (not processed yet, or processing failed: processed again on redelivery) |
  -- applied | unchanged | unmatched | confirmed | recorded
  status                TEXT NOT NULL,
  received_at           INTEGER NOT NULL,
  processed_at          INTEGER,
  outcome               TEXT NOT NULL DEFAULT '{}'  -- JSON: what the gateway said when re-read
);
CREATE INDEX notifications_payment ON notifications(payment_id, id);
CREATE INDEX notifications_status ON notifications(status, received_at);
CREATE INDEX payments_amazon_charge_permission ON payments(amazon_charge_permission_id)
  WHERE amazon_charge_permission_id IS NOT NULL;
