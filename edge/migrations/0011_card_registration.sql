-- Card registration (issue #14, capture_mode 'verify'): GMO 有効性チェック (JobCd CHECK) moves no
-- money, so such a payment's amount is 0. SQLite cannot change a CHECK constraint in place: the
-- table is rebuilt with amount >= 0 (every other column and index as before). payment_events refers
-- to payments(id), so foreign keys are deferred to the end of the migration's transaction, by which
-- time every referenced id is back (D1 runs a migration file in one transaction).
-- Amounts of ordinary payments stay positive: the edge refuses 0 unless capture is verify.
PRAGMA defer_foreign_keys = on;

CREATE TABLE payments_next (
  id              TEXT PRIMARY KEY,
  client_secret   TEXT NOT NULL,
  order_id        TEXT NOT NULL UNIQUE,
  amount          INTEGER NOT NULL CHECK (amount >= 0),
  currency        TEXT NOT NULL DEFAULT 'JPY',
  method          TEXT NOT NULL DEFAULT 'card',
  capture_mode    TEXT NOT NULL,
  state           TEXT NOT NULL,
  version         INTEGER NOT NULL DEFAULT 0,
  lease_until     INTEGER,
  attempt_started_at INTEGER,
  gmo_order_id    TEXT NOT NULL UNIQUE,
  gmo_attempt     INTEGER NOT NULL DEFAULT 1,
  gmo_access_id   TEXT,
  gmo_access_pass TEXT,
  gmo_tran_id     TEXT,
  gmo_approve     TEXT,
  gmo_forward     TEXT,
  gmo_tran_date   TEXT,
  card_mask       TEXT,
  last_error_code TEXT,
  last_error_info TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  authorized_at   INTEGER
, amazon_checkout_session_id TEXT, amazon_charge_id TEXT, amazon_charge_permission_id TEXT, amazon_buyer_id TEXT, amazon_buyer_name TEXT, amazon_buyer_email TEXT, shipping_address TEXT, return_url TEXT, authorized_amount INTEGER, captured_amount INTEGER, refunded_amount INTEGER, first_authorized_at INTEGER, gmo_status TEXT, customer_name TEXT, risk_data TEXT, customer_id TEXT, installments TEXT NOT NULL DEFAULT 'lump', card_seq INTEGER, save_card INTEGER NOT NULL DEFAULT 0, save_card_brand TEXT, saved_card_seq INTEGER);

INSERT INTO payments_next (id, client_secret, order_id, amount, currency, method, capture_mode, state, version, lease_until, attempt_started_at, gmo_order_id, gmo_attempt, gmo_access_id, gmo_access_pass, gmo_tran_id, gmo_approve, gmo_forward, gmo_tran_date, card_mask, last_error_code, last_error_info, created_at, updated_at, authorized_at, amazon_checkout_session_id, amazon_charge_id, amazon_charge_permission_id, amazon_buyer_id, amazon_buyer_name, amazon_buyer_email, shipping_address, return_url, authorized_amount, captured_amount, refunded_amount, first_authorized_at, gmo_status, customer_name, risk_data, customer_id, installments, card_seq, save_card, save_card_brand, saved_card_seq)
  SELECT id, client_secret, order_id, amount, currency, method, capture_mode, state, version, lease_until, attempt_started_at, gmo_order_id, gmo_attempt, gmo_access_id, gmo_access_pass, gmo_tran_id, gmo_approve, gmo_forward, gmo_tran_date, card_mask, last_error_code, last_error_info, created_at, updated_at, authorized_at, amazon_checkout_session_id, amazon_charge_id, amazon_charge_permission_id, amazon_buyer_id, amazon_buyer_name, amazon_buyer_email, shipping_address, return_url, authorized_amount, captured_amount, refunded_amount, first_authorized_at, gmo_status, customer_name, risk_data, customer_id, installments, card_seq, save_card, save_card_brand, saved_card_seq FROM payments;

DROP TABLE payments;

ALTER TABLE payments_next RENAME TO payments;

CREATE INDEX payments_state ON payments(state, created_at);

CREATE UNIQUE INDEX payments_amazon_checkout_session ON payments(amazon_checkout_session_id)
  WHERE amazon_checkout_session_id IS NOT NULL;

CREATE INDEX payments_amazon_charge_permission ON payments(amazon_charge_permission_id)
  WHERE amazon_charge_permission_id IS NOT NULL;

CREATE INDEX payments_customer ON payments (customer_id);

PRAGMA defer_foreign_keys = off;
