-- Card-testing defence (issue #13): every card POST that reaches GMO's ExecTran is one row.
-- `outcome`: pending (ExecTran under way, or the worker stopped before it settled), paid,
-- declined (a decline or a card-input refusal), failed (not charged for another reason),
-- unknown (GMO could not tell yet), three_d_secure (the shopper went to the issuer's page).
-- A payment is locked once it has CARD_ATTEMPTS_PER_PAYMENT rows that are not `paid` and not
-- cleared by an operator (`payment_cleared_at`); an IP is refused once it has
-- CARD_FAILURES_PER_IP rows that are pending/declined/failed within the last 10 minutes and not
-- cleared (`ip_cleared_at`). Operators clear them from the console (解除), which writes an event.
-- The IP is stored as sent in CF-Connecting-IP (operators need it); no card data is stored.
CREATE TABLE IF NOT EXISTS card_attempts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  payment_id TEXT NOT NULL,
  ip TEXT NOT NULL,
  at INTEGER NOT NULL,
  outcome TEXT NOT NULL DEFAULT 'pending',
  payment_cleared_at INTEGER,
  payment_cleared_by TEXT,
  ip_cleared_at INTEGER,
  ip_cleared_by TEXT
);
CREATE INDEX IF NOT EXISTS card_attempts_payment ON card_attempts (payment_id, at);
CREATE INDEX IF NOT EXISTS card_attempts_ip ON card_attempts (ip, at);
CREATE INDEX IF NOT EXISTS card_attempts_at ON card_attempts (at);
